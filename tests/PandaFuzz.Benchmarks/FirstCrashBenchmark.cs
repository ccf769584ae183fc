using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace PandaFuzz.Benchmarks;

/// <summary>A unique crash of <c>GET /api/v1/campaigns/{id}/crashes</c>, the fields this benchmark reads.</summary>
/// <param name="FoundAt">When the bot saw the artifact (bot's clock).</param>
/// <param name="FirstSeen">When the master accepted the first report of it (master's clock): from then on the API lists it.</param>
public sealed record CrashView(string Id, string? JobId, string? Kind, DateTimeOffset? FoundAt, DateTimeOffset? FirstSeen);

/// <summary>The standalone side of one first-crash pair.</summary>
/// <param name="Seconds">Process start → the crash artifact's mtime; the run's limit when nothing was found (then <see cref="Found"/> is false).</param>
/// <param name="FuzzerCpuShare">libFuzzer only: the fuzzer's CPU seconds / its wall seconds; well below 1, another process had its core.</param>
public sealed record StandaloneCrash(int Seed, bool Found, double Seconds, string? Artifact, double WallSeconds, double? FuzzerCpuShare, string Command, string Log);

/// <summary>The PandaFuzz side of one first-crash pair; times in seconds after the moment just before the POST.</summary>
/// <param name="Seconds">→ the crash's firstSeen (listed by the API from then on): the measure; the run's limit when nothing was found.</param>
/// <param name="ArtifactSeconds">→ the crash's foundAt: the bot saw the artifact on its disk.</param>
/// <param name="PolledSeconds">→ this program's poll of the crashes list first answered with it (every 250 ms; a check).</param>
/// <param name="JobStartedSeconds">→ jobs[0].startedAt.</param>
/// <param name="FuzzerCpuShare">
/// The fuzzer's CPU seconds (its /proc/&lt;pid&gt;/stat, sampled at each poll: the sandbox's pid namespace keeps it out of the
/// node's children's times) over job started → crash file seen; a little low, as the last 250 ms before its exit are not sampled.
/// </param>
/// <param name="NodeCpuShare">The node's own CPU seconds over submit → crash listed: what PandaFuzz took of the shared core.</param>
public sealed record PandaFuzzCrash(
    string CampaignId, bool Found, double Seconds, double? ArtifactSeconds, double? PolledSeconds, double? JobStartedSeconds, string? CrashKind, string? CrashId,
    double? FuzzerCpuShare, double? NodeCpuShare);

public sealed record FirstCrashPair(int Pair, string Engine, StandaloneCrash? Standalone, PandaFuzzCrash? PandaFuzz, double? Ratio, string? Error);

/// <summary>
/// Time to the first crash of a planted bug: a 1-job PandaFuzz campaign on an all-in-one node versus the bot's fuzzer
/// command run standalone, A/B interleaved pairs, the fuzzer on one core on both sides.
/// </summary>
public sealed class FirstCrashBenchmark(BenchmarkOptions options, Workspace workspace)
{
    public const double Goal = 1.1;

    /// <summary>The harness's difficulty per engine (its STAGES and WORK macros), tuned so each engine needs tens of seconds.</summary>
    public static readonly IReadOnlyDictionary<string, (int Stages, int Work)> Difficulty = new Dictionary<string, (int, int)>
    {
        ["libfuzzer"] = (12, 2000),
        ["aflplusplus"] = (6, 200),
    };

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan FindingScan = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan IdleLimit = TimeSpan.FromSeconds(60);

