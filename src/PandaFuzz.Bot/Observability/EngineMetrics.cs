using System.Diagnostics.Metrics;

namespace PandaFuzz.Bot.Observability;

/// <summary>What a bot counts about the fuzzing engines it runs (plain .NET instruments; the node exports them).</summary>
public static class EngineMetrics
{
    public const string MeterName = "PandaFuzz.Bot";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Restarts after findings are normal (plain libFuzzer stops at each); restarts after failures are not.</summary>
    public static readonly Counter<long> Restarts = Meter.CreateCounter<long>(
        "pandafuzz.engine.restarts", null, "Engine processes started again within a job, by engine and reason (finding or failure).");
}
