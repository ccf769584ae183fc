using System.Globalization;
using System.Text.RegularExpressions;

namespace PandaFuzz.Benchmarks;

/// <summary>A standalone libFuzzer run: the final stats it printed and the wall-clock time it took.</summary>
/// <param name="Units">stat::number_of_executed_units.</param>
/// <param name="Seconds">S of libFuzzer's "Done N runs in S second(s)": whole seconds since the process started.</param>
/// <param name="AverageExecPerSec">stat::average_exec_per_sec (libFuzzer's own N / S).</param>
public sealed record LibFuzzerResult(long Units, long Seconds, long? AverageExecPerSec, double WallSeconds, int ExitCode, string Command, string Log)
{
    /// <summary>units / seconds, as libFuzzer computes it (the same figure its DONE line shows, which the bot reports).</summary>
    public double ExecsPerSecond => Seconds > 0 ? (double)Units / Seconds : 0;

    public double WallExecsPerSecond => WallSeconds > 0 ? Units / WallSeconds : 0;
}

/// <summary>A standalone afl-fuzz instance at its end, from its fuzzer_stats.</summary>
/// <param name="ExecsPerSec">fuzzer_stats execs_per_sec: execs_done over the run time in milliseconds.</param>
/// <param name="RunTime">fuzzer_stats run_time (whole seconds).</param>
public sealed record AflResult(
    long ExecsDone, long RunTime, double ExecsPerSec, long EdgesFound, long TotalEdges, long CorpusCount, double WallSeconds, int ExitCode, string Command, string Log)
{
    /// <summary>execs_done / run_time with run_time in whole seconds (the figure in the brief; kept for comparison).</summary>
    public double ExecsPerRunTimeSecond => RunTime > 0 ? (double)ExecsDone / RunTime : 0;

    public double WallExecsPerSecond => WallSeconds > 0 ? ExecsDone / WallSeconds : 0;
}

/// <summary>
/// The fuzzer command lines a PandaFuzz bot runs (src/PandaFuzz.Bot/Engines), reproduced for the standalone side of each
/// comparison so that only PandaFuzz differs: same flags, same environment, same seeds.
/// </summary>
public static partial class Standalone
{
    /// <summary>The campaign limits the benchmarks ask for (the API's defaults), mirrored in the standalone flags.</summary>
    public const int MemoryLimitMb = 2048;

    public const int TimeoutMs = 1000;

    /// <summary>Extra time a run gets beyond its own limit before it is killed (start-up, calibration, final writes).</summary>
    public static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(60);

    /// <summary>LibFuzzerEngine.Launch's flags.</summary>
    public static List<string> LibFuzzerArguments(int seconds, string artifactsDir, string corpusDir) =>
    [
        $"-max_total_time={seconds}",
        $"-rss_limit_mb={MemoryLimitMb}",
        $"-timeout={(TimeoutMs + 999) / 1000}",
        $"-artifact_prefix={artifactsDir}/",
        "-print_final_stats=1",
        corpusDir,
    ];

