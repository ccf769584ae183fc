using System.Globalization;

namespace PandaFuzz.Benchmarks;

/// <summary>The standalone side of one overhead pair.</summary>
/// <param name="ExecsPerSecond">The engine's own figure: libFuzzer units / S ("Done N runs in S second(s)"), AFL++ execs_per_sec.</param>
/// <param name="WallExecsPerSecond">Execs over the wall-clock time of the whole process, start-up included.</param>
/// <param name="FuzzerCpuShare">The fuzzer's CPU seconds / its wall-clock seconds: below ~0.95 something else ran on the core.</param>
public sealed record StandaloneSide(
    double ExecsPerSecond, long Execs, double EngineSeconds, double WallSeconds, double WallExecsPerSecond, double? FuzzerCpuSeconds, double? FuzzerCpuShare,
    string Command, string Log, object Detail);

/// <summary>The PandaFuzz side of one overhead pair.</summary>
/// <param name="ExecsPerSecond">The engine's own figure as the bot reported it at the end (jobs[0].stats.execsPerSecond).</param>
/// <param name="JobSeconds">jobs[0].startedAt → finishedAt.</param>
/// <param name="JobExecsPerSecond">Final execs / JobSeconds: includes target fetch, corpus sync, start-up and the end.</param>
/// <param name="FuzzerCpuShare">The fuzzer's CPU seconds / JobSeconds.</param>
/// <param name="NodeCpuShare">The node's own CPU seconds / JobSeconds: what PandaFuzz itself took of the shared core.</param>
/// <param name="WorkDirStats">AFL++ only: the job's own fuzzer_stats, read from the bot's work dir, as a cross-check.</param>
public sealed record PandaFuzzSide(
    string CampaignId,
    string JobId,
    double ExecsPerSecond,
    long Execs,
    double JobSeconds,
    double JobExecsPerSecond,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    double? SubmitToStartSeconds,
    double? StatsAgeAtFinishSeconds,
    double? NodeCpuSeconds,
    double? NodeCpuShare,
    double? FuzzerCpuSeconds,
    double? FuzzerCpuShare,
    IReadOnlyList<string> FuzzerCores,
    IReadOnlyList<string> FuzzerCommands,
    AflResult? WorkDirStats);

/// <param name="IdleNodeCpuSeconds">CPU the idle node used (parked on the other core) during the standalone run.</param>
public sealed record OverheadPair(
    int Pair, string Engine, StandaloneSide? Standalone, PandaFuzzSide? PandaFuzz, double? Ratio, double? WallRatio, double? IdleNodeCpuSeconds, string? Error);

/// <summary>
/// Fuzzer exec/s under a PandaFuzz bot versus the same fuzzer command standalone, A/B interleaved per engine, on one core.
/// </summary>
public sealed class OverheadBenchmark(BenchmarkOptions options, Workspace workspace)
{
    public const double Goal = 0.98;

    /// <summary>Length of the unmeasured warm-up pair of each engine.</summary>
    private const int WarmUpSeconds = 5;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var core = new[] { options.Core };
        var park = options.ParkCore is { } p ? new[] { p } : null;
        var online = Cpu.Online();
        foreach (var c in core.Concat(park ?? []))
        {
            if (!online.Contains(c))
            {
                throw new UsageException($"Core {c} is not online here (online: {Cpu.Format(online)}).");
            }
        }

        Toolchain.Require(["clang", "taskset", .. options.Engines.Contains("aflplusplus") ? new[] { "afl-clang-fast", "afl-fuzz" } : []]);
        if (options.Pairs < 5)
        {
            workspace.Problem($"only {options.Pairs} pair(s): the benchmark's medians are meant over at least 5");
        }

        if (park is not null)
        {
            // This program's polling and output reading stay off the measured core.
            await Cpu.PinAllThreadsAsync(Environment.ProcessId, park, cancellationToken);
        }

        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        var source = options.TargetSource ?? Path.Combine(RepoLayout.TargetSources, "no_bug.c");
        Console.WriteLine($"overhead: {options.Pairs} pairs x {options.Seconds} s per run, engines {string.Join(", ", options.Engines)}, harness {source}");
        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");
        var targets = await Toolchain.BuildAsync(source, workspace.Dir("targets"), cancellationToken);
        foreach (var command in targets.Commands)
        {
            Console.WriteLine($"built: {command}");
        }

