namespace PandaFuzz.Protocol;

/// <summary>Engine names as they appear in the API and in bot capabilities.</summary>
public static class EngineNames
{
    public const string LibFuzzer = "libfuzzer";

    public const string AflPlusPlus = "aflplusplus";

    /// <summary>A stand-in that runs no target, for tests and benchmarks; offered only with <c>pandafuzz.bot.simulation.enabled</c>.</summary>
    public const string Simulated = "simulated";

    public static readonly IReadOnlyList<string> Known = [LibFuzzer, AflPlusPlus, Simulated];
}

/// <summary>One engine installed on a bot.</summary>
public sealed record EngineCapability(string Name, string Version);

/// <summary>What a bot can do; <paramref name="Sandbox"/> is null from bots and events that predate the sandbox.</summary>
public sealed record BotCapabilities(IReadOnlyList<EngineCapability> Engines, int Slots, long MemoryMb, SandboxReport? Sandbox = null)
{
    public bool Supports(string engine) => Engines.Any(e => e.Name == engine);
}

/// <summary>What confines a bot's targets, as its start-up probe found. <paramref name="Isolated"/>: no network and only the
/// work dir; <paramref name="RefusesJobs"/>: why it takes no job. Reports from before these fields read as not isolated.</summary>
public sealed record SandboxReport(
    bool Enabled,
    IReadOnlyList<SandboxMeasure> Measures,
    bool Isolated = false,
    bool AllowUnisolated = false,
    string? RefusesJobs = null)
{
    /// <summary>Records compare lists by reference.</summary>
    public bool SameAs(SandboxReport? other) =>
        other is not null && Enabled == other.Enabled && Measures.SequenceEqual(other.Measures) && Isolated == other.Isolated
        && AllowUnisolated == other.AllowUnisolated && RefusesJobs == other.RefusesJobs;
}

/// <summary>One sandbox measure (<c>user</c>, <c>network</c>, …): its configured mode, and whether and how it is enforced.</summary>
public sealed record SandboxMeasure(string Name, string Mode, bool Enforced, string Detail);

/// <summary>Live progress of one fuzzer, kept in memory, not persisted per tick. Coverage is libFuzzer's cov or AFL++'s
/// edges found; fields an engine does not report stay 0 or null.</summary>
public sealed record FuzzerStats(
    long Execs,
    long ExecsPerSecond,
    long Coverage,
    long Features,
    long CorpusUnits,
    long CorpusBytes,
    long RssMb,
    DateTimeOffset At,
    long TotalEdges = 0,
    double? Stability = null,
    long Crashes = 0,
    long Hangs = 0,
    long Imported = 0,
    DateTimeOffset? LastFindAt = null)
{
    public static FuzzerStats Empty(DateTimeOffset at) => new(0, 0, 0, 0, 0, 0, 0, at);
}
