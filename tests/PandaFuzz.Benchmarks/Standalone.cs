using System.Globalization;
using System.Text.RegularExpressions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Protocol;

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
/// The launches a PandaFuzz bot makes for a job (<see cref="LibFuzzerEngine"/> and <see cref="AflPlusPlusEngine"/>'s own
/// <c>Launch</c>), run by hand for the standalone side of each comparison so that only PandaFuzz differs: the same flags
/// (libFuzzer with -fork=1 and the -ignore_* flags, as bots run it), the same environment, the same seed, in a job-like
/// work dir under the run's folder (<c>corpus/</c>, <c>artifacts/</c>, <c>out/</c>, <c>sanitizer-logs/</c>).
/// </summary>
public static partial class Standalone
{
    /// <summary>The campaign limits the benchmarks ask for (the API's defaults), given to the engines as the job's.</summary>
    public const int MemoryLimitMb = 2048;

    public const int TimeoutMs = 1000;

    /// <summary>Extra time a run gets beyond its own limit before it is killed (start-up, calibration, final writes).</summary>
    public static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(60);

    /// <summary>A benchmark job's spec: the API's default limits, and the dictionary's text when there is one.</summary>
    private static JobSpec Spec(string engine, int seconds, string? dictionaryFile) =>
        new(BlobId.Of("standalone"u8), engine, seconds, MemoryLimitMb, TimeoutMs, dictionaryFile is null ? null : File.ReadAllText(dictionaryFile));

    /// <summary>
    /// The bot's libFuzzer launch of <paramref name="target"/> for <paramref name="seconds"/> in a work dir at
    /// <paramref name="runDir"/>: its corpus/ and artifacts/ there, its environment with them.
    /// </summary>
    public static FuzzerLaunch LibFuzzer(string target, int seconds, string runDir, string? dictionaryFile = null)
    {
        var dir = Prepare(runDir, dictionaryFile);
        return new LibFuzzerEngine().Launch(Spec(EngineNames.LibFuzzer, seconds, dictionaryFile), dir, TimeSpan.FromSeconds(seconds)) with { Program = target };
    }

    /// <summary>
    /// The bot's afl-fuzz launch of <paramref name="target"/> as one instance (<paramref name="role"/> -M or -S, named
    /// <paramref name="instance"/>) of a run whose instances share the work dir at <paramref name="runDir"/>: its seeds in
    /// corpus/ (the bot's one-zero-byte seed when empty), its sync dir out/. The target is copied into the work dir, where
    /// the engine reads its build (an ASan build gets <c>-m none</c>).
    /// </summary>
    /// <remarks>
    /// With <paramref name="cmplogTarget"/> (a CMPLOG build, <c>AFL_LLVM_CMPLOG=1</c>) the instance runs it as well: it is
    /// copied to where a bot's job keeps its build's CMPLOG binary (<see cref="JobWorkDir.CmplogTarget"/>), and the engine's
    /// launch is the one of an AFL++ job that runs it, so <c>-c</c> comes where a bot puts it, no other flag changed.
    /// </remarks>
    public static FuzzerLaunch Afl(string target, int seconds, string runDir, string role, string instance, string? dictionaryFile = null, string? cmplogTarget = null)
    {
        var dir = Prepare(runDir, dictionaryFile);
        if (!File.Exists(dir.Target))
        {
            File.Copy(target, dir.Target);
        }

        var spec = Spec(EngineNames.AflPlusPlus, seconds, dictionaryFile);
        if (cmplogTarget is not null)
        {
            if (!File.Exists(dir.CmplogTarget))
            {
                File.Copy(cmplogTarget, dir.CmplogTarget);
            }

            // The only AFL++ job of its campaign: the instance (main, so no -p of a secondary) that the engine gives -c.
            spec = spec with { CmplogTarget = BlobId.Of("standalone-cmplog"u8), Instances = 1 };
        }

        var launch = new AflPlusPlusEngine().Launch(spec, dir, TimeSpan.FromSeconds(seconds));
        var arguments = launch.Arguments.ToList();
        var name = arguments.IndexOf(AflPlusPlusEngine.InstanceName);
        arguments[name - 1] = role;
        arguments[name] = instance;
        if (cmplogTarget is not null && !HasCmplog(arguments))
        {
            throw new InvalidOperationException($"The AFL++ engine's launch has no -c {dir.CmplogTarget}: {ProcessRunner.Describe(launch.Program, arguments)}");
        }

        return launch with { Arguments = arguments };
    }

    /// <summary>True when afl-fuzz's arguments (before the target's, after <c>--</c>) hold <c>-c</c>.</summary>
    public static bool HasCmplog(IReadOnlyList<string> arguments) =>
        arguments.TakeWhile(a => a != "--").Contains("-c");

    /// <summary>The job's folders under <paramref name="runDir"/>, with the dictionary where the engines look for it.</summary>
    private static JobWorkDir Prepare(string runDir, string? dictionaryFile)
    {
        var dir = new JobWorkDir(runDir);
        dir.Create();
        if (dictionaryFile is not null)
        {
            File.Copy(dictionaryFile, dir.Dictionary, overwrite: true);
        }

        return dir;
    }

