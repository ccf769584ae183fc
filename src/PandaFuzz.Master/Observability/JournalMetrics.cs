using System.Diagnostics.Metrics;

namespace PandaFuzz.Master.Observability;

/// <summary>The journal's writes as entities see them; plain .NET instruments the node exports, so this project needs no metrics library.</summary>
public static class JournalMetrics
{
    public const string MeterName = "PandaFuzz.Master";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>From Persist to durable; tag <c>entity</c>.</summary>
    public static readonly Histogram<double> WriteDuration = Meter.CreateHistogram<double>(
        "pandafuzz.journal.write.duration", "s", "Time from an entity persisting events to the journal confirming them, by entity type.");

    /// <summary>Failed or rejected writes; tag <c>entity</c>.</summary>
    public static readonly Counter<long> WriteFailures = Meter.CreateCounter<long>(
        "pandafuzz.journal.write.failures", null, "Journal writes that failed or were rejected, by entity type; a failed write stops the entity.");

    public static string EntityOf(string persistenceId) =>
        persistenceId.IndexOf('-') is > 0 and var dash ? persistenceId[..dash] : "other";
}