    /// <summary>The unmeasured warm-up pair's limit (tests/targets/planted_bug.c: found in about a second).</summary>
    private const int WarmUpSeconds = 30;

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
        if (park is not null)
        {
            await Cpu.PinAllThreadsAsync(Environment.ProcessId, park, cancellationToken);
        }

        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        var source = options.TargetSource ?? Path.Combine(RepoLayout.BenchmarkTargets, "staged_bug.c");
        var warmUpSource = Path.Combine(RepoLayout.TargetSources, "planted_bug.c");
        Console.WriteLine($"first-crash: {options.Pairs} pairs per engine ({string.Join(", ", options.Engines)}), each run limited to {options.Seconds} s, harness {source}");
        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");
        var targetsDir = workspace.Dir("targets");
        var builds = new List<string>();
        var targets = new Dictionary<string, (string Measured, string WarmUp)>();
        foreach (var engine in options.Engines)
        {
            var (stages, work) = Difficulty[engine];
            string[] defines = options.TargetSource is null ? [$"-DSTAGES={stages}", $"-DWORK={work}"] : [];
            var measured = Path.Combine(targetsDir, $"{Path.GetFileNameWithoutExtension(source)}_{engine}");
            var warmUp = Path.Combine(targetsDir, $"planted_bug_{engine}");
            builds.Add(engine == "libfuzzer" ? await BuildLibFuzzerAsync(source, measured, cancellationToken, defines) : await BuildAflAsync(source, measured, cancellationToken, defines));
            builds.Add(engine == "libfuzzer" ? await BuildLibFuzzerAsync(warmUpSource, warmUp, cancellationToken) : await BuildAflAsync(warmUpSource, warmUp, cancellationToken));
            targets[engine] = (measured, warmUp);
        }

        foreach (var command in builds)
        {
            Console.WriteLine($"built: {command}");
        }

        var clocks =
            "standalone: from just before the process starts to the mtime of the first crash file (libFuzzer artifacts/crash-*, AFL++ out/job/crashes/id:*); " +
            "PandaFuzz: from just before POST /api/v1/campaigns to the crash's firstSeen (the master accepted the report, the API lists it from then on), " +
            "i.e. what a user waits for: scheduling, target fetch, corpus sync, fuzzing, the bot's triage (3 reproductions) and the report to the master. " +
            "All on the machine's wall clock.";
        Console.WriteLine($"clocks: {clocks}");
        var seeds = $"standalone: libFuzzer -seed=N / afl-fuzz -s N with N = the pair number; PandaFuzz: the engine's own random seed " +
                    "(a campaign has no engine-seed option: CreateCampaignRequest takes none and the bot passes none)";
        Console.WriteLine($"seeds: {seeds}");

