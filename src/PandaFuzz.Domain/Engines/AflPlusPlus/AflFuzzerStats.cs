using System.Diagnostics.CodeAnalysis;

namespace PandaFuzz.Domain.Engines.AflPlusPlus;

/// <summary>
/// One snapshot of AFL++'s <c>fuzzer_stats</c> file. A key the file does not carry leaves its default
/// (0, <see cref="DateTimeOffset.UnixEpoch"/>, or null).
/// </summary>
public sealed record AflFuzzerStats
{
    /// <summary><c>start_time</c>: when this afl-fuzz instance started.</summary>
    public DateTimeOffset StartTime { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary><c>last_update</c>: when AFL++ wrote the file (at start, then about every 60 s, and at exit).</summary>
    public DateTimeOffset LastUpdate { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary><c>run_time</c> in seconds; on a resumed run it includes earlier runs.</summary>
    public long RunTimeSeconds { get; init; }

    public int FuzzerPid { get; init; }

    /// <summary><c>cycles_done</c>: full passes over the queue.</summary>
    public long CyclesDone { get; init; }

    /// <summary><c>cycles_wo_finds</c>: queue cycles since the last new corpus entry.</summary>
    public long CyclesWithoutFinds { get; init; }

    public long ExecsDone { get; init; }

    /// <summary><c>execs_per_sec</c>, averaged over the whole run; 0 when AFL++ printed inf/nan (a file written at start).</summary>
    public double ExecsPerSecond { get; init; }

    /// <summary><c>execs_ps_last_min</c>; 0 when absent or not a number.</summary>
    public double ExecsPerSecondLastMinute { get; init; }

    /// <summary><c>corpus_count</c> (<c>paths_total</c> before AFL++ 4.0): queue entries, seeds included.</summary>
    public long CorpusCount { get; init; }

    /// <summary><c>corpus_favored</c> (<c>paths_favored</c>).</summary>
    public long CorpusFavored { get; init; }

    /// <summary><c>corpus_found</c> (<c>paths_found</c>): queue entries this fuzzer found itself.</summary>
    public long CorpusFound { get; init; }

    /// <summary><c>corpus_imported</c> (<c>paths_imported</c>): entries synced from other instances.</summary>
    public long CorpusImported { get; init; }

    public long MaxDepth { get; init; }

    /// <summary><c>cur_item</c> (<c>cur_path</c>): the queue entry being fuzzed.</summary>
    public long CurrentItem { get; init; }

    /// <summary><c>pending_favs</c>: favored entries not fuzzed yet.</summary>
    public long PendingFavs { get; init; }

    /// <summary><c>pending_total</c>: entries not fuzzed yet.</summary>
    public long PendingTotal { get; init; }

    /// <summary><c>stability</c> in percent (100.0 for "100.00%").</summary>
    public double Stability { get; init; }

    /// <summary><c>bitmap_cvg</c> in percent of the target's edges (82.35 for "82.35%").</summary>
    public double BitmapCoverage { get; init; }

    /// <summary><c>saved_crashes</c> (<c>unique_crashes</c>): files in crashes/, not counting README.txt.</summary>
    public long SavedCrashes { get; init; }

    /// <summary><c>saved_hangs</c> (<c>unique_hangs</c>): files in hangs/.</summary>
    public long SavedHangs { get; init; }

    /// <summary><c>last_find</c> (<c>last_path</c>); null when AFL++ wrote 0 (nothing found yet).</summary>
    public DateTimeOffset? LastFind { get; init; }

    /// <summary><c>last_crash</c>; null when AFL++ wrote 0 (no crash yet).</summary>
    public DateTimeOffset? LastCrash { get; init; }

    /// <summary><c>last_hang</c>; null when AFL++ wrote 0 (no hang yet).</summary>
    public DateTimeOffset? LastHang { get; init; }

    public long ExecsSinceCrash { get; init; }

    /// <summary><c>exec_timeout</c>: the per-input timeout in milliseconds (<c>-t</c>, or the one AFL++ calibrated).</summary>
    public long ExecTimeoutMs { get; init; }

    public long SlowestExecMs { get; init; }

    /// <summary><c>peak_rss_mb</c>: the largest RSS of the target processes, in MB.</summary>
    public long PeakRssMb { get; init; }

    /// <summary><c>edges_found</c>: edges covered so far.</summary>
    public long EdgesFound { get; init; }

    /// <summary><c>total_edges</c>: edges instrumented in the target.</summary>
    public long TotalEdges { get; init; }

    /// <summary><c>afl_banner</c>: the <c>-T</c> banner, by default the target path.</summary>
    public string? AflBanner { get; init; }

    /// <summary><c>afl_version</c> as written, e.g. "++4.04c".</summary>
    public string? AflVersion { get; init; }

    /// <summary><c>target_mode</c> trimmed, e.g. "persistent shmem_testcase deferred" or "default".</summary>
    public string? TargetMode { get; init; }

    /// <summary><c>command_line</c>: the afl-fuzz command line as AFL++ recorded it.</summary>
    public string? CommandLine { get; init; }
}

/// <summary>Reads AFL++'s <c>fuzzer_stats</c> file (<c>key : value</c> lines) into an <see cref="AflFuzzerStats"/>.</summary>
public static class AflFuzzerStatsParser
{
    /// <summary>
    /// Parses whatever the text holds and never throws: unknown keys are ignored, missing or unreadable values keep their
    /// defaults, and text after the last newline (a line still being written) is ignored. Keys renamed in AFL++ 4.0
    /// (<c>paths_total</c>, <c>unique_crashes</c>, <c>last_path</c>, ...) are read too.
    /// </summary>
    public static AflFuzzerStats Parse(string text) => FromValues(ReadValues(text));

    /// <summary>
    /// Like <see cref="Parse"/>, but false when the text has no readable <c>execs_done</c>, e.g. an empty file caught
    /// while AFL++ rewrites it, so a caller can keep its previous snapshot.
    /// </summary>
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
