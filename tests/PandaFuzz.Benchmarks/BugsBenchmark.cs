using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace PandaFuzz.Benchmarks;

/// <summary>An item of <c>GET /api/v1/campaigns/{id}/bugs</c>, the fields this benchmark reads.</summary>
public sealed record BugGroupView(
    string Id,
    string? Kind,
    string? AccessSizes,
    string? State,
    string? Location,
    bool Security,
    bool Reproducible,
    double ReproducibleRate,
    long Count,
    int CrashCount,
    DateTimeOffset? FirstSeen,
    IReadOnlyList<BugCrashView>? Crashes);

/// <summary>A crash of a bug group.</summary>
/// <param name="FoundAt">When the bot saw the crash file (the bot's clock, the same machine here).</param>
public sealed record BugCrashView(string Id, string? JobId, string? Kind, string? State, string? Location, bool Reproducible, DateTimeOffset? FoundAt, DateTimeOffset? FirstSeen);

/// <summary>A PandaFuzz bug group at the end of a run, and the known bugs its crashes map to.</summary>
/// <param name="FirstSeenSeconds">The group's firstSeen, in seconds after the campaign was submitted.</param>
/// <param name="FlagCorrect">Its reproducible flag equals the known bug's (null when it maps to no known bug or to several).</param>
public sealed record GroupOutcome(
    string Id, string? Kind, string? StateTop, string? Location, bool Reproducible, double ReproducibleRate, int CrashCount, long Count,
    IReadOnlyList<string> KnownBugs, IReadOnlyList<string> MatchedBy, bool? FlagCorrect, double? FirstSeenSeconds);

/// <summary>A standalone fuzzer's finding, rerun once and tied to a known bug (or not).</summary>
/// <param name="SeenSeconds">When this program's 0.2 s scan of the findings dirs first saw the file, after the fuzzer started.</param>
public sealed record ArtifactOutcome(string File, double SeenSeconds, string? Bug, string? MatchedBy, string Rerun);

/// <summary>One side's run on one target in one round.</summary>
/// <param name="FirstFound">Known bug → seconds from start (standalone: process start; PandaFuzz: just before the POST) to its first finding.</param>
public sealed record BugsRun(
    string Target,
    int Round,
    string Side,
    string? Error,
    double WallSeconds,
    int DistinctBugs,
    IReadOnlyDictionary<string, double> FirstFound,
    string? Command = null,
    string? CampaignId = null,
    int? Groups = null,
    int? Splits = null,
    int? Merges = null,
    int? UnknownGroups = null,
    int? FlagErrors = null,
    IReadOnlyList<GroupOutcome>? GroupDetails = null,
    IReadOnlyList<ArtifactOutcome>? Artifacts = null,
    IReadOnlyList<string>? JobStates = null,
    int? LateCrashes = null,
    string? LeftoverProcesses = null)
{
    public bool IsPandaFuzz => CampaignId is not null;

    /// <summary>Reported groups equal the known bugs found: no split, no merge, no group of no known bug.</summary>
    public bool GroupsExact => Groups == DistinctBugs && Splits == 0 && Merges == 0 && UnknownGroups == 0;
}

/// <summary>
/// Distinct known bugs found on multi-bug harnesses (tests/targets/bug_farm.c, bug_pair.c) in a fixed wall time on the same
/// cores, and how PandaFuzz groups them: PandaFuzz libFuzzer, AFL++ and ensemble campaigns versus libFuzzer -fork=N and
/// afl-fuzz -M/-S standalone, round-robin within each round.
/// </summary>
public sealed class BugsBenchmark(BenchmarkOptions options, Workspace workspace)
{
    public const double Goal = 1.0;

    public const string PandaFuzzLibFuzzer = "PandaFuzz libFuzzer";
    public const string PandaFuzzAfl = "PandaFuzz AFL++";
    public const string PandaFuzzEnsemble = "PandaFuzz ensemble";
    public const string StandaloneLibFuzzer = "libFuzzer -fork";
    public const string StandaloneAfl = "afl-fuzz -M/-S";

    private static readonly TimeSpan BugsPoll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FindingScan = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan RerunLimit = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan EndLimit = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan LeftoverLimit = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan LateSlack = TimeSpan.FromSeconds(1);
    private const int MaxReruns = 400;

    private sealed record Built(BugTarget Target, string LibFuzzer, string Afl, string Dictionary, string LibFuzzerId, string AflId);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var cores = options.Cores.ToArray();
        var online = Cpu.Online();
        if (cores.Length == 0 || cores.Any(c => !online.Contains(c)))
        {
            throw new UsageException($"--cores must name online cores (given {Cpu.Format(cores)}, online {Cpu.Format(online)}).");
        }