        var pinning =
            $"Both sides run the fuzzer on core {options.Core}: standalone as `taskset -c {options.Core} ...`; PandaFuzz as one all-in-one node started with " +
            $"`taskset -c {options.Core} dotnet pandafuzz.dll`, so the node (master + bot) and the fuzzer it starts share core {options.Core}. " +
            (park is not null
                ? $"While a standalone run has core {options.Core}, the idle node is moved to core {park[0]} (`taskset -a -p -c {park[0]}`) and back before each " +
                  $"PandaFuzz run; this program runs on core {park[0]}."
                : $"The idle node stays on core {options.Core} during standalone runs too (--park-core none).");
        Console.WriteLine($"pinning: {pinning}");

        var pairs = new List<OverheadPair>();
        string nodeCommand;
        // --split: the master in a node of its own on the park core, a bot-only node on the fuzzer's core (a fuzzing machine
        // as deployed); by default one all-in-one node on the fuzzer's core, whose master work the fuzzer then shares.
        var noCommandHost = new Dictionary<string, string> { ["PANDAFUZZ_CMD"] = "off" };
        await using var master = options.Split
            ? NodeProcess.Start(options.NodeBuildDir, workspace.Dir("master"), park ?? core, roles: "master", environment: noCommandHost)
            : null;
        await using (var node = master is null
                         ? NodeProcess.Start(options.NodeBuildDir, workspace.Root, core)
                         : NodeProcess.Start(options.NodeBuildDir, workspace.Dir("bot"), core, roles: "bot", seeds: master.RemoteEndpoint, environment: noCommandHost))
        {
            nodeCommand = master is null ? node.Command : $"{master.Command}\n{node.Command}";
            using var api = new ApiClient((master ?? node).BaseAddress);
            var bot = await node.WaitReadyAsync(api, options.Engines, 1, TimeSpan.FromSeconds(120), cancellationToken);
            Console.WriteLine($"node: pid {node.Pid}, {node.BaseAddress}, bot {bot.Id} with {bot.Capabilities?.Slots} slot(s); log {node.LogPath}");
            var targetIds = new Dictionary<string, string>
            {
                ["libfuzzer"] = options.Engines.Contains("libfuzzer") ? await api.UploadTargetAsync("overhead-libfuzzer", await File.ReadAllBytesAsync(targets.LibFuzzer, cancellationToken), cancellationToken) : "",
                ["aflplusplus"] = options.Engines.Contains("aflplusplus") ? await api.UploadTargetAsync("overhead-afl", await File.ReadAllBytesAsync(targets.Afl, cancellationToken), cancellationToken) : "",
            };

            // Warm-up, not measured: the node's first job JIT-compiles its code paths, the first runs fill the page cache.
            foreach (var engine in options.Engines)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var warmUp = await RunPairAsync(0, engine, node, api, engine == "libfuzzer" ? targets.LibFuzzer : targets.Afl, targetIds[engine], core, park,
                    cancellationToken, WarmUpSeconds);
                if (warmUp.Error is not null)
                {
                    throw new InvalidOperationException($"The {Label(engine)} warm-up failed, so the pairs would too: {warmUp.Error}");
                }
            }

