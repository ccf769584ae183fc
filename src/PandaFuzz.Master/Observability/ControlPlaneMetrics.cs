using System.Diagnostics.Metrics;

namespace PandaFuzz.Master.Observability;

/// <summary>The work the master's entities take in, recorded where the entity decides, whatever the read model shows.</summary>
public static class ControlPlaneMetrics
{
    private static readonly Meter Meter = new(JournalMetrics.MeterName);

    /// <summary>Jobs given to a bot (the assignment durable in the job's journal).</summary>
    public static readonly Counter<long> Assignments = Meter.CreateCounter<long>(
        "pandafuzz.job.assignments", null, "Jobs assigned to a bot, counted once the assignment is durable.");

    public static readonly Counter<long> StatsUpdates = Meter.CreateCounter<long>(
        "pandafuzz.job.stats.updates", null, "Stats updates taken in by job entities from their bots.");

    /// <summary>From the bot reading the fuzzer's progress to the job entity taking it in.</summary>
    public static readonly Histogram<double> StatsLag = Meter.CreateHistogram<double>(
        "pandafuzz.job.stats.lag", "s", "Age of a stats update when its job entity takes it in (the bot's clock at reading vs. the master's).");

    /// <summary>Tag <c>outcome</c>: new (a new signature), known, or repeated (the same input again).</summary>
    public static readonly Counter<long> CrashReports = Meter.CreateCounter<long>(
        "pandafuzz.crash.reports", null, "Crash reports acknowledged to bots, by outcome (new signature, known signature, repeated input).");
}