        var n = cores.Length;
        Toolchain.Require(["clang", "afl-clang-fast", "afl-fuzz", "taskset"]);
        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        List<string> sides = [PandaFuzzLibFuzzer, PandaFuzzAfl, .. n >= 2 ? new[] { PandaFuzzEnsemble } : [], StandaloneLibFuzzer, StandaloneAfl];
        Console.WriteLine($"bugs: {options.Rounds} rounds x {options.Seconds} s per run, {sides.Count} sides, targets {string.Join(", ", BugTarget.All.Select(t => t.Name))}, " +
                          $"cores {Cpu.Format(cores)} ({n} job(s) / instance(s) per side)");
        if (n < 2)
        {
            Console.WriteLine("one core: no ensemble side (it needs a libFuzzer and an AFL++ job)");
        }

        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");
        Console.WriteLine($"load average at start: {LoadAverage()}");
        var targetsDir = workspace.Dir("targets");
        var buildCommands = new List<string>();
        var compiled = new List<(BugTarget Target, string LibFuzzer, string Afl, string Dictionary)>();
        foreach (var target in BugTarget.All)
        {
            var libFuzzer = Path.Combine(targetsDir, target.Name + "_libfuzzer");
            var afl = Path.Combine(targetsDir, target.Name + "_afl");
            string[] flags = ["-fno-optimize-sibling-calls"];
            buildCommands.Add(await FirstCrashBenchmark.BuildLibFuzzerAsync(target.Source, libFuzzer, cancellationToken, flags));
            buildCommands.Add(await FirstCrashBenchmark.BuildAflAsync(target.Source, afl, cancellationToken, flags));
            var dictionary = Path.Combine(targetsDir, target.Name + ".dict");
            File.Copy(target.Dictionary, dictionary, overwrite: true);
            compiled.Add((target, libFuzzer, afl, dictionary));
        }

        foreach (var command in buildCommands)
        {
            Console.WriteLine($"built: {command}");
        }

        var pinning =
            $"Every side gets cores {Cpu.Format(cores)}: `taskset -c {Cpu.Format(cores)}` on libFuzzer -fork={n} and on each of the {n} afl-fuzz instances " +
            $"(AFL_NO_AFFINITY=1); one all-in-one node started with `taskset -c {Cpu.Format(cores)} dotnet pandafuzz.dll` ({n} slot(s)) runs the campaigns " +
            "and stays up, idle, during the standalone runs.";
        Console.WriteLine($"pinning: {pinning}");
        var clocks =
            "standalone: from just before the fuzzer starts to the 0.2 s scan that first saw the finding's file (mtimes are not used); " +
            "PandaFuzz: from just before POST /api/v1/campaigns to the firstSeen of the first crash of the bug (master's clock, the same machine). " +
            "Each side runs for the same wall time: standalone -max_total_time / -V; PandaFuzz durationSeconds, the campaign stopped that long after the POST.";
        Console.WriteLine($"clocks: {clocks}");

