namespace PandaFuzz.Protocol;

/// <summary>Engine names as they appear in the API and in bot capabilities.</summary>
public static class EngineNames
{
    public const string LibFuzzer = "libfuzzer";

    public const string AflPlusPlus = "aflplusplus";

    /// <summary>Engines this build can run.</summary>
    public static readonly IReadOnlyList<string> Known = [LibFuzzer, AflPlusPlus];
}

/// <summary>One engine installed on a bot.</summary>
public sealed record EngineCapability(string Name, string Version);

/// <summary>What a bot can do: its engines, how many jobs at once, its memory.</summary>
public sealed record BotCapabilities(IReadOnlyList<EngineCapability> Engines, int Slots, long MemoryMb)
{
    public bool Supports(string engine) => Engines.Any(e => e.Name == engine);
}

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
