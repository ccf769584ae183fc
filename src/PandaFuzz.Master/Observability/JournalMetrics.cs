using System.Diagnostics.Metrics;

namespace PandaFuzz.Master.Observability;

/// <summary>
/// How the master's journal writes go, measured where the entities persist (<see cref="EventSourcedEntity"/>). Plain .NET
/// instruments: the node exports them to Prometheus, and this project depends on no metrics library.
/// </summary>
public static class JournalMetrics
{
    public const string MeterName = "PandaFuzz.Master";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>From the call to Persist to the events being durable: the journal's write latency as an entity sees it; tag <c>entity</c>.</summary>
    public static readonly Histogram<double> WriteDuration = Meter.CreateHistogram<double>(
        "pandafuzz.journal.write.duration", "s", "Time from an entity persisting events to the journal confirming them, by entity type.");

    /// <summary>Failed or rejected writes; tag <c>entity</c>.</summary>
    public static readonly Counter<long> WriteFailures = Meter.CreateCounter<long>(
        "pandafuzz.journal.write.failures", null, "Journal writes that failed or were rejected, by entity type; a failed write stops the entity.");

    /// <summary>The entity type from a persistence id such as <c>job-abc</c>.</summary>
    public static string EntityOf(string persistenceId) =>
        persistenceId.IndexOf('-') is > 0 and var dash ? persistenceId[..dash] : "other";
}
