namespace PandaFuzz.Protocol;

/// <summary>Engine names as they appear in the API and in bot capabilities.</summary>
public static class EngineNames
{
    public const string LibFuzzer = "libfuzzer";

    public const string AflPlusPlus = "aflplusplus";

    /// <summary>
    /// A stand-in fuzzer for tests and benchmarks: reports stats and finds crashes at a set rate without running a target
    /// or burning CPU. Only bots started with <c>pandafuzz.bot.simulation.enabled = on</c> offer it.
    /// </summary>
    public const string Simulated = "simulated";

    /// <summary>Engines this build can run.</summary>
    public static readonly IReadOnlyList<string> Known = [LibFuzzer, AflPlusPlus, Simulated];
}

/// <summary>One engine installed on a bot.</summary>
public sealed record EngineCapability(string Name, string Version);

/// <summary>
/// What a bot can do: its engines, how many jobs at once, its memory, and what its sandbox enforces (null from bots
/// that predate the sandbox, and in events written before it).
/// </summary>
public sealed record BotCapabilities(IReadOnlyList<EngineCapability> Engines, int Slots, long MemoryMb, SandboxReport? Sandbox = null)
{
    public bool Supports(string engine) => Engines.Any(e => e.Name == engine);
}

/// <summary>
/// What confines the targets a bot runs, as its start-up probe found the machine: one entry per measure, enforced or not.
/// <paramref name="Enabled"/> is the operator's switch for the whole sandbox. <paramref name="Isolated"/>: targets run
/// without the network and see only their work dir (both measures enforced). <paramref name="AllowUnisolated"/>: the
/// operator's opt-out (<c>pandafuzz.bot.sandbox.allow-unisolated</c>) lets the bot run targets without that.
/// <paramref name="RefusesJobs"/>: why the bot takes no job (it cannot isolate and has no opt-out), or null. Reports of
/// bots from before these fields read as not isolated, without opt-out, taking jobs.
/// </summary>
public sealed record SandboxReport(
    bool Enabled,
    IReadOnlyList<SandboxMeasure> Measures,
    bool Isolated = false,
    bool AllowUnisolated = false,
    string? RefusesJobs = null)
{
    /// <summary>Equal when every measure is (records compare lists by reference).</summary>
    public bool SameAs(SandboxReport? other) =>
        other is not null && Enabled == other.Enabled && Measures.SequenceEqual(other.Measures) && Isolated == other.Isolated
        && AllowUnisolated == other.AllowUnisolated && RefusesJobs == other.RefusesJobs;
}

/// <summary>
/// One measure of a bot's sandbox (<c>user</c>, <c>session</c>, <c>rlimits</c>, <c>memory</c>, <c>network</c>,
/// <c>filesystem</c>): the configured <paramref name="Mode"/> (off, best-effort, required), whether it is
/// <paramref name="Enforced"/> on the bot's machine, and how, or why not.
/// </summary>
public sealed record SandboxMeasure(string Name, string Mode, bool Enforced, string Detail);

/// <summary>
/// Live progress of one fuzzer; kept in memory, not persisted per tick. Coverage is libFuzzer's cov or
/// AFL++'s edges found; the fields one engine does not report stay 0 (or null).
/// </summary>
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