        var pairs = new List<FirstCrashPair>();
        string nodeCommand;
        await using (var node = NodeProcess.Start(options.NodeBuildDir, workspace.Root, core))
        {
            nodeCommand = node.Command;
            using var api = new ApiClient(node.BaseAddress);
            var bot = await node.WaitReadyAsync(api, options.Engines, 1, TimeSpan.FromSeconds(120), cancellationToken);
            Console.WriteLine($"node: pid {node.Pid}, {node.BaseAddress}, bot {bot.Id} with {bot.Capabilities?.Slots} slot(s); log {node.LogPath}");
            var ids = new Dictionary<string, (string Measured, string WarmUp)>();
            foreach (var engine in options.Engines)
            {
                ids[engine] = (
                    await api.UploadTargetAsync($"first-crash-{engine}", await File.ReadAllBytesAsync(targets[engine].Measured, cancellationToken), cancellationToken),
                    await api.UploadTargetAsync($"first-crash-warm-up-{engine}", await File.ReadAllBytesAsync(targets[engine].WarmUp, cancellationToken), cancellationToken));
            }

            foreach (var engine in options.Engines)
            {
                var warmUp = await RunPairAsync(0, engine, node, api, bot.Id, targets[engine].WarmUp, ids[engine].WarmUp, core, park, WarmUpSeconds, cancellationToken);
                if (warmUp.Error is not null || warmUp.Standalone?.Found != true || warmUp.PandaFuzz?.Found != true)
                {
                    throw new InvalidOperationException($"The {OverheadBenchmark.Label(engine)} warm-up pair on planted_bug.c failed, so the pairs would too: {warmUp.Error ?? "no crash found"}");
                }
            }

            for (var pair = 1; pair <= options.Pairs; pair++)
            {
                foreach (var engine in options.Engines)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    pairs.Add(await RunPairAsync(pair, engine, node, api, bot.Id, targets[engine].Measured, ids[engine].Measured, core, park, options.Seconds, cancellationToken));
                }
            }
        }

        var summaries = new List<MeasureSummary>();
        foreach (var engine in options.Engines)
        {
            var ok = pairs.Where(p => p.Engine == engine && p.Ratio is not null).ToList();
            summaries.Add(Summary.Of(
                $"{OverheadBenchmark.Label(engine)} time to first crash", "s",
                [.. ok.Select(p => (p.Standalone!.Seconds, p.PandaFuzz!.Seconds))],
                Goal,
                "standalone: start → crash file written; PandaFuzz: submit → crash listed by the API (firstSeen)",
                goalIsMaximum: true));
            summaries.Add(Summary.Of(
                $"{OverheadBenchmark.Label(engine)} time to crash file on the bot", "s",
                [.. ok.Where(p => p.PandaFuzz!.ArtifactSeconds is not null).Select(p => (p.Standalone!.Seconds, p.PandaFuzz!.ArtifactSeconds!.Value))],
                null,
                "standalone: start → crash file written; PandaFuzz: submit → the bot saw the crash file (foundAt); informational"));
        }

        Console.WriteLine();
        Console.WriteLine($"first-crash ({options.Pairs} pairs per engine, limit {options.Seconds} s per run, fuzzer on core {options.Core} on both sides):");
        Console.Write(Summary.Table(summaries));
        foreach (var engine in options.Engines)
        {
            var mine = pairs.Where(p => p.Engine == engine).ToList();
            var started = mine.Where(p => p.PandaFuzz?.JobStartedSeconds is not null).Select(p => p.PandaFuzz!.JobStartedSeconds!.Value).ToList();
            var report = mine.Where(p => p.PandaFuzz is { Found: true, ArtifactSeconds: not null }).Select(p => p.PandaFuzz!.Seconds - p.PandaFuzz.ArtifactSeconds!.Value).ToList();
            Console.WriteLine($"{OverheadBenchmark.Label(engine)}: PandaFuzz median submit → job started {Summary.Median(started):0.000} s, crash file seen → listed by the API " +
                              $"{Summary.Median(report):0.000} s; not found within the limit: standalone {mine.Count(p => p.Standalone is { Found: false })}, " +
                              $"PandaFuzz {mine.Count(p => p.PandaFuzz is { Found: false })}");
            if (mine.FirstOrDefault(p => p.Standalone is not null)?.Standalone is { } sample)
            {
                Console.WriteLine($"{OverheadBenchmark.Label(engine)}: standalone ran: {sample.Command}");
            }
        }

        var failed = pairs.Count(p => p.Error is not null);
        var result = new
        {
            benchmark = BenchmarkOptions.FirstCrash,
            mode = options.Mode,
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            settings = new
            {
                options.Pairs,
                limitSeconds = options.Seconds,
                options.Engines,
                options.Core,
                options.ParkCore,
                harness = source,
                difficulty = options.TargetSource is null ? Difficulty.Where(d => options.Engines.Contains(d.Key)).ToDictionary(d => d.Key, d => new { d.Value.Stages, d.Value.Work }) : null,
                warmUp = warmUpSource,
                goal = Goal,
                pollIntervalMs = PollInterval.TotalMilliseconds,
            },
            machine,
            clocks,
            seeds,
            commands = new { build = builds, node = nodeCommand },
            summary = summaries,
            measures = summaries,
            pairs,
            problems = workspace.Problems,
        };
        var path = Summary.WriteJson(result, options.OutputDir, BenchmarkOptions.FirstCrash, startedAt);
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();
        if (failed > 0)
        {
            workspace.Failed = true;
            return 2;
        }

        return summaries.All(s => s.GoalMet != false) ? 0 : 1;
    }

    private async Task<FirstCrashPair> RunPairAsync(
        int pair, string engine, NodeProcess node, ApiClient api, string botId, string target, string targetId, int[] core, int[]? park, int seconds,
        CancellationToken cancellationToken)
    {
        var prefix = pair == 0 ? $"[warm-up] {OverheadBenchmark.Label(engine),-9}" : $"[pair {pair}/{options.Pairs}] {OverheadBenchmark.Label(engine),-9}";
        var seed = pair == 0 ? 1000 : pair;
        StandaloneCrash standalone;
        try
        {
            if (park is not null)
            {
                await Cpu.PinAllThreadsAsync(node.Pid, park, cancellationToken);
            }

            standalone = await RunStandaloneAsync(pair, engine, target, core, seed, seconds, cancellationToken);
            Console.WriteLine($"{prefix} standalone: {Found(standalone.Found, standalone.Seconds)} (seed {seed}{CpuNote("fuzzer", standalone.FuzzerCpuShare)})");
            if (pair > 0 && standalone.FuzzerCpuShare < DisturbedBelow)
            {
                workspace.Problem($"{PairName(pair)} {engine} standalone: the fuzzer got only {standalone.FuzzerCpuShare:P0} of core {options.Core}; another process ran on it");
            }

            if (!standalone.Found)
            {
                workspace.Problem($"{PairName(pair)} {engine} standalone: no crash within {seconds} s; counted as {seconds} s (a lower bound)");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            workspace.Problem($"{PairName(pair)} {engine} standalone failed: {ex.Message}");
            return new FirstCrashPair(pair, engine, null, null, null, $"standalone: {ex.Message}");
        }

        PandaFuzzCrash pandaFuzz;
        try
        {
            if (park is not null)
            {
                await Cpu.PinAllThreadsAsync(node.Pid, core, cancellationToken);
            }

            pandaFuzz = await RunPandaFuzzAsync(pair, engine, node, api, botId, targetId, seconds, cancellationToken);
            Console.WriteLine($"{prefix} pandafuzz:  {Found(pandaFuzz.Found, pandaFuzz.Seconds)} (job started {pandaFuzz.JobStartedSeconds:0.000} s, crash file seen " +
                              $"{pandaFuzz.ArtifactSeconds:0.000} s, poll saw it {pandaFuzz.PolledSeconds:0.000} s{CpuNote("fuzzer", pandaFuzz.FuzzerCpuShare)}{CpuNote("node", pandaFuzz.NodeCpuShare)})  ratio {pandaFuzz.Seconds / standalone.Seconds:0.000}");
            if (pair > 0 && pandaFuzz.FuzzerCpuShare < DisturbedBelow - 0.05)
            {
                workspace.Problem($"{PairName(pair)} {engine} PandaFuzz: the fuzzer got only {pandaFuzz.FuzzerCpuShare:P0} of core {options.Core} while it ran; the node or another process took the rest");
            }

            if (!pandaFuzz.Found)
            {
                workspace.Problem($"{PairName(pair)} {engine} PandaFuzz: no crash listed within {seconds} s; counted as {seconds} s (a lower bound)");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            workspace.Problem($"{PairName(pair)} {engine} PandaFuzz run failed: {ex.Message}");
            return new FirstCrashPair(pair, engine, standalone, null, null, $"pandafuzz: {ex.Message}");
        }

        return new FirstCrashPair(pair, engine, standalone, pandaFuzz, standalone.Seconds > 0 ? pandaFuzz.Seconds / standalone.Seconds : null, null);
    }

    /// <summary>
    /// The bot's command line for the engine (src/PandaFuzz.Bot/Engines) plus a seed, pinned with taskset; runs until the
    /// first crash file appears (libFuzzer exits by itself then, afl-fuzz is killed) or the limit.
    /// </summary>
    private async Task<StandaloneCrash> RunStandaloneAsync(int pair, string engine, string target, int[] core, int seed, int seconds, CancellationToken cancellationToken)
    {
        var runDir = workspace.Dir("runs", $"pair{pair:D2}-{engine}-standalone");
        List<string> arguments;
        Dictionary<string, string> environment;
        string findings;
        Func<string, bool> isCrash;
        var prefix = "";
        if (engine == "libfuzzer")
        {
            var launch = Standalone.LibFuzzer(target, seconds, runDir);
            findings = Path.Combine(runDir, "artifacts");
            arguments = ["-c", Cpu.Format(core), launch.Program, $"-seed={seed.ToString(CultureInfo.InvariantCulture)}", .. launch.Arguments];
            environment = new Dictionary<string, string>(launch.Environment);
            isCrash = name => name.StartsWith("crash-", StringComparison.Ordinal);
        }
        else
        {
            var launch = Standalone.Afl(target, seconds, runDir, "-S", "job");
            findings = Path.Combine(runDir, "out", "job", "crashes");
            arguments = ["-c", Cpu.Format(core), launch.Program, "-s", seed.ToString(CultureInfo.InvariantCulture), .. launch.Arguments];
            environment = new Dictionary<string, string>(launch.Environment);
            isCrash = name => name.StartsWith("id:", StringComparison.Ordinal);
            prefix = Standalone.AflPrefix(launch);
        }

        var command = prefix + ProcessRunner.Describe("taskset", arguments);
        var log = Path.Combine(runDir, $"{engine}.log");
        var info = ProcessRunner.StartInfo("taskset", arguments, runDir, environment);
        // The output goes to a file through the shell-free redirection of the runtime: read and kept, written at the end.
        var lines = new List<string>();
        var gate = new Lock();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { if (lines.Count < 20_000) { lines.Add(e.Data); } } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { if (lines.Count < 20_000) { lines.Add(e.Data); } } } };
        var limit = TimeSpan.FromSeconds(seconds);
        // The fuzzer is this program's only child meanwhile: its CPU time is the growth of our waited-for children's.
        var childrenBefore = Cpu.ChildrenCpuSeconds(Environment.ProcessId);
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start `{command}`.");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        string? artifact = null;
        try
        {
            while (artifact is null && clock.Elapsed < limit + Standalone.KillGrace)
            {
                artifact = Directory.Exists(findings) ? Directory.EnumerateFiles(findings).Where(f => isCrash(Path.GetFileName(f))).Order(StringComparer.Ordinal).FirstOrDefault() : null;
                if (artifact is null && process.HasExited)
                {
                    // Exited without a crash file: at its limit, or failed. One last look (it may have been written as it exited).
                    artifact = Directory.Exists(findings) ? Directory.EnumerateFiles(findings).FirstOrDefault(f => isCrash(Path.GetFileName(f))) : null;
                    break;
                }

                if (artifact is null)
                {
                    await Task.Delay(FindingScan, cancellationToken);
                }
            }

            // A plain libFuzzer run exits by itself after writing the crash; give it a moment so its log is whole. A -fork run
            // (as bots run it) goes on past its crashes: it is killed at once.
            if (artifact is not null && engine == "libfuzzer" && !arguments.Any(a => a.StartsWith("-fork=", StringComparison.Ordinal)))
            {
                using var exit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                exit.CancelAfter(TimeSpan.FromSeconds(10));
                try
                {
                    await process.WaitForExitAsync(exit.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Killed below.
                }
            }
        }
        finally
        {
            ProcessRunner.KillTree(process);
        }

        var wall = clock.Elapsed.TotalSeconds;
        var cpuShare = engine == "libfuzzer" && wall > 0 ? (Cpu.ChildrenCpuSeconds(Environment.ProcessId) - childrenBefore) / wall : null;
        string output;
        lock (gate)
        {
            output = string.Join('\n', lines);
        }

        await File.WriteAllTextAsync(log, $"# {command}{Environment.NewLine}{output}", CancellationToken.None);
        if (artifact is null)
        {
            if (process.ExitCode != 0 && engine == "aflplusplus" && clock.Elapsed < limit)
            {
                throw new InvalidOperationException($"`{command}` exited with {process.ExitCode} after {wall:0.0} s without a crash; log {log}:\n{Toolchain.StripAnsi(string.Join('\n', lines.TakeLast(20)))}");
            }

            return new StandaloneCrash(seed, false, seconds, null, wall, cpuShare, command, log);
        }

        var at = (File.GetLastWriteTimeUtc(artifact) - started).TotalSeconds;
        return new StandaloneCrash(seed, true, at, artifact, wall, cpuShare, command, log);
    }

    private async Task<PandaFuzzCrash> RunPandaFuzzAsync(int pair, string engine, NodeProcess node, ApiClient api, string botId, string targetId, int seconds, CancellationToken cancellationToken)
    {
        var request = new
        {
            name = pair == 0 ? $"first-crash-{engine}-warm-up" : $"first-crash-{engine}-{pair.ToString(CultureInfo.InvariantCulture)}",
            targetId,
            engine,
            jobs = 1,
            durationSeconds = seconds,
            memoryLimitMb = Standalone.MemoryLimitMb,
            timeoutMs = Standalone.TimeoutMs,
        };
        var nodeCpuBefore = Cpu.CpuSeconds(node.Pid);
        double? nodeCpu = null;
        var fuzzerCpu = new Dictionary<int, double>();
        var submitted = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var created = await api.CreateCampaignViewAsync(request, cancellationToken);
        var id = created.Id;
        var fuzzer = created.Jobs is [var createdJob] ? Path.Combine(node.DataDir, "bot", "jobs", createdJob.Id, "target") : null;
        CrashView? first = null;
        double? polled = null;
        try
        {
            // Polled a little past the limit: a crash found at the end is still being triaged and reported.
            while (clock.Elapsed < TimeSpan.FromSeconds(seconds + 30))
            {
                node.EnsureRunning();
                if (fuzzer is not null)
                {
                    foreach (var (pid, _) in Cpu.FindByCommandLine(fuzzer))
                    {
                        if (ProcessClock.Arguments(pid) is [var program, ..] && program == fuzzer && Cpu.CpuSeconds(pid) is { } cpu)
                        {
                            fuzzerCpu[pid] = cpu;
                        }
                    }
                }

                List<CrashView> crashes;
                try
                {
                    crashes = await api.GetJsonAsync<List<CrashView>>($"api/v1/campaigns/{Uri.EscapeDataString(id)}/crashes", cancellationToken);
                }
                catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    Console.WriteLine($"    (GET crashes of {id} failed, retrying: {ex.Message})");
                    crashes = [];
                }

                if (crashes.Count > 0)
                {
                    polled = clock.Elapsed.TotalSeconds;
                    nodeCpu = Cpu.CpuSeconds(node.Pid) - nodeCpuBefore;
                    first = crashes.MinBy(c => c.FirstSeen ?? DateTimeOffset.MaxValue);
                    break;
                }

                await Task.Delay(PollInterval, cancellationToken);
            }
        }
        finally
        {
            await StopAndWaitAsync(node, api, botId, id, cancellationToken);
        }

        var view = await api.GetCampaignAsync(id, cancellationToken);
        var job = view.Jobs?.FirstOrDefault(j => j.Index == 0);
        double? Since(DateTimeOffset? at) => at is { } value ? (value - submitted).TotalSeconds : null;
        if (first is null)
        {
            return new PandaFuzzCrash(id, false, seconds, null, null, Since(job?.StartedAt), null, null, null, null);
        }

        if (first.FirstSeen is null)
        {
            throw new InvalidOperationException($"Crash {first.Id} of campaign {id} has no firstSeen.");
        }

        var listed = Since(first.FirstSeen)!.Value;
        var fuzzing = Since(first.FoundAt) - Since(job?.StartedAt);
        double? fuzzerShare = engine == "libfuzzer" && fuzzing > 1 && fuzzerCpu.Count > 0 ? fuzzerCpu.Values.Sum() / fuzzing : null;
        return new PandaFuzzCrash(id, true, listed, Since(first.FoundAt), polled, Since(job?.StartedAt), first.Kind, first.Id, fuzzerShare,
            nodeCpu / listed);
    }

    /// <summary>Stops the campaign and waits until it has ended and none of its processes is left (bounded).</summary>
    private static async Task StopAndWaitAsync(NodeProcess node, ApiClient api, string botId, string campaignId, CancellationToken cancellationToken)
    {
        try
        {
            await api.StopCampaignAsync(campaignId, cancellationToken);
        }
        catch (ApiException)
        {
            // Already ended (409).
        }

        var jobsDir = Path.Combine(node.DataDir, "bot", "jobs");
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < IdleLimit)
        {
            var campaign = await api.GetCampaignAsync(campaignId, cancellationToken);
            var processes = Cpu.FindByCommandLine(jobsDir);
            var bot = await api.GetJsonAsync<JsonElement>($"api/v1/bots/{Uri.EscapeDataString(botId)}", cancellationToken);
            var busy = bot.TryGetProperty("currentJobs", out var jobs) && jobs.ValueKind == JsonValueKind.Array && jobs.GetArrayLength() > 0;
            if (campaign.Status is "stopped" or "completed" && processes.Count == 0 && !busy)
            {
                return;
            }

            last = $"campaign '{campaign.Status}', {processes.Count} job process(es), bot busy: {busy}";
            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"Campaign {campaignId} had not ended {IdleLimit.TotalSeconds:0} s after it was stopped: {last}.\n{node.LogTail(20)}");
    }

    /// <summary><c>clang -g -O1 -fsanitize=fuzzer,address</c>: a libFuzzer build as tests/targets/README.md builds them for a bot.</summary>
    public static async Task<string> BuildLibFuzzerAsync(string source, string output, CancellationToken cancellationToken, IReadOnlyList<string>? defines = null) =>
        await CompileAsync("clang", ["-g", "-O1", "-fsanitize=fuzzer,address", .. defines ?? [], source, "-o", output], null, cancellationToken);

    /// <summary><c>AFL_USE_ASAN=1 afl-clang-fast -g -O1 -fsanitize=fuzzer</c>: an AFL++ build with ASan, as tests/targets/README.md builds them.</summary>
    public static async Task<string> BuildAflAsync(string source, string output, CancellationToken cancellationToken, IReadOnlyList<string>? defines = null) =>
        "AFL_USE_ASAN=1 " + await CompileAsync("afl-clang-fast", ["-g", "-O1", "-fsanitize=fuzzer", .. defines ?? [], source, "-o", output],
            new Dictionary<string, string> { ["AFL_USE_ASAN"] = "1", ["AFL_QUIET"] = "1" }, cancellationToken);

    private static async Task<string> CompileAsync(string compiler, string[] arguments, Dictionary<string, string>? environment, CancellationToken cancellationToken)
    {
        var command = ProcessRunner.Describe(compiler, arguments);
        var result = await ProcessRunner.RunAsync(compiler, arguments, TimeSpan.FromMinutes(3), cancellationToken, Path.GetDirectoryName(arguments[^1]), environment);
        if (!result.Succeeded || !File.Exists(arguments[^1]))
        {
            throw new InvalidOperationException($"`{command}` failed (exit {result.ExitCode}{(result.TimedOut ? ", killed at the time limit" : "")}):\n{result.Tail()}");
        }

        return command;
    }

    private static string Found(bool found, double seconds) => found ? $"{seconds,8:0.000} s to the first crash" : $"no crash within {seconds:0} s";

    /// <summary>Below this share of its core, a libFuzzer run was disturbed by another process (a noisy machine).</summary>
    private const double DisturbedBelow = 0.9;

    private static string CpuNote(string what, double? share) => share is { } value ? $", {what} CPU {value:P0}" : "";

    private static string PairName(int pair) => pair == 0 ? "warm-up" : $"pair {pair}";
}