    /// <summary>LibFuzzerEngine's environment (no effect without sanitizers, kept for sameness; first-crash's ASan builds use it).</summary>
    public static Dictionary<string, string> LibFuzzerEnvironment() => new()
    {
        ["ASAN_OPTIONS"] = "symbolize=1:disable_coredump=1:detect_leaks=1:handle_abort=1",
        ["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1",
    };

    /// <summary>AflPlusPlusEngine.Launch's flags for a target without ASan; <paramref name="role"/> is "-S" or "-M".</summary>
    public static List<string> AflArguments(string seedsDir, string outputDir, string role, string instance, int seconds, string target) =>
    [
        "-i", seedsDir,
        "-o", outputDir,
        role, instance,
        "-V", seconds.ToString(CultureInfo.InvariantCulture),
        "-t", Math.Max(5, TimeoutMs).ToString(CultureInfo.InvariantCulture),
        "-m", MemoryLimitMb.ToString(CultureInfo.InvariantCulture),
        "--", target,
    ];

    /// <summary>AflPlusPlusEngine.Launch's environment (a superset of AFL_NO_UI, AFL_NO_AFFINITY, AFL_SKIP_CPUFREQ, AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES).</summary>
    public static Dictionary<string, string> AflEnvironment() => new()
    {
        ["AFL_NO_UI"] = "1",
        ["AFL_AUTORESUME"] = "1",
        ["AFL_NO_AFFINITY"] = "1",
        ["AFL_SKIP_CPUFREQ"] = "1",
        ["AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES"] = "1",
        ["AFL_SYNC_TIME"] = "1",
        ["AFL_SKIP_CRASHES"] = "1",
        ["ASAN_OPTIONS"] = "abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1",
        ["UBSAN_OPTIONS"] = "halt_on_error=1:abort_on_error=1:symbolize=0",
    };

    /// <summary>The seed a bot gives afl-fuzz when the campaign has no corpus: one zero byte.</summary>
    public static void WriteAflSeed(string seedsDir)
    {
        Directory.CreateDirectory(seedsDir);
        File.WriteAllBytes(Path.Combine(seedsDir, "empty-seed"), [0]);
    }

    /// <summary><c>taskset -c CORES ./target -max_total_time=N ... corpus/</c> in a fresh <paramref name="runDir"/>.</summary>
    public static async Task<LibFuzzerResult> RunLibFuzzerAsync(string target, IReadOnlyCollection<int> cores, int seconds, string runDir, CancellationToken cancellationToken)
    {
        var corpus = Path.Combine(runDir, "corpus");
        var artifacts = Path.Combine(runDir, "artifacts");
        Directory.CreateDirectory(corpus);
        Directory.CreateDirectory(artifacts);
        List<string> arguments = ["-c", Cpu.Format(cores), target, .. LibFuzzerArguments(seconds, artifacts, corpus)];
        var command = ProcessRunner.Describe("taskset", arguments);
        var log = Path.Combine(runDir, "libfuzzer.log");
        var result = await ProcessRunner.RunAsync(
            "taskset", arguments, TimeSpan.FromSeconds(seconds) + KillGrace, cancellationToken, runDir, LibFuzzerEnvironment(), log);
        if (result.TimedOut)
        {
            throw new TimeoutException($"`{command}` was killed after {(TimeSpan.FromSeconds(seconds) + KillGrace).TotalSeconds:0} s; log {log}");
        }

        var done = DonePattern().Match(result.Output);
        var units = UnitsPattern().Match(result.Output);
        if (!done.Success || !units.Success)
        {
            throw new InvalidOperationException($"`{command}` (exit {result.ExitCode}) printed no final stats; log {log}:\n{result.Tail()}");
        }

        var average = AveragePattern().Match(result.Output);
        return new LibFuzzerResult(
            long.Parse(units.Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(done.Groups[2].Value, CultureInfo.InvariantCulture),
            average.Success ? long.Parse(average.Groups[1].Value, CultureInfo.InvariantCulture) : null,
            result.Wall.TotalSeconds,
            result.ExitCode,
            command,
            log);
    }

    /// <summary>
    /// Starts one afl-fuzz per (role, instance) in <paramref name="instances"/>, all on <paramref name="cores"/>, sharing
    /// <paramref name="outputDir"/>, and waits for all; each instance's fuzzer_stats is read at the end.
    /// </summary>
    public static async Task<IReadOnlyList<AflResult>> RunAflAsync(
        string target, IReadOnlyCollection<int> cores, int seconds, string seedsDir, string outputDir,
        IReadOnlyList<(string Role, string Instance)> instances, string logDir, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(outputDir);
        var runs = instances.Select(async i =>
        {
            List<string> arguments = ["-c", Cpu.Format(cores), "afl-fuzz", .. AflArguments(seedsDir, outputDir, i.Role, i.Instance, seconds, target)];
            var command = "AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_AUTORESUME=1 AFL_SYNC_TIME=1 AFL_SKIP_CRASHES=1 " +
                          ProcessRunner.Describe("taskset", arguments);
            var log = Path.Combine(logDir, $"afl-{i.Instance}.log");
            var result = await ProcessRunner.RunAsync(
                "taskset", arguments, TimeSpan.FromSeconds(seconds) + KillGrace, cancellationToken, logDir, AflEnvironment(), log);
            return (i.Instance, command, log, result);
        }).ToList();
        var finished = await Task.WhenAll(runs);

        var results = new List<AflResult>();
        foreach (var (instance, command, log, result) in finished)
        {
            if (result.TimedOut)
            {
                throw new TimeoutException($"`{command}` was killed after {(TimeSpan.FromSeconds(seconds) + KillGrace).TotalSeconds:0} s; log {log}");
            }

            var statsFile = Path.Combine(outputDir, instance, "fuzzer_stats");
            if (result.ExitCode != 0 || !File.Exists(statsFile))
            {
                throw new InvalidOperationException($"`{command}` exited with {result.ExitCode}{(File.Exists(statsFile) ? "" : " without fuzzer_stats")}; log {log}:\n{Toolchain.StripAnsi(result.Tail())}");
            }

            results.Add(FromStats(ParseFuzzerStats(await File.ReadAllTextAsync(statsFile, cancellationToken)), result.Wall.TotalSeconds, result.ExitCode, command, log));
        }

        return results;
    }

    public static AflResult FromStats(IReadOnlyDictionary<string, string> stats, double wallSeconds, int exitCode, string command, string log) =>
        new(
            Long(stats, "execs_done"),
            Long(stats, "run_time"),
            double.Parse(stats.GetValueOrDefault("execs_per_sec", "0"), CultureInfo.InvariantCulture),
            Long(stats, "edges_found"),
            Long(stats, "total_edges"),
            Long(stats, "corpus_count"),
            wallSeconds,
            exitCode,
            command,
            log);

    /// <summary>fuzzer_stats: "key : value" lines.</summary>
    public static Dictionary<string, string> ParseFuzzerStats(string text)
    {
        var stats = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                stats[line[..colon].Trim()] = line[(colon + 1)..].Trim().TrimEnd('%');
            }
        }

        return stats;
    }