        var runs = new List<BugsRun>();
        string nodeCommand;
        await using (var node = NodeProcess.Start(options.NodeBuildDir, workspace.Root, cores))
        {
            nodeCommand = node.Command;
            using var api = new ApiClient(node.BaseAddress);
            var bot = await node.WaitReadyAsync(api, ["libfuzzer", "aflplusplus"], n, TimeSpan.FromSeconds(120), cancellationToken);
            Console.WriteLine($"node: pid {node.Pid}, {node.BaseAddress}, bot {bot.Id} with {bot.Capabilities?.Slots} slot(s); log {node.LogPath}");
            var built = new List<Built>();
            foreach (var (target, libFuzzer, afl, dictionary) in compiled)
            {
                built.Add(new Built(target, libFuzzer, afl, dictionary,
                    await api.UploadTargetAsync($"{target.Name}-libfuzzer", await File.ReadAllBytesAsync(libFuzzer, cancellationToken), cancellationToken),
                    await api.UploadTargetAsync($"{target.Name}-afl", await File.ReadAllBytesAsync(afl, cancellationToken), cancellationToken)));
            }

            for (var round = 1; round <= options.Rounds; round++)
            {
                foreach (var target in built)
                {
                    // Round-robin, starting one side later each round, so no side always runs first after another's load.
                    for (var i = 0; i < sides.Count; i++)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        var side = sides[(i + round - 1) % sides.Count];
                        var run = await RunSideAsync(round, side, target, cores, node, api, bot.Id, cancellationToken);
                        runs.Add(run);
                        Console.WriteLine($"[round {round}/{options.Rounds}] {target.Target.Name,-8} {side,-19} {Describe(run, target.Target)}  (load {LoadAverage()})");
                    }
                }
            }
        }

        var measures = new List<MeasureSummary>();
        var goals = new List<(string Goal, bool Met)>();
        var tables = new List<object>();
        Console.WriteLine();
        foreach (var target in BugTarget.All)
        {
            var mine = runs.Where(r => r.Target == target.Name).ToList();
            var (targetMeasures, targetGoals, table) = Report(target, sides, mine);
            measures.AddRange(targetMeasures);
            goals.AddRange(targetGoals);
            tables.Add(table);
        }

        Console.WriteLine($"bugs ({options.Rounds} rounds x {options.Seconds} s, cores {Cpu.Format(cores)}, N = {n}):");
        Console.Write(Summary.Table(measures));
        foreach (var (goal, met) in goals)
        {
            Console.WriteLine($"{(met ? "PASS" : "FAIL")}  {goal}");
        }

        Console.WriteLine($"load average at the end: {LoadAverage()}");
        var result = new
        {
            benchmark = BenchmarkOptions.Bugs,
            mode = options.Mode,
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            settings = new { options.Rounds, options.Seconds, cores, jobsPerSide = n, sides, goal = Goal, timeoutMs = Standalone.TimeoutMs },
            knownBugs = BugTarget.All,
            machine,
            pinning,
            clocks,
            commands = new { build = buildCommands, node = nodeCommand },
            goals = goals.Select(g => new { g.Goal, g.Met }),
            tables,
            summary = measures,
            measures,
            runs,
            problems = workspace.Problems,
        };
        var path = Summary.WriteJson(result, options.OutputDir, BenchmarkOptions.Bugs, startedAt);
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();
        if (runs.Any(r => r.Error is not null))
        {
            workspace.Failed = true;
            return 2;
        }

        return goals.All(g => g.Met) ? 0 : 1;
    }

    private async Task<BugsRun> RunSideAsync(
        int round, string side, Built target, int[] cores, NodeProcess node, ApiClient api, string botId, CancellationToken cancellationToken)
    {
        var name = $"r{round:D2}-{target.Target.Name}-{side.Replace(' ', '-').Replace('/', '-').Replace("+", "p", StringComparison.Ordinal)}";
        var clock = Stopwatch.StartNew();
        try
        {
            return side switch
            {
                StandaloneLibFuzzer => await RunLibFuzzerAsync(round, name, target, cores, cancellationToken),
                StandaloneAfl => await RunAflAsync(round, name, target, cores, cancellationToken),
                _ => await RunPandaFuzzAsync(round, side, name, target, cores.Length, node, api, botId, cancellationToken),
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            workspace.Problem($"round {round} {target.Target.Name} {side} failed: {ex.Message}");
            return new BugsRun(target.Target.Name, round, side, ex.Message, clock.Elapsed.TotalSeconds, 0, new Dictionary<string, double>());
        }
    }

    /// <summary><c>taskset -c CORES target -fork=N -ignore_crashes=1 ... -dict=D -artifact_prefix=A/ corpus/</c>, its artifacts dir scanned every 0.2 s.</summary>
    private async Task<BugsRun> RunLibFuzzerAsync(int round, string name, Built target, int[] cores, CancellationToken cancellationToken)
    {
        var runDir = workspace.Dir("runs", name);
        var corpus = workspace.Dir("runs", name, "corpus");
        var artifacts = workspace.Dir("runs", name, "artifacts");
        List<string> arguments =
        [
            "-c", Cpu.Format(cores), target.LibFuzzer,
            $"-fork={cores.Length.ToString(CultureInfo.InvariantCulture)}", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1",
            $"-timeout={(Standalone.TimeoutMs + 999) / 1000}", $"-rss_limit_mb={Standalone.MemoryLimitMb}",
            $"-max_total_time={options.Seconds.ToString(CultureInfo.InvariantCulture)}", $"-dict={target.Dictionary}", $"-artifact_prefix={artifacts}/", corpus,
        ];
        var command = ProcessRunner.Describe("taskset", arguments);
        var (seen, wall, result) = await RunScanningAsync(
            () => ProcessRunner.RunAsync("taskset", arguments, TimeSpan.FromSeconds(options.Seconds) + Standalone.KillGrace, cancellationToken, runDir,
                Standalone.LibFuzzer(target.LibFuzzer, options.Seconds, runDir).Environment, Path.Combine(runDir, "libfuzzer.log")),
            [artifacts], file => Path.GetFileName(file) is var f && (f.StartsWith("crash-", StringComparison.Ordinal) || f.StartsWith("leak-", StringComparison.Ordinal) ||
                                 f.StartsWith("timeout-", StringComparison.Ordinal) || f.StartsWith("oom-", StringComparison.Ordinal) || f.StartsWith("slow-unit-", StringComparison.Ordinal)),
            cancellationToken);
        if (result.TimedOut)
        {
            throw new TimeoutException($"`{command}` was killed after {(TimeSpan.FromSeconds(options.Seconds) + Standalone.KillGrace).TotalSeconds:0} s");
        }

        var classified = await ClassifyAsync(target, seen, runDir, cancellationToken);
        return StandaloneRun(round, StandaloneLibFuzzer, target.Target, wall, classified, command);
    }

    /// <summary>N afl-fuzz instances (-M main, -S secN) with <c>-x dict -t 1000 -m none -V T</c>, their crashes/ and hangs/ scanned every 0.2 s.</summary>
    private async Task<BugsRun> RunAflAsync(int round, string name, Built target, int[] cores, CancellationToken cancellationToken)
    {
        var runDir = workspace.Dir("runs", name);
        var output = Path.Combine(runDir, "out");
        var instances = Enumerable.Range(0, cores.Length).Select(i => i == 0 ? ("-M", "main") : ("-S", $"sec{i}")).ToList();
        var commands = new List<string>();
        var launches = new List<Func<Task<RunResult>>>();
        foreach (var (role, instance) in instances)
        {
            // The bot's launch: -m none for this ASan build, the dictionary as -x.
            var launch = Standalone.Afl(target.Afl, options.Seconds, runDir, role, instance, target.Dictionary);
            List<string> arguments = ["-c", Cpu.Format(cores), launch.Program, .. launch.Arguments];
            commands.Add(Standalone.AflPrefix(launch) + ProcessRunner.Describe("taskset", arguments));
            var log = Path.Combine(runDir, $"afl-{instance}.log");
            launches.Add(() => ProcessRunner.RunAsync("taskset", arguments, TimeSpan.FromSeconds(options.Seconds) + Standalone.KillGrace, cancellationToken, runDir,
                launch.Environment, log));
        }

        List<string> findings = [.. instances.SelectMany(i => new[] { Path.Combine(output, i.Item2, "crashes"), Path.Combine(output, i.Item2, "hangs") })];
        var (seen, wall, result) = await RunScanningAsync(
            async () =>
            {
                var results = await Task.WhenAll(launches.Select(l => l()));
                return results.FirstOrDefault(r => r.TimedOut || r.ExitCode != 0) ?? results[0];
            },
            findings, file => Path.GetFileName(file).StartsWith("id:", StringComparison.Ordinal), cancellationToken);
        if (result.TimedOut || result.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{commands[0]}`{(commands.Count > 1 ? " (or its -S)" : "")} {(result.TimedOut ? "was killed at its limit" : $"exited with {result.ExitCode}")}:\n" +
                                                Toolchain.StripAnsi(result.Tail()));
        }

        var classified = await ClassifyAsync(target, seen, runDir, cancellationToken);
        return StandaloneRun(round, StandaloneAfl, target.Target, wall, classified, string.Join("  &  ", commands));
    }

    /// <summary>Runs <paramref name="run"/> while scanning <paramref name="dirs"/> every 0.2 s: each finding's file with the time it was first seen.</summary>
    private static async Task<(List<(string File, double Seconds)> Seen, double Wall, RunResult Result)> RunScanningAsync(
        Func<Task<RunResult>> run, IReadOnlyList<string> dirs, Func<string, bool> isFinding, CancellationToken cancellationToken)
    {
        var seen = new Dictionary<string, double>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        var task = run();
        void Scan()
        {
            foreach (var dir in dirs.Where(Directory.Exists))
            {
                foreach (var file in Directory.EnumerateFiles(dir).Where(isFinding))
                {
                    seen.TryAdd(file, clock.Elapsed.TotalSeconds);
                }
            }
        }

        while (!task.IsCompleted)
        {
            Scan();
            await Task.WhenAny(task, Task.Delay(FindingScan, cancellationToken));
        }

        var result = await task;
        var wall = clock.Elapsed.TotalSeconds;
        Scan();
        return ([.. seen.OrderBy(s => s.Value).Select(s => (s.Key, s.Value))], wall, result);
    }

    /// <summary>
    /// Reruns each finding once with the libFuzzer build (<c>target -runs=1 -timeout=1 FILE</c>, 5 s limit, leaks detected) and
    /// reads the top frame in the harness's source; a finding with no such frame is the timeout bug when the rerun timed out or
    /// it is a timeout-/hangs file, else the flaky bug when the rerun did not crash.
    /// </summary>
    private async Task<List<ArtifactOutcome>> ClassifyAsync(Built target, List<(string File, double Seconds)> seen, string runDir, CancellationToken cancellationToken)
    {
        var outcomes = new List<ArtifactOutcome>();
        if (seen.Count > MaxReruns)
        {
            workspace.Problem($"{runDir}: {seen.Count} findings, only the first {MaxReruns} rerun");
        }

        // The bots' own rerun: the same arguments and sanitizer options as a crash's reproduce command.
        var reproduce = PandaFuzz.Domain.Engines.Reproduction.For(
            new PandaFuzz.Protocol.JobSpec(PandaFuzz.Protocol.BlobId.Of([]), PandaFuzz.Protocol.EngineNames.LibFuzzer, 1, Standalone.MemoryLimitMb, 1000, null));
        foreach (var (file, seconds) in seen.Take(MaxReruns))
        {
            var result = await ProcessRunner.RunAsync(target.LibFuzzer, [.. reproduce.Arguments, file],
                RerunLimit, cancellationToken, runDir, new Dictionary<string, string>(reproduce.Environment));
            var fileName = Path.GetFileName(file);
            var timeoutFile = fileName.StartsWith("timeout-", StringComparison.Ordinal) || Path.GetFileName(Path.GetDirectoryName(file)) == "hangs";
            var timedOut = result.TimedOut || result.Output.Contains("libFuzzer: timeout", StringComparison.Ordinal);
            var crashed = result.ExitCode != 0 || result.Output.Contains("==ERROR:", StringComparison.Ordinal);
            var rerun = result.TimedOut ? "killed at 5 s" : timedOut ? "timeout" : crashed ? $"crashed (exit {result.ExitCode})" : "no crash";
            if (target.Target.TopFrame(result.Output) is { } frame)
            {
                var bug = target.Target.ByFunction(frame.Function) ?? target.Target.Bugs.FirstOrDefault(b => b.Line == frame.Line);
                outcomes.Add(new ArtifactOutcome(file, seconds, bug?.Name, bug is null ? null : MatchedBy.Function, $"{rerun}, top frame {frame.Function}:{frame.Line}"));
            }
            else if ((timedOut || timeoutFile) && target.Target.Timeout is { } timeout)
            {
                outcomes.Add(new ArtifactOutcome(file, seconds, timeout.Name, MatchedBy.ArtifactName, $"{rerun}, no frame in {target.Target.Name}.c"));
            }
            else if (!crashed && target.Target.Flaky is { } flaky)
            {
                outcomes.Add(new ArtifactOutcome(file, seconds, flaky.Name, MatchedBy.Flaky, rerun));
            }
            else
            {
                var error = result.Output.Split('\n').FirstOrDefault(l => l.Contains("ERROR:", StringComparison.Ordinal))?.Trim();
                outcomes.Add(new ArtifactOutcome(file, seconds, null, null, $"{rerun}, no frame in {target.Target.Name}.c{(error is null ? "" : ": " + error)}"));
            }
        }

        return outcomes;
    }

    private static BugsRun StandaloneRun(int round, string side, BugTarget target, double wall, List<ArtifactOutcome> artifacts, string command)
    {
        var first = artifacts.Where(a => a.Bug is not null).GroupBy(a => a.Bug!).ToDictionary(g => g.Key, g => Math.Round(g.Min(a => a.SeenSeconds), 3));
        return new BugsRun(target.Name, round, side, null, wall, first.Count, first, command, Artifacts: artifacts);
    }

    private async Task<BugsRun> RunPandaFuzzAsync(
        int round, string side, string name, Built target, int n, NodeProcess node, ApiClient api, string botId, CancellationToken cancellationToken)
    {
        var dictionary = await File.ReadAllTextAsync(target.Dictionary, cancellationToken);
        object request = side switch
        {
            PandaFuzzEnsemble => new
            {
                name,
                targets = new Dictionary<string, string> { ["libfuzzer"] = target.LibFuzzerId, ["aflplusplus"] = target.AflId },
                jobs = n,
                durationSeconds = options.Seconds,
                memoryLimitMb = Standalone.MemoryLimitMb,
                timeoutMs = Standalone.TimeoutMs,
                dictionary,
            },
            _ => new
            {
                name,
                targetId = side == PandaFuzzLibFuzzer ? target.LibFuzzerId : target.AflId,
                engine = side == PandaFuzzLibFuzzer ? "libfuzzer" : "aflplusplus",
                jobs = n,
                durationSeconds = options.Seconds,
                memoryLimitMb = Standalone.MemoryLimitMb,
                timeoutMs = Standalone.TimeoutMs,
                dictionary,
            },
        };
        var submitted = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var id = await api.CreateCampaignAsync(request, cancellationToken);
        var path = $"api/v1/campaigns/{Uri.EscapeDataString(id)}/bugs?limit=1000";
        List<BugGroupView> bugs = [];
        try
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(options.Seconds))
            {
                node.EnsureRunning();
                try
                {
                    bugs = await api.GetJsonAsync<List<BugGroupView>>(path, cancellationToken);
                }
                catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    Console.WriteLine($"    (GET bugs of {id} failed, retrying: {ex.Message})");
                }

                var left = TimeSpan.FromSeconds(options.Seconds) - clock.Elapsed;
                if (left > TimeSpan.Zero)
                {
                    await Task.Delay(left < BugsPoll ? left : BugsPoll, cancellationToken);
                }
            }
        }
        catch
        {
            await StopAndWaitAsync(node, api, botId, id, CancellationToken.None);
            throw;
        }

        var stoppedAt = DateTimeOffset.UtcNow;
        var wall = clock.Elapsed.TotalSeconds;
        var leftovers = await StopAndWaitAsync(node, api, botId, id, cancellationToken);
        if (leftovers is not null)
        {
            workspace.Problem($"round {round} {target.Target.Name} {side}: campaign {id} stopped, its jobs ended and the bot free, yet {leftovers}; killed by this program");
        }

        bugs = await SettledBugsAsync(api, path, cancellationToken);
        var campaign = await api.GetCampaignAsync(id, cancellationToken);
        var jobStates = (campaign.Jobs ?? []).OrderBy(j => j.Index)
            .Select(j => $"{j.Index} {j.Engine} {j.State}{(j.FailureReason is null ? "" : ": " + j.FailureReason)}").ToList();
        if ((campaign.Jobs ?? []).Any(j => j.State is not ("completed" or "stopped" or "cancelled")))
        {
            workspace.Problem($"round {round} {target.Target.Name} {side}: campaign {id} jobs {string.Join("; ", jobStates)}");
        }

        return PandaFuzzRun(round, side, target.Target, id, submitted, stoppedAt, wall, bugs, jobStates) with { LeftoverProcesses = leftovers };
    }

    /// <summary>
    /// The run's bugs and groups: only crashes whose file the bot saw before the stop (plus <see cref="LateSlack"/>) count, as a
    /// standalone side counts what its fuzzer wrote within the time; a fuzzer that outlives the stop must not add to its campaign.
    /// </summary>
    private static BugsRun PandaFuzzRun(
        int round, string side, BugTarget target, string campaignId, DateTimeOffset submitted, DateTimeOffset stoppedAt, double wall, List<BugGroupView> all,
        List<string> jobStates)
    {
        var late = 0;
        var bugs = new List<BugGroupView>();
        foreach (var bug in all)
        {
            var kept = (bug.Crashes ?? []).Where(c => c.FoundAt is not { } at || at <= stoppedAt + LateSlack).ToList();
            late += (bug.Crashes?.Count ?? 0) - kept.Count;
            if (kept.Count > 0 || bug.Crashes is not { Count: > 0 })
            {
                bugs.Add(bug with { Crashes = kept });
            }
        }

        double? Since(DateTimeOffset? at) => at is { } value ? Math.Round((value - submitted).TotalSeconds, 3) : null;
        var groups = new List<GroupOutcome>();
        var first = new Dictionary<string, double>();
        var groupsOf = new Dictionary<string, int>();
        foreach (var bug in bugs)
        {
            // Each crash of the group on its own: a group whose crashes are different known bugs is a merge.
            var crashes = bug.Crashes is { Count: > 0 } list
                ? list.Select(c => (c.State, c.Location, c.Kind, c.Reproducible, c.FirstSeen)).ToList()
                : [(bug.State, bug.Location, bug.Kind, bug.Reproducible, bug.FirstSeen)];
            var known = new SortedSet<string>(StringComparer.Ordinal);
            var how = new SortedSet<string>(StringComparer.Ordinal);
            var unmatched = 0;
            foreach (var (state, location, kind, reproducible, firstSeen) in crashes)
            {
                var (match, by) = target.Classify(state, location, kind, reproducible);
                if (match is null)
                {
                    unmatched++;
                    continue;
                }

                known.Add(match.Name);
                how.Add(by!);
                if (Since(firstSeen ?? bug.FirstSeen) is { } at)
                {
                    first[match.Name] = first.TryGetValue(match.Name, out var earlier) ? Math.Min(earlier, at) : at;
                }
            }

            foreach (var name in known)
            {
                groupsOf[name] = groupsOf.GetValueOrDefault(name) + 1;
            }

            if (unmatched > 0 && known.Count > 0)
            {
                how.Add($"{unmatched} crash(es) of no known bug");
            }

            // A group tied to the flaky bug only because it never reproduced cannot have its flag checked (that is how it was tied).
            bool? flagCorrect = known.Count == 1 && how.Any(h => h != MatchedBy.Flaky)
                ? bug.Reproducible == target.Bugs.First(b => b.Name == known.Min).Reproducible
                : null;
            var top = bug.State?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
            groups.Add(new GroupOutcome(bug.Id, bug.Kind, top, bug.Location, bug.Reproducible, bug.ReproducibleRate, bug.CrashCount, bug.Count,
                [.. known], [.. how], flagCorrect, Since(bug.FirstSeen)));
        }

        return new BugsRun(target.Name, round, side, null, wall, first.Count, first, CampaignId: campaignId,
            Groups: groups.Count,
            Splits: groupsOf.Count(g => g.Value > 1),
            Merges: groups.Count(g => g.KnownBugs.Count > 1),
            UnknownGroups: groups.Count(g => g.KnownBugs.Count == 0),
            FlagErrors: groups.Count(g => g.FlagCorrect == false),
            GroupDetails: groups,
            JobStates: jobStates,
            LateCrashes: late);
    }

    /// <summary>The bug list once two reads 2 s apart agree on every group's crashes (reports of the last findings still arriving), at most 30 s.</summary>
    private static async Task<List<BugGroupView>> SettledBugsAsync(ApiClient api, string path, CancellationToken cancellationToken)
    {
        static string Shape(List<BugGroupView> bugs) => string.Join(';', bugs.Select(b => $"{b.Id}:{b.CrashCount}:{b.Count}:{b.Reproducible}"));
        var clock = Stopwatch.StartNew();
        var bugs = await api.GetJsonAsync<List<BugGroupView>>(path, cancellationToken);
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            var again = await api.GetJsonAsync<List<BugGroupView>>(path, cancellationToken);
            if (Shape(again) == Shape(bugs))
            {
                return again;
            }

            bugs = again;
        }

        return bugs;
    }

    /// <summary>
    /// Stops the campaign and waits until it has ended and the bot is free; processes of its jobs still alive
    /// <see cref="LeftoverLimit"/> after that are SIGKILLed (so they load no later run) and described in the answer.
    /// </summary>
    private static async Task<string?> StopAndWaitAsync(NodeProcess node, ApiClient api, string botId, string campaignId, CancellationToken cancellationToken)
    {
        try
        {
            await api.StopCampaignAsync(campaignId, cancellationToken);
        }
        catch (ApiException)
        {
            // Already ended (409).
        }

        var jobDirs = Path.Combine(node.DataDir, "bot", "jobs", campaignId + "-");
        var clock = Stopwatch.StartNew();
        TimeSpan? endedAt = null;
        var last = "";
        while (clock.Elapsed < EndLimit)
        {
            var campaign = await api.GetCampaignAsync(campaignId, cancellationToken);
            var processes = Cpu.FindByCommandLine(jobDirs);
            var bot = await api.GetJsonAsync<JsonElement>($"api/v1/bots/{Uri.EscapeDataString(botId)}", cancellationToken);
            var busy = bot.TryGetProperty("currentJobs", out var jobs) && jobs.ValueKind == JsonValueKind.Array && jobs.GetArrayLength() > 0;
            var ended = campaign.Status is "stopped" or "completed" && !busy;
            if (ended && processes.Count == 0)
            {
                return null;
            }

            endedAt = ended ? endedAt ?? clock.Elapsed : null;
            if (endedAt is { } since && clock.Elapsed - since >= LeftoverLimit)
            {
                return KillLeftovers(processes, clock.Elapsed);
            }

            last = $"campaign '{campaign.Status}', {processes.Count} job process(es), bot busy: {busy}";
            await Task.Delay(250, cancellationToken);
        }

        throw new TimeoutException($"Campaign {campaignId} had not ended {EndLimit.TotalSeconds:0} s after it was stopped: {last}.\n{node.LogTail(20)}");
    }

    /// <summary>SIGKILLs <paramref name="processes"/> and every descendant of theirs (inside the sandbox's namespaces too); describes what was left.</summary>
    private static string KillLeftovers(List<(int Pid, string CommandLine)> processes, TimeSpan after)
    {
        var tree = Descendants([.. processes.Select(p => p.Pid)]);
        var names = tree.Select(pid => ProcessClock.Arguments(pid) is [var program, ..] ? Path.GetFileName(program) : $"pid {pid}").ToList();
        foreach (var pid in tree)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone meanwhile.
            }
        }

        return $"{tree.Count} processes of its jobs were still running {after.TotalSeconds:0} s after the stop " +
               $"({string.Join(", ", names.GroupBy(n => n).Select(g => $"{g.Count()} x {g.Key}"))})";
    }

    /// <summary>The processes and all their descendants, from the parent pids in /proc/*/stat.</summary>
    private static List<int> Descendants(IReadOnlyCollection<int> roots)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
                (children.TryGetValue(parent, out var list) ? list : children[parent] = []).Add(pid);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // Exited meanwhile.
            }
        }

        var all = new List<int>();
        var queue = new Queue<int>(roots);
        while (queue.TryDequeue(out var pid))
        {
            if (!all.Contains(pid))
            {
                all.Add(pid);
                foreach (var child in children.GetValueOrDefault(pid) ?? [])
                {
                    queue.Enqueue(child);
                }
            }
        }

        return all;
    }

    private (List<MeasureSummary> Measures, List<(string Goal, bool Met)> Goals, object Table) Report(BugTarget target, List<string> sides, List<BugsRun> runs)
    {
        var ok = runs.Where(r => r.Error is null).ToList();
        double MedianBugs(string side) => Summary.Median([.. ok.Where(r => r.Side == side).Select(r => (double)r.DistinctBugs)]);

        // Table 1: distinct bugs per side, and the median time to each known bug (over the runs that found it).
        string[] header = ["side", "runs", "distinct bugs median (min-max)", .. target.Bugs.Select(b => b.Name)];
        var rows = new List<string[]>();
        var perSide = new List<object>();
        foreach (var side in sides)
        {
            var mine = ok.Where(r => r.Side == side).ToList();
            var counts = mine.Select(r => (double)r.DistinctBugs).ToList();
            var cells = new List<string>
            {
                side,
                $"{mine.Count}/{runs.Count(r => r.Side == side)}",
                counts.Count == 0 ? "n/a" : $"{Summary.Number(Summary.Median(counts))} ({counts.Min():0}-{counts.Max():0})",
            };
            var times = new Dictionary<string, object>();
            foreach (var bug in target.Bugs)
            {
                var found = mine.Where(r => r.FirstFound.ContainsKey(bug.Name)).Select(r => r.FirstFound[bug.Name]).ToList();
                cells.Add(found.Count == 0 ? "-" : $"{Summary.Median(found):0.0} s ({found.Count}/{mine.Count})");
                times[bug.Name] = new { medianSeconds = found.Count == 0 ? (double?)null : Math.Round(Summary.Median(found), 3), foundIn = found.Count, runs = mine.Count };
            }

            rows.Add([.. cells]);
            perSide.Add(new { side, runs = mine.Count, distinctBugsMedian = Summary.Median(counts), min = counts.Count == 0 ? (double?)null : counts.Min(), max = counts.Count == 0 ? (double?)null : counts.Max(), timeToBug = times });
        }

        Console.WriteLine($"{target.Name}: distinct known bugs found in {options.Seconds} s, and the median time to each bug (s after start; found in k of n runs):");
        Console.Write(Summary.FixedWidth(header, rows));

        // Table 2: PandaFuzz's grouping, per run.
        var pandaFuzz = ok.Where(r => r.IsPandaFuzz).ToList();
        string[] groupHeader = ["PandaFuzz run", "bugs found", "groups", "splits", "merges", "unknown groups", "flag errors", "groups (known bug: id, kind, reproducible)"];
        var groupRows = pandaFuzz.Select(r => new[]
        {
            $"{r.Side} r{r.Round}",
            r.DistinctBugs.ToString(CultureInfo.InvariantCulture),
            $"{r.Groups}",
            $"{r.Splits}",
            $"{r.Merges}",
            $"{r.UnknownGroups}",
            $"{r.FlagErrors}",
            string.Join("; ", (r.GroupDetails ?? []).Select(g => $"{(g.KnownBugs.Count == 0 ? "?" + g.StateTop : string.Join("+", g.KnownBugs))}{(g.FlagCorrect == false ? "(flag!)" : "")}")),
        }).ToList();
        Console.WriteLine($"{target.Name}: PandaFuzz bug groups per run");
        Console.Write(Summary.FixedWidth(groupHeader, groupRows));
        Console.WriteLine();

        // Measures: each PandaFuzz side against the standalone side of its engine, round by round (informational), and the goals.
        var measures = new List<MeasureSummary>();
        var bySide = sides.ToDictionary(s => s, s => ok.Where(r => r.Side == s).ToDictionary(r => r.Round, r => (double)r.DistinctBugs));
        var standaloneSides = sides.Where(s => s is StandaloneLibFuzzer or StandaloneAfl).ToList();
        var pandaFuzzSides = sides.Where(s => s is not (StandaloneLibFuzzer or StandaloneAfl)).ToList();
        foreach (var side in pandaFuzzSides)
        {
            var baseline = side == PandaFuzzLibFuzzer ? StandaloneLibFuzzer : side == PandaFuzzAfl ? StandaloneAfl : BestSide(standaloneSides, MedianBugs);
            var pairs = bySide[side].Where(p => bySide[baseline].ContainsKey(p.Key)).Select(p => (bySide[baseline][p.Key], p.Value)).ToList();
            measures.Add(Summary.Of($"{target.Name}: distinct bugs, {side} vs {baseline}", "bugs", pairs, null,
                "per round; informational (the goal is judged on the best sides' medians)") with
            {
                Min = bySide[side].Count == 0 ? double.NaN : bySide[side].Values.Min(),
                Max = bySide[side].Count == 0 ? double.NaN : bySide[side].Values.Max(),
            });
        }

        var bestStandalone = BestSide(standaloneSides, MedianBugs);
        var bestPandaFuzz = BestSide(pandaFuzzSides, MedianBugs);
        var standaloneMedian = MedianBugs(bestStandalone);
        var pandaFuzzMedian = MedianBugs(bestPandaFuzz);
        var ratio = standaloneMedian > 0 ? pandaFuzzMedian / standaloneMedian : double.NaN;
        var bugsMet = !double.IsNaN(pandaFuzzMedian) && !double.IsNaN(standaloneMedian) && pandaFuzzMedian >= Goal * standaloneMedian;
        measures.Add(new MeasureSummary($"{target.Name}: distinct bugs, best PandaFuzz side ({bestPandaFuzz}) vs best standalone ({bestStandalone})", "bugs",
            Math.Min(bySide[bestPandaFuzz].Count, bySide[bestStandalone].Count), standaloneMedian, pandaFuzzMedian, ratio, double.NaN, double.NaN, double.NaN, [],
            Goal, bugsMet, "medians of each side over its runs; the goal is judged on the ratio of medians"));

        var inexact = pandaFuzz.Where(r => !r.GroupsExact).ToList();
        measures.Add(new MeasureSummary($"{target.Name}: PandaFuzz runs whose groups != bugs found (splits, merges, unknown)", "runs", pandaFuzz.Count,
            double.NaN, inexact.Count, double.NaN, double.NaN, double.NaN, double.NaN, [], 0, pandaFuzz.Count > 0 && inexact.Count == 0,
            "every PandaFuzz run: one group per known bug found", GoalIsMaximum: true));
        var flagErrors = pandaFuzz.Sum(r => r.FlagErrors ?? 0);
        var checkedGroups = pandaFuzz.Sum(r => (r.GroupDetails ?? []).Count(g => g.FlagCorrect is not null));
        measures.Add(new MeasureSummary($"{target.Name}: PandaFuzz groups with a wrong reproducible flag (of {checkedGroups})", "groups", pandaFuzz.Count,
            double.NaN, flagErrors, double.NaN, double.NaN, double.NaN, double.NaN, [], 0, pandaFuzz.Count > 0 && flagErrors == 0,
            "reproducible == the known bug's reproducibility, every group of one known bug", GoalIsMaximum: true));

        List<(string, bool)> goals =
        [
            ($"{target.Name}: distinct bugs >= 1.0 x the best standalone side (median): {bestPandaFuzz} {Summary.Number(pandaFuzzMedian)} vs {bestStandalone} {Summary.Number(standaloneMedian)}", bugsMet),
            ($"{target.Name}: bug groups = bugs found on every run (no splits, no merges): {pandaFuzz.Count - inexact.Count}/{pandaFuzz.Count} runs exact", pandaFuzz.Count > 0 && inexact.Count == 0),
            ($"{target.Name}: reproducibility flag correct for every group: {flagErrors} wrong of {checkedGroups}", pandaFuzz.Count > 0 && flagErrors == 0),
        ];
        return (measures, goals, new { target = target.Name, sides = perSide, groups = groupRows.Select(r => string.Join(" | ", r)) });
    }

    private static string BestSide(List<string> sides, Func<string, double> median) =>
        sides.OrderByDescending(s => double.IsNaN(median(s)) ? -1 : median(s)).First();

    private static string Describe(BugsRun run, BugTarget target)
    {
        if (run.Error is not null)
        {
            return $"FAILED: {run.Error.Split('\n')[0]}";
        }

        var found = string.Join(", ", target.Bugs.Where(b => run.FirstFound.ContainsKey(b.Name)).Select(b => $"{b.Name} {run.FirstFound[b.Name]:0.0}s"));
        var text = $"{run.DistinctBugs}/{target.Bugs.Count} bugs [{found}]";
        if (run.IsPandaFuzz)
        {
            text += $"; {run.Groups} groups, {run.Splits} splits, {run.Merges} merges, {run.UnknownGroups} unknown, {run.FlagErrors} flag errors" + (run.LateCrashes > 0 ? $"; {run.LateCrashes} crash(es) found after the stop not counted" : "");
        }
        else if (run.Artifacts is { } artifacts)
        {
            text += $"; {artifacts.Count} findings, {artifacts.Count(a => a.Bug is null)} of no known bug";
        }

        return text;
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