            for (var pair = 1; pair <= options.Pairs; pair++)
            {
                foreach (var engine in options.Engines)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var result = await RunPairAsync(pair, engine, node, api, engine == "libfuzzer" ? targets.LibFuzzer : targets.Afl, targetIds[engine], core, park, cancellationToken);
                    pairs.Add(result);
                }
            }
        }

        var summaries = new List<MeasureSummary>();
        foreach (var engine in options.Engines)
        {
            var ok = pairs.Where(p => p.Engine == engine && p.Ratio is not null).ToList();
            summaries.Add(Summary.Of(
                $"{Label(engine)} exec/s (engine's own figure)", "exec/s",
                [.. ok.Select(p => (p.Standalone!.ExecsPerSecond, p.PandaFuzz!.ExecsPerSecond))],
                Goal,
                engine == "libfuzzer"
                    ? "libFuzzer's units / whole seconds since start (\"Done N runs in S s\"; the DONE line the bot reports)"
                    : "AFL++ fuzzer_stats execs_per_sec at exit (execs_done / run time in ms)"));
            summaries.Add(Summary.Of(
                $"{Label(engine)} exec/s over job wall-clock", "exec/s",
                [.. ok.Select(p => (p.Standalone!.WallExecsPerSecond, p.PandaFuzz!.JobExecsPerSecond))],
                null,
                "execs / process wall time vs. execs / job startedAt→finishedAt (includes target fetch, corpus sync, start-up); informational"));
            var shares = ok.Where(p => p.Standalone!.FuzzerCpuShare is not null && p.PandaFuzz!.FuzzerCpuShare is not null).ToList();
            if (shares.Count == 0)
            {
                continue;
            }

            summaries.Add(Summary.Of(
                $"{Label(engine)} fuzzer CPU share", "%",
                [.. shares.Select(p => (100 * p.Standalone!.FuzzerCpuShare!.Value, 100 * p.PandaFuzz!.FuzzerCpuShare!.Value))],
                null,
                "fuzzer CPU seconds / wall seconds (PandaFuzz: / job time): how much of the core the fuzzer got; informational"));
        }

        Console.WriteLine();
        Console.WriteLine($"overhead ({options.Pairs} pairs x {options.Seconds} s, harness {Path.GetFileName(source)}, fuzzer on core {options.Core} in both setups):");
        Console.Write(Summary.Table(summaries));
        foreach (var engine in options.Engines)
        {
            var cpu = pairs.Where(p => p.Engine == engine && p.PandaFuzz?.NodeCpuSeconds is not null).Select(p => p.PandaFuzz!.NodeCpuSeconds!.Value).ToList();
            var cpuShare = pairs.Where(p => p.Engine == engine && p.PandaFuzz?.NodeCpuShare is not null).Select(p => p.PandaFuzz!.NodeCpuShare!.Value).ToList();
            var sample = pairs.FirstOrDefault(p => p.Engine == engine && p.PandaFuzz is not null)?.PandaFuzz;
            if (cpu.Count > 0)
            {
                Console.WriteLine($"{Label(engine)}: node's own CPU per PandaFuzz run, median {Summary.Median(cpu):0.00} s " +
                                  $"({Percent(Summary.Median(cpuShare))} of the job's time on the shared core; the idle node between jobs: " +
                                  $"{Percent(Summary.Median([.. pairs.Where(p => p.Engine == engine && p.IdleNodeCpuSeconds is not null && p.Standalone is not null).Select(p => p.IdleNodeCpuSeconds!.Value / p.Standalone!.WallSeconds)]))}); " +
                                  $"fuzzer processes allowed on core(s) {string.Join(" / ", pairs.Where(p => p.Engine == engine && p.PandaFuzz is not null).SelectMany(p => p.PandaFuzz!.FuzzerCores).Distinct())}");
            }

            if (sample is not null)
            {
                Console.WriteLine($"{Label(engine)}: PandaFuzz ran: {string.Join("  |  ", sample.FuzzerCommands.Take(2))}");
            }

            var standalone = pairs.FirstOrDefault(p => p.Engine == engine && p.Standalone is not null)?.Standalone;
            if (standalone is not null)
            {
                Console.WriteLine($"{Label(engine)}: standalone ran: {standalone.Command}");
            }
        }

        var failed = pairs.Count(p => p.Error is not null);
        var report = new
        {
            benchmark = "overhead",
            mode = options.Mode,
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            settings = new { options.Pairs, options.Seconds, options.Engines, options.Core, options.ParkCore, options.Split, harness = source, goal = Goal, warmUpSeconds = WarmUpSeconds },
            machine,
            pinning,
            commands = new { build = targets.Commands, node = nodeCommand },
            summary = summaries,
            measures = summaries,
            pairs,
            problems = workspace.Problems,
        };
        var path = Summary.WriteJson(report, options.OutputDir, "overhead", startedAt);
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();
        if (failed > 0)
        {
            workspace.Failed = true;
            return 2;
        }

        return summaries.All(s => s.GoalMet != false) ? 0 : 1;
    }

    private async Task<OverheadPair> RunPairAsync(
        int pair, string engine, NodeProcess node, ApiClient api, string target, string targetId, int[] core, int[]? park, CancellationToken cancellationToken,
        int? seconds = null)
    {
        var runSeconds = seconds ?? options.Seconds;
        var prefix = pair == 0 ? $"[warm-up, {runSeconds} s] {Label(engine),-9}" : $"[pair {pair}/{options.Pairs}] {Label(engine),-9}";
        StandaloneSide standalone;
        double? idleNodeCpu;
        try
        {
            if (park is not null)
            {
                await Cpu.PinAllThreadsAsync(node.Pid, park, cancellationToken);
            }

            var idleBefore = Cpu.CpuSeconds(node.Pid);
            standalone = await RunStandaloneAsync(pair, engine, target, core, runSeconds, cancellationToken);
            idleNodeCpu = Cpu.CpuSeconds(node.Pid) - idleBefore;
            Console.WriteLine($"{prefix} standalone: {standalone.ExecsPerSecond,12:N0} exec/s ({standalone.Execs:N0} execs / {standalone.EngineSeconds:0.##} s; " +
                              $"fuzzer CPU {Percent(standalone.FuzzerCpuShare)} of {standalone.WallSeconds:0.0} s)");
            if (standalone.FuzzerCpuShare < InterferenceThreshold)
            {
                workspace.Problem($"{PairName(pair)} {engine} standalone: the fuzzer got only {Percent(standalone.FuzzerCpuShare)} of core {options.Core}; " +
                                  "another process ran on it (a noisy machine makes this pair unreliable)");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            workspace.Problem($"{PairName(pair)} {engine} standalone failed: {ex.Message}");
            return new OverheadPair(pair, engine, null, null, null, null, null, $"standalone: {ex.Message}");
        }

        PandaFuzzSide pandaFuzz;
        try
        {
            if (park is not null)
            {
                await Cpu.PinAllThreadsAsync(node.Pid, core, cancellationToken);
            }

            pandaFuzz = await RunPandaFuzzAsync(pair, engine, node, api, targetId, runSeconds, cancellationToken);
            Console.WriteLine($"{prefix} pandafuzz:  {pandaFuzz.ExecsPerSecond,12:N0} exec/s ({pandaFuzz.Execs:N0} execs; job {pandaFuzz.JobSeconds:0.0} s, " +
                              $"fuzzer CPU {Percent(pandaFuzz.FuzzerCpuShare)}, node CPU {Percent(pandaFuzz.NodeCpuShare)})  ratio {pandaFuzz.ExecsPerSecond / standalone.ExecsPerSecond:0.000}");
            if (pandaFuzz.FuzzerCpuShare + pandaFuzz.NodeCpuShare < InterferenceThreshold - 0.03)
            {
                workspace.Problem($"{PairName(pair)} {engine} PandaFuzz: fuzzer and node together got only {Percent(pandaFuzz.FuzzerCpuShare + pandaFuzz.NodeCpuShare)} " +
                                  $"of core {options.Core} over the job; another process ran on it (or the job idled)");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            workspace.Problem($"{PairName(pair)} {engine} PandaFuzz run failed: {ex.Message}");
            return new OverheadPair(pair, engine, standalone, null, null, null, idleNodeCpu, $"pandafuzz: {ex.Message}");
        }

        return new OverheadPair(pair, engine, standalone, pandaFuzz,
            pandaFuzz.ExecsPerSecond / standalone.ExecsPerSecond,
            standalone.WallExecsPerSecond > 0 ? pandaFuzz.JobExecsPerSecond / standalone.WallExecsPerSecond : null,
            idleNodeCpu,
            null);
    }

    private async Task<StandaloneSide> RunStandaloneAsync(int pair, string engine, string target, int[] core, int seconds, CancellationToken cancellationToken)
    {
        var runDir = workspace.Dir("runs", $"pair{pair:D2}-{engine}-standalone");
        // The fuzzer is this program's only child during the run: its CPU time is the growth of our children's CPU time.
        var childrenBefore = Cpu.ChildrenCpuSeconds(Environment.ProcessId);
        if (engine == "libfuzzer")
        {
            var run = await Standalone.RunLibFuzzerAsync(target, core, seconds, runDir, cancellationToken);
            var cpu = Cpu.ChildrenCpuSeconds(Environment.ProcessId) - childrenBefore;
            return new StandaloneSide(run.ExecsPerSecond, run.Units, run.Seconds, run.WallSeconds, run.WallExecsPerSecond, cpu, cpu / run.WallSeconds,
                run.Command, run.Log, run);
        }

        var afl = (await Standalone.RunAflAsync(target, core, seconds, runDir, [("-S", "job")], cancellationToken))[0];
        // No CPU share for AFL++: afl-fuzz SIGKILLs its forkserver at exit, so the persistent-mode target process is
        // reaped by init and its CPU time never reaches afl-fuzz's (or our) children's counters.
        return new StandaloneSide(afl.ExecsPerSec, afl.ExecsDone, afl.ExecsPerSec > 0 ? afl.ExecsDone / afl.ExecsPerSec : 0, afl.WallSeconds, afl.WallExecsPerSecond,
            null, null, afl.Command, afl.Log, afl);
    }

    private async Task<PandaFuzzSide> RunPandaFuzzAsync(int pair, string engine, NodeProcess node, ApiClient api, string targetId, int seconds, CancellationToken cancellationToken)
    {
        var request = new
        {
            name = pair == 0 ? $"overhead-{engine}-warm-up" : $"overhead-{engine}-{pair.ToString(CultureInfo.InvariantCulture)}",
            targetId,
            engine,
            jobs = 1,
            durationSeconds = seconds,
            memoryLimitMb = Standalone.MemoryLimitMb,
            timeoutMs = Standalone.TimeoutMs,
        };
        var outcome = await CampaignRunner.RunAsync(node, api, request, seconds, cancellationToken);
        var campaign = outcome.Final;
        if (campaign.Jobs is not [var job])
        {
            throw new InvalidOperationException($"Campaign {outcome.CampaignId} ended '{campaign.Status}' with {campaign.Jobs?.Count ?? 0} jobs, expected 1.");
        }

        if (!string.Equals(job.State, "completed", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Job {job.Id} ended '{job.State}': {job.FailureReason ?? "no reason given"}.\n{node.LogTail()}");
        }

        if (job.Stats is not { Execs: > 0, ExecsPerSecond: > 0 } stats || job.StartedAt is not { } started || job.FinishedAt is not { } finished)
        {
            throw new InvalidOperationException(
                $"Job {job.Id} completed without final stats or times (stats {job.Stats}, startedAt {job.StartedAt}, finishedAt {job.FinishedAt}).");
        }

        var jobSeconds = (finished - started).TotalSeconds;
        var statsAge = stats.UpdatedAt is { } updated ? (finished - updated).TotalSeconds : (double?)null;
        if (statsAge is > 5)
        {
            workspace.Problem($"{PairName(pair)} {engine}: the job's last stats are {statsAge:0.0} s older than its end; its final figure may not be the fuzzer's last");
        }

        AflResult? workDir = null;
        if (engine == "aflplusplus")
        {
            var file = Path.Combine(node.DataDir, "bot", "jobs", job.Id, "out", "job", "fuzzer_stats");
            if (File.Exists(file))
            {
                workDir = Standalone.FromStats(Standalone.ParseFuzzerStats(await File.ReadAllTextAsync(file, cancellationToken)), 0, 0, "(the bot's afl-fuzz)", file);
                if (Math.Abs(workDir.ExecsPerSec - stats.ExecsPerSecond) > Math.Max(2, 0.01 * workDir.ExecsPerSec) || workDir.ExecsDone != stats.Execs)
                {
                    workspace.Problem(
                        $"{PairName(pair)} aflplusplus: the API's final stats ({stats.Execs} execs, {stats.ExecsPerSecond} exec/s) differ from the job's fuzzer_stats " +
                        $"({workDir.ExecsDone} execs, {workDir.ExecsPerSec:0.##} exec/s)");
                }
            }
        }

        return new PandaFuzzSide(
            outcome.CampaignId,
            job.Id,
            stats.ExecsPerSecond,
            stats.Execs,
            jobSeconds,
            jobSeconds > 0 ? stats.Execs / jobSeconds : 0,
            started,
            finished,
            (started - outcome.SubmittedAt).TotalSeconds,
            statsAge,
            outcome.NodeCpuSeconds,
            jobSeconds > 0 ? outcome.NodeCpuSeconds / jobSeconds : null,
            engine == "libfuzzer" ? outcome.FuzzerCpuSeconds : null,
            engine == "libfuzzer" && jobSeconds > 0 ? outcome.FuzzerCpuSeconds / jobSeconds : null,
            outcome.FuzzerCores,
            outcome.FuzzerCommands,
            workDir);
    }

    /// <summary>Below this share of its core's time, a run was disturbed by another process.</summary>
    private const double InterferenceThreshold = 0.95;

    private static string Percent(double? share) => share is { } value ? $"{100 * value:0.0} %" : "n/a";

    private static string PairName(int pair) => pair == 0 ? "warm-up" : $"pair {pair}";

    public static string Label(string engine) => engine == "libfuzzer" ? "libFuzzer" : "AFL++";
}