    /// <summary>The AFL_* part of a launch's environment, as a shell prefix for the command shown in reports.</summary>
    public static string AflPrefix(FuzzerLaunch launch) =>
        string.Join(' ', launch.Environment.Where(e => e.Key.StartsWith("AFL_", StringComparison.Ordinal)).OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => $"{e.Key}={e.Value}")) + " ";

    /// <summary>
    /// <c>taskset -c CORES</c> and the bot's libFuzzer launch in <paramref name="runDir"/>. A -fork run ends with the line
    /// of its last child (<c>#N: cov: … time: Ts</c>): N executions in all, in T seconds; a plain run with its DONE stats.
    /// </summary>
    public static async Task<LibFuzzerResult> RunLibFuzzerAsync(string target, IReadOnlyCollection<int> cores, int seconds, string runDir, CancellationToken cancellationToken)
    {
        var launch = LibFuzzer(target, seconds, runDir);
        List<string> arguments = ["-c", Cpu.Format(cores), launch.Program, .. launch.Arguments];
        var command = ProcessRunner.Describe("taskset", arguments);
        var log = Path.Combine(runDir, "libfuzzer.log");
        var result = await ProcessRunner.RunAsync(
            "taskset", arguments, TimeSpan.FromSeconds(seconds) + KillGrace, cancellationToken, runDir, launch.Environment, log);
        if (result.TimedOut)
        {
            throw new TimeoutException($"`{command}` was killed after {(TimeSpan.FromSeconds(seconds) + KillGrace).TotalSeconds:0} s; log {log}");
        }

        var lastFork = result.Output.Split('\n')
            .Select(line => (Line: line, Parsed: LibFuzzerOutputParser.TryParseStatus(line, out var status) ? status : null))
            .LastOrDefault(l => l.Parsed is { Kind: LibFuzzerStatusKind.Fork });
        if (lastFork.Parsed is { } fork && ForkTimePattern().Match(lastFork.Line) is { Success: true } time)
        {
            var forkSeconds = long.Parse(time.Groups[1].Value, CultureInfo.InvariantCulture);
            return new LibFuzzerResult(fork.Execs, forkSeconds, fork.ExecsPerSecond, result.Wall.TotalSeconds, result.ExitCode, command, log);
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
    /// Starts the bot's afl-fuzz launch once per (role, instance) in <paramref name="instances"/>, all on
    /// <paramref name="cores"/>, sharing the work dir at <paramref name="runDir"/> (its out/ the sync dir), and waits for
    /// all; each instance's fuzzer_stats is read at the end. With <paramref name="cmplog"/>, that instance runs that
    /// CMPLOG build too (<c>-c</c>).
    /// </summary>
    public static async Task<IReadOnlyList<AflResult>> RunAflAsync(
        string target, IReadOnlyCollection<int> cores, int seconds, string runDir,
        IReadOnlyList<(string Role, string Instance)> instances, CancellationToken cancellationToken,
        (string Instance, string Target)? cmplog = null)
    {
        var outputDir = new JobWorkDir(runDir).Output;
        var launches = instances.Select(i => (i.Instance, Launch: Afl(target, seconds, runDir, i.Role, i.Instance,
            cmplogTarget: cmplog is { } c && c.Instance == i.Instance ? c.Target : null))).ToList();
        var runs = launches.Select(async i =>
        {
            List<string> arguments = ["-c", Cpu.Format(cores), i.Launch.Program, .. i.Launch.Arguments];
            var command = AflPrefix(i.Launch) + ProcessRunner.Describe("taskset", arguments);
            var log = Path.Combine(runDir, $"afl-{i.Instance}.log");
            var result = await ProcessRunner.RunAsync(
                "taskset", arguments, TimeSpan.FromSeconds(seconds) + KillGrace, cancellationToken, runDir, i.Launch.Environment, log);
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
    /// The bot's coverage measure (<see cref="AflPlusPlusEngine.MeasureCoverage"/>: <c>afl-showmap -C</c>) of every input
    /// in <paramref name="inputDir"/>: the distinct edge tuples the AFL++ build reaches with that corpus. The target is
    /// copied into a work dir beside <paramref name="logPath"/>, where the engine reads its build.
    /// </summary>
    public static async Task<(long Tuples, string Command)> CountTuplesAsync(string target, string inputDir, string logPath, CancellationToken cancellationToken)
    {
        var dir = new JobWorkDir(Path.Combine(Path.GetDirectoryName(logPath)!, "showmap"));
        dir.Create();
        File.Copy(target, dir.Target, overwrite: true);
        var engine = new AflPlusPlusEngine();
        var launch = engine.MeasureCoverage(Spec(EngineNames.AflPlusPlus, 0, null), dir, inputDir);
        var command = ProcessRunner.Describe(launch.Program, launch.Arguments);
        var result = await ProcessRunner.RunAsync(
            launch.Program, launch.Arguments, TimeSpan.FromMinutes(10), cancellationToken, launch.WorkingDirectory, launch.Environment, logPath);
        return engine.ReadCoverage(result.Output) is { } coverage
            ? (coverage.Edges, command)
            : throw new InvalidOperationException($"`{command}` (exit {result.ExitCode}) printed no \"Captured N tuples\"; log {logPath}:\n{Toolchain.StripAnsi(result.Tail())}");
    }

    private static long Long(IReadOnlyDictionary<string, string> stats, string key) =>
        long.TryParse(stats.GetValueOrDefault(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;

    [GeneratedRegex(@"Done (\d+) runs in (\d+) second")]
    private static partial Regex DonePattern();

    [GeneratedRegex(@"stat::number_of_executed_units:\s*(\d+)")]
    private static partial Regex UnitsPattern();

    [GeneratedRegex(@"stat::average_exec_per_sec:\s*(\d+)")]
    private static partial Regex AveragePattern();

    [GeneratedRegex(@" time: (\d+)s")]
    private static partial Regex ForkTimePattern();
}