    /// <summary>
    /// <c>afl-showmap -C -i DIR -o /dev/null -- TARGET</c> over every input in <paramref name="inputDir"/>: the number of
    /// distinct edge tuples ("Captured N tuples") the AFL++ build reaches with that corpus.
    /// </summary>
    public static async Task<(long Tuples, string Command)> CountTuplesAsync(string target, string inputDir, string logPath, CancellationToken cancellationToken)
    {
        string[] arguments =
        [
            "-C", "-i", inputDir, "-o", "/dev/null",
            "-t", Math.Max(5, TimeoutMs).ToString(CultureInfo.InvariantCulture),
            "-m", MemoryLimitMb.ToString(CultureInfo.InvariantCulture),
            "--", target,
        ];
        var command = ProcessRunner.Describe("afl-showmap", arguments);
        var result = await ProcessRunner.RunAsync(
            "afl-showmap", arguments, TimeSpan.FromMinutes(10), cancellationToken, Path.GetDirectoryName(logPath), new Dictionary<string, string>
            {
                ["AFL_NO_AFFINITY"] = "1",
                ["AFL_SKIP_CPUFREQ"] = "1",
                ["ASAN_OPTIONS"] = "abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1",
            },
            logPath);
        var match = TuplesPattern().Match(result.Output);
        if (!match.Success)
        {
            throw new InvalidOperationException($"`{command}` (exit {result.ExitCode}) printed no \"Captured N tuples\"; log {logPath}:\n{Toolchain.StripAnsi(result.Tail())}");
        }

        return (long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), command);
    }

    private static long Long(IReadOnlyDictionary<string, string> stats, string key) =>
        long.TryParse(stats.GetValueOrDefault(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;

    [GeneratedRegex(@"Done (\d+) runs in (\d+) second")]
    private static partial Regex DonePattern();

    [GeneratedRegex(@"stat::number_of_executed_units:\s*(\d+)")]
    private static partial Regex UnitsPattern();

    [GeneratedRegex(@"stat::average_exec_per_sec:\s*(\d+)")]
    private static partial Regex AveragePattern();

    [GeneratedRegex(@"Captured (\d+) tuples")]
    private static partial Regex TuplesPattern();
}
