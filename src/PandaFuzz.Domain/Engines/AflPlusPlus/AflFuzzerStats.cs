using System.Diagnostics.CodeAnalysis;

namespace PandaFuzz.Domain.Engines.AflPlusPlus;

/// <summary>One snapshot of AFL++'s <c>fuzzer_stats</c> file; a key the file lacks keeps its default.</summary>
public sealed record AflFuzzerStats
{
    public DateTimeOffset StartTime { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>AFL++ writes the file at start, then about every 60 s, and at exit.</summary>
    public DateTimeOffset LastUpdate { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>On a resumed run it includes earlier runs.</summary>
    public long RunTimeSeconds { get; init; }

    public int FuzzerPid { get; init; }

    public long CyclesDone { get; init; }

    public long CyclesWithoutFinds { get; init; }

    public long ExecsDone { get; init; }

    /// <summary>Averaged over the whole run; 0 when AFL++ printed inf/nan (a file written at start).</summary>
    public double ExecsPerSecond { get; init; }

    public double ExecsPerSecondLastMinute { get; init; }

    /// <summary>Queue entries, seeds included.</summary>
    public long CorpusCount { get; init; }

    public long CorpusFavored { get; init; }

    public long CorpusFound { get; init; }

    public long CorpusImported { get; init; }

    public long MaxDepth { get; init; }

    public long CurrentItem { get; init; }

    public long PendingFavs { get; init; }

    public long PendingTotal { get; init; }

    /// <summary>In percent (100.0 for "100.00%").</summary>
    public double Stability { get; init; }

    /// <summary>In percent of the target's edges.</summary>
    public double BitmapCoverage { get; init; }

    /// <summary>Files in crashes/, not counting README.txt.</summary>
    public long SavedCrashes { get; init; }

    public long SavedHangs { get; init; }

    public DateTimeOffset? LastFind { get; init; }

    public DateTimeOffset? LastCrash { get; init; }

    public DateTimeOffset? LastHang { get; init; }

    public long ExecsSinceCrash { get; init; }

    /// <summary><c>-t</c>, or the timeout AFL++ calibrated.</summary>
    public long ExecTimeoutMs { get; init; }

    public long SlowestExecMs { get; init; }

    public long PeakRssMb { get; init; }

    public long EdgesFound { get; init; }

    public long TotalEdges { get; init; }

    /// <summary>The <c>-T</c> banner, by default the target path.</summary>
    public string? AflBanner { get; init; }

    public string? AflVersion { get; init; }

    public string? TargetMode { get; init; }

    public string? CommandLine { get; init; }
}

/// <summary>Reads AFL++'s <c>fuzzer_stats</c> file (<c>key : value</c> lines) into an <see cref="AflFuzzerStats"/>.</summary>
public static class AflFuzzerStatsParser
{
    /// <summary>Never throws: unknown keys are ignored, unreadable values keep their defaults, a line still being written
    /// (after the last newline) is ignored, and keys renamed in AFL++ 4.0 (<c>paths_total</c>, ...) are read too.</summary>
    public static AflFuzzerStats Parse(string text) => FromValues(ReadValues(text));

    /// <summary>False without a readable <c>execs_done</c>, e.g. an empty file caught while AFL++ rewrites it, so a caller
    /// can keep its previous snapshot.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out AflFuzzerStats? stats)
    {
        var values = ReadValues(text);
        if (!values.TryGetValue("execs_done", out var execsDone) || !AflText.TryParseCount(execsDone, out _))
        {
            stats = null;
            return false;
        }

        stats = FromValues(values);
        return true;
    }

    private static Dictionary<string, string> ReadValues(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in AflText.CompleteLines(text).EnumerateLines())
        {
            // The key never contains ':'; the value may (command_line).
            var colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            if (!key.IsEmpty)
            {
                values[key.ToString()] = line[(colon + 1)..].Trim().ToString();
            }
        }

        return values;
    }

    private static AflFuzzerStats FromValues(Dictionary<string, string> values) => new()
    {
        StartTime = Time(values, "start_time") ?? DateTimeOffset.UnixEpoch,
        LastUpdate = Time(values, "last_update") ?? DateTimeOffset.UnixEpoch,
        RunTimeSeconds = Count(values, "run_time"),
        FuzzerPid = (int)Math.Min(Count(values, "fuzzer_pid"), int.MaxValue),
        CyclesDone = Count(values, "cycles_done"),
        CyclesWithoutFinds = Count(values, "cycles_wo_finds"),
        ExecsDone = Count(values, "execs_done"),
        ExecsPerSecond = Rate(values, "execs_per_sec"),
        ExecsPerSecondLastMinute = Rate(values, "execs_ps_last_min"),
        CorpusCount = Count(values, "corpus_count", "paths_total"),
        CorpusFavored = Count(values, "corpus_favored", "paths_favored"),
        CorpusFound = Count(values, "corpus_found", "paths_found"),
        CorpusImported = Count(values, "corpus_imported", "paths_imported"),
        MaxDepth = Count(values, "max_depth"),
        CurrentItem = Count(values, "cur_item", "cur_path"),
        PendingFavs = Count(values, "pending_favs"),
        PendingTotal = Count(values, "pending_total"),
        Stability = Percent(values, "stability"),
        BitmapCoverage = Percent(values, "bitmap_cvg"),
        SavedCrashes = Count(values, "saved_crashes", "unique_crashes"),
        SavedHangs = Count(values, "saved_hangs", "unique_hangs"),
        LastFind = Time(values, "last_find", "last_path"),
        LastCrash = Time(values, "last_crash"),
        LastHang = Time(values, "last_hang"),
        ExecsSinceCrash = Count(values, "execs_since_crash"),
        ExecTimeoutMs = Count(values, "exec_timeout"),
        SlowestExecMs = Count(values, "slowest_exec_ms"),
        PeakRssMb = Count(values, "peak_rss_mb"),
        EdgesFound = Count(values, "edges_found"),
        TotalEdges = Count(values, "total_edges"),
        AflBanner = values.GetValueOrDefault("afl_banner"),
        AflVersion = values.GetValueOrDefault("afl_version"),
        TargetMode = values.GetValueOrDefault("target_mode"),
        CommandLine = values.GetValueOrDefault("command_line"),
    };

    private static string? Value(Dictionary<string, string> values, string key, string? oldKey) =>
        values.TryGetValue(key, out var value) || (oldKey is not null && values.TryGetValue(oldKey, out value))
            ? value
            : null;

    private static long Count(Dictionary<string, string> values, string key, string? oldKey = null) =>
        AflText.TryParseCount(Value(values, key, oldKey), out var n) ? n : 0;

    private static double Rate(Dictionary<string, string> values, string key) =>
        AflText.TryParseFinite(Value(values, key, null), out var d) ? d : 0;

    private static double Percent(Dictionary<string, string> values, string key) =>
        AflText.TryParsePercent(Value(values, key, null), out var d) ? d : 0;

    // Unix seconds; AFL++ writes 0 for "never".
    private static DateTimeOffset? Time(Dictionary<string, string> values, string key, string? oldKey = null)
    {
        const long maxUnixSeconds = 253_402_300_799; // 9999-12-31T23:59:59Z, DateTimeOffset's limit
        return AflText.TryParseCount(Value(values, key, oldKey), out var seconds) && seconds is > 0 and <= maxUnixSeconds
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
    }
}
