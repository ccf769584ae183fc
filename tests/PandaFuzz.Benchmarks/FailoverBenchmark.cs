using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace PandaFuzz.Benchmarks;

/// <summary>One series of failover trials: a cluster (master + two bots) started with these settings over the shipped ones.</summary>
/// <param name="Settings">HOCON lines given to every node in a PANDAFUZZ_CONFIG file; none for the shipped settings.</param>
public sealed record FailoverSeries(string Name, IReadOnlyList<string> Settings);

/// <summary>
/// One trial: the bot running the job (and its fuzzer) SIGKILLed; <see cref="FuzzerRunningSeconds"/> is from that kill to the
/// start of the job's new fuzzer process on the other bot (<c>/proc/&lt;pid&gt;/stat</c> start time, 10 ms resolution).
/// </summary>
/// <param name="ApiRunningSeconds">From the kill until <c>GET /api/v1/jobs/{id}</c> was first seen running on the other bot (polled every 250 ms).</param>
/// <param name="JobStartedSeconds">From the kill to the job's <c>startedAt</c> on the other bot (the master's clock: the bot's confirmation).</param>
/// <param name="Phases">Seconds from the kill to the first node log line of each phase (see <see cref="FailoverBenchmark.PhaseNames"/>).</param>
/// <param name="KilledProcesses">The victim's node and its fuzzer processes, all killed at once.</param>
/// <param name="SurvivorRanJobsBefore">Whether the bot the job moved to had run a job before (target cached, code warm).</param>
public sealed record FailoverTrial(
    string Series,
    int Trial,
    string JobId,
    string VictimBot,
    string SurvivorBot,
    DateTimeOffset KilledAt,
    int KilledProcesses,
    double? FuzzerRunningSeconds,
    int? FuzzerPid,
    double? ApiRunningSeconds,
    double? JobStartedSeconds,
    IReadOnlyDictionary<string, double?> Phases,
    bool SurvivorRanJobsBefore,
    string? Error);

/// <summary>A bot's node frozen for <paramref name="PauseSeconds"/>: whether the master marked it unreachable, and downed it.</summary>
/// <param name="BackOnlineSeconds">For a downed bot: from the end of the freeze until it was online again (a fresh actor system).</param>
public sealed record PauseProbe(string Series, int PauseSeconds, bool Unreachable, bool Downed, double? BackOnlineSeconds);

/// <summary>
/// Failover of a lost bot: a master-only node and two bot-only nodes (separate processes on 127.0.0.1), one campaign per
/// trial with one long libFuzzer job; the bot running it dies as a machine does (its node process and its fuzzer's
/// process group SIGKILLed at once), and the clock runs until the job's fuzzer process runs on the other bot. A fresh bot
/// then joins so the next trial has two bots again. Two series: the shipped settings and shorter failure detection and
/// downing (or the --set ones).
/// </summary>
public sealed class FailoverBenchmark(BenchmarkOptions options, Workspace workspace)
{
    public const double GoalSeconds = 15;

    /// <summary>The second series when no --set is given: unreachable after ~3 s instead of ~5 s, downed 2 s later instead of 5 s.</summary>
    public static readonly IReadOnlyList<string> ShorterSettings =
    [
        "akka.cluster.failure-detector.acceptable-heartbeat-pause = 2s",
        "pandafuzz.cluster.downing.stable-after = 2s",
    ];

    /// <summary>The phases read from the node logs, in order.</summary>
    public static readonly IReadOnlyList<string> PhaseNames =
        ["unreachable", "downed", "bot lost", "job requeued", "job assigned", "job started on bot", "fuzzer process", "job running (API)", "member removed"];

    /// <summary>How long a bot's node is frozen (SIGSTOP, then SIGCONT) to see whether the master downs it: a GC pause or a starved VM.</summary>
    public static readonly IReadOnlyList<int> PauseSeconds = [4, 8];

    private const int JobDurationSeconds = 3600;
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan FailoverLimit = TimeSpan.FromSeconds(120);
    private static readonly string[] Wrappers = ["sh", "setsid", "prlimit", "unshare", "setpriv", "bwrap", "taskset"];
    private static readonly Regex LogTime = new(@"^\[(?:out|err)\] \[(\d\d:\d\d:\d\d\.\d{3}) ", RegexOptions.Compiled);

    private string? _targetId;
    private string _binDir = "";
    private int _botsStarted;
    private readonly HashSet<string> _botsThatRanJobs = [];
    private readonly List<PauseProbe> _pauses = [];

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        Toolchain.Require(["clang", "pkill"]);
        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        var series = new List<FailoverSeries>
        {
            new("shipped", []),
            new(options.ConfigOverrides.Count > 0 ? "--set" : "shorter", options.ConfigOverrides.Count > 0 ? options.ConfigOverrides : ShorterSettings),
        };
        Console.WriteLine($"failover: {options.Rounds} trials per series ({string.Join(", ", series.Select(s => s.Name))}): a master-only node, two bot-only nodes; " +
                          "the bot running a long libFuzzer job is SIGKILLed with its fuzzer; time until the job's fuzzer runs on the other bot");
        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");
        Console.WriteLine($"load average before: {LoadAverage()}");

        var source = options.TargetSource ?? Path.Combine(RepoLayout.TargetSources, "no_bug.c");
        var target = Path.Combine(workspace.Dir("targets"), Path.GetFileNameWithoutExtension(source) + "_libfuzzer");
        string[] compile = ["-O1", "-fsanitize=fuzzer", source, "-o", target];
        var build = await ProcessRunner.RunAsync("clang", compile, TimeSpan.FromMinutes(3), cancellationToken, workspace.Dir("targets"));
        if (!build.Succeeded)
        {
            throw new InvalidOperationException($"clang {string.Join(' ', compile)} failed:\n{build.Tail()}");
        }

        _binDir = Path.Combine(workspace.Root, "node-bin");
        var trials = new List<FailoverTrial>();
        var commands = new List<string> { ProcessRunner.Describe("clang", compile) };
        foreach (var s in series)
        {
            trials.AddRange(await RunSeriesAsync(s, await File.ReadAllBytesAsync(target, cancellationToken), commands, cancellationToken));
        }

        // Summary: per series, every measure as median (min-max) over the trials that measured it.
        Console.WriteLine();
        Console.WriteLine($"failover after a bot's SIGKILL, seconds from the kill, median (min-max) over {options.Rounds} trials per series:");
        var measures = new List<string> { "fuzzer running on the other bot" };
        measures.AddRange(PhaseNames);
        var rows = new List<string[]>();
        var summary = new List<object>();
        foreach (var measure in measures)
        {
            var row = new List<string> { measure };
            foreach (var s in series)
            {
                var values = Values(trials, s.Name, measure);
                row.Add(Range(values));
                summary.Add(new { series = s.Name, measure, trials = values.Count, median = Summary.Median(values), min = MinOrNaN(values), max = MaxOrNaN(values) });
            }

            var shipped = Values(trials, "shipped", measure);
            row.Add(measure == measures[0] ? $"<= {GoalSeconds:0} s {(Summary.Median(shipped) <= GoalSeconds ? "MET" : "MISSED")}" : "-");
            rows.Add([.. row]);
        }

        PrintTable(["measure", .. series.Select(s => $"{s.Name} (s)"), "goal (shipped)"], rows);
        foreach (var s in series.Where(s => s.Settings.Count > 0))
        {
            Console.WriteLine($"{s.Name}: {string.Join("; ", s.Settings)}");
        }

        Console.WriteLine();
        Console.WriteLine("a bot's node frozen (SIGSTOP/SIGCONT, its fuzzer running on): was it downed?");
        PrintTable(["frozen for", .. series.Select(s => s.Name)],
        [
            .. PauseSeconds.Select(p => new[] { $"{p} s" }.Concat(series.Select(s => _pauses.FirstOrDefault(x => x.Series == s.Name && x.PauseSeconds == p) is { } probe
                ? probe.Downed ? "DOWNED" : probe.Unreachable ? "unreachable, not downed" : "reachable"
                : "n/a")).ToArray()),
        ]);

        var median = Summary.Median(Values(trials, "shipped", measures[0]));
        var met = median <= GoalSeconds;
        var path = Summary.WriteJson(new
        {
            benchmark = BenchmarkOptions.Failover,
            mode = options.Mode,
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            settings = new
            {
                trialsPerSeries = options.Rounds,
                series,
                jobDurationSeconds = JobDurationSeconds,
                goalSeconds = GoalSeconds,
                kill = "SIGKILL of the bot node's process and of every process of its fuzzers' process groups, at once (a machine dying)",
                fuzzerStart = "start time (/proc/<pid>/stat field 22) of the first process on the other bot running the job's libFuzzer target",
            },
            machine,
            loadAverageAfter = LoadAverage(),
            commands,
            summary,
            // The suite's rows: failover with the shipped settings judged on its goal; the other series beside it.
            measures = series.Select(x => Summary.Bounded($"failover: kill -9 -> job fuzzing on another bot ({x.Name})", "s", Values(trials, x.Name, measures[0]), null,
                x.Name == "shipped" ? GoalSeconds : null, atMost: true, x.Settings.Count == 0 ? "shipped failure-detector and downing settings" : string.Join("; ", x.Settings))),
            trials,
            pauses = _pauses,
            problems = workspace.Problems,
        }, options.OutputDir, BenchmarkOptions.Failover, startedAt);
        Console.WriteLine($"goal: median failover with the shipped settings <= {GoalSeconds:0} s: {Summary.Number(median)} s, {(met ? "MET" : "MISSED")}");
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();
        return workspace.Problems.Count > 0 || trials.Any(t => t.Error is not null) ? 2 : met ? 0 : 1;
    }

    private async Task<List<FailoverTrial>> RunSeriesAsync(FailoverSeries series, byte[] target, List<string> commands, CancellationToken cancellationToken)
    {
        Console.WriteLine();
        Console.WriteLine($"series {series.Name}: {(series.Settings.Count == 0 ? "the shipped settings" : string.Join("; ", series.Settings))}");
        var root = workspace.Dir(series.Name);
        var environment = new Dictionary<string, string> { ["PANDAFUZZ_CMD"] = "off" };
        if (series.Settings.Count > 0)
        {
            var file = Path.Combine(root, "failover.conf");
            await File.WriteAllLinesAsync(file, series.Settings, cancellationToken);
            environment["PANDAFUZZ_CONFIG"] = file;
        }

        var cores = Cpu.Online();
        var trials = new List<FailoverTrial>();
        await using var master = NodeProcess.Start(options.NodeBuildDir, workspace.Dir(series.Name, "master"), cores, "master", environment: environment, binDir: _binDir);
        commands.Add(master.Command);
        var bots = new List<NodeProcess>();
        try
        {
            using var api = new ApiClient(master.BaseAddress);
            var deadline = DateTime.UtcNow + StartLimit;
            while (!await api.IsReadyAsync(cancellationToken))
            {
                master.EnsureRunning();
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"the master was not ready within {StartLimit.TotalSeconds:0} s\n{master.LogTail()}");
                }

                await Task.Delay(200, cancellationToken);
            }

            _targetId = await api.UploadTargetAsync("failover-no_bug", target, cancellationToken);
            bots.Add(StartBot(series, master, environment, cores));
            bots.Add(StartBot(series, master, environment, cores));
            commands.Add(bots[0].Command);
            for (var trial = 1; trial <= options.Rounds; trial++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = await TrialAsync(series, trial, master, api, bots, environment, cores, cancellationToken);
                trials.Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  trial {trial}/{options.Rounds}: fuzzer running on the other bot after {Show(result.FuzzerRunningSeconds)} s (API: running {Show(result.ApiRunningSeconds)} s, ") +
                    $"startedAt {Show(result.JobStartedSeconds)} s); phases: " +
                    string.Join(", ", result.Phases.Select(p => $"{p.Key} {Show(p.Value)}")) +
                    (result.SurvivorRanJobsBefore ? "" : "; the other bot ran its first job") +
                    (result.Error is null ? "" : $"; FAILED: {result.Error}"));
                if (result.Error is not null)
                {
                    workspace.Failed = true;
                    workspace.Problem($"{series.Name} trial {trial}: {result.Error}");
                    return trials;
                }
            }

            foreach (var (pause, index) in PauseSeconds.Select((p, i) => (p, i)))
            {
                // Each freeze on another bot: the phi accrual detector learns from the intervals it saw, so a bot frozen once
                // before is given more slack the next time.
                var probe = await PauseAsync(series, pause, master, api, bots, bots[index % bots.Count], cancellationToken);
                _pauses.Add(probe);
                Console.WriteLine($"  bot node frozen {pause} s: {(probe.Unreachable ? "marked unreachable" : "stayed reachable")}, " +
                                  (probe.Downed ? $"DOWNED (it restarted its actor system: online again {Show(probe.BackOnlineSeconds)} s after the freeze ended)" : "not downed"));
            }
        }
        finally
        {
            foreach (var bot in bots)
            {
                await bot.DisposeAsync();
            }
        }

        return trials;
    }

    /// <summary>
    /// The price of short settings: a bot's node frozen for <paramref name="pause"/> (SIGSTOP, SIGCONT; its fuzzer runs on, as
    /// in a long GC pause or on a starved VM), then whether the master marked it unreachable and whether it downed it. A downed
    /// bot stops its jobs and joins again with a fresh actor system; the probe waits for it to be back online.
    /// </summary>
    private static async Task<PauseProbe> PauseAsync(
        FailoverSeries series, int pause, NodeProcess master, ApiClient api, List<NodeProcess> bots, NodeProcess frozen, CancellationToken cancellationToken)
    {
        void AllRunning()
        {
            master.EnsureRunning();
            foreach (var bot in bots)
            {
                bot.EnsureRunning();
            }
        }

        await OnlineBotsAsync(api, bots, AllRunning, cancellationToken);
        var from = LogLength(master);
        var pid = frozen.Pid.ToString(CultureInfo.InvariantCulture);
        await ProcessRunner.RunAsync("kill", ["-STOP", pid], TimeSpan.FromSeconds(10), cancellationToken);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(pause), cancellationToken);
        }
        finally
        {
            await ProcessRunner.RunAsync("kill", ["-CONT", pid], TimeSpan.FromSeconds(10), CancellationToken.None);
        }

        // Heartbeats resume within a second or two; a downing decided before that shows within this wait.
        await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
        var lines = LogSince(master, from);
        var unreachable = lines.Any(l => l.Contains("Marking node(s) as UNREACHABLE", StringComparison.Ordinal) && l.Contains(frozen.RemoteEndpoint, StringComparison.Ordinal));
        var downed = lines.Any(l => l.Contains("Downing ", StringComparison.Ordinal) && l.Contains(frozen.RemoteEndpoint, StringComparison.Ordinal));
        double? back = null;
        if (downed)
        {
            var clock = Stopwatch.StartNew();
            await OnlineBotsAsync(api, bots, AllRunning, cancellationToken);
            back = Math.Round(clock.Elapsed.TotalSeconds + 5, 1);
        }

        return new PauseProbe(series.Name, pause, unreachable, downed, back);
    }

    private NodeProcess StartBot(FailoverSeries series, NodeProcess master, Dictionary<string, string> environment, IReadOnlyCollection<int> cores)
    {
        var name = $"bot-{++_botsStarted}";
        var root = workspace.Dir(series.Name, name);
        return NodeProcess.Start(options.NodeBuildDir, root, cores, "bot", Path.Combine(root, "data"), master.RemoteEndpoint, environment, _binDir);
    }

    private async Task<FailoverTrial> TrialAsync(
        FailoverSeries series, int trial, NodeProcess master, ApiClient api, List<NodeProcess> bots, Dictionary<string, string> environment,
        IReadOnlyCollection<int> cores, CancellationToken cancellationToken)
    {
        void AllRunning()
        {
            master.EnsureRunning();
            foreach (var bot in bots)
            {
                bot.EnsureRunning();
            }
        }

        var jobId = "";
        NodeProcess? killed = null;
        try
        {
            // Arrange: both bots online, a campaign of one long job, running with stats on one of them.
            var online = await OnlineBotsAsync(api, bots, AllRunning, cancellationToken);
            var campaignId = await api.CreateCampaignAsync(new
            {
                name = $"failover-{series.Name}-{trial}",
                targetId = _targetId,
                engine = "libfuzzer",
                jobs = 1,
                durationSeconds = JobDurationSeconds,
                memoryLimitMb = 2048,
                timeoutMs = 1000,
            }, cancellationToken);
            var running = await UntilAsync("the job runs with stats", StartLimit, AllRunning, async () =>
            {
                var campaign = await api.GetCampaignAsync(campaignId, cancellationToken);
                if (campaign.Jobs is not [var job])
                {
                    return null;
                }

                jobId = job.Id;
                var view = await GetJobAsync(api, job.Id, cancellationToken);
                return view is { State: "running", BotId: not null, Stats.Execs: > 0 } ? view : null;
            }, cancellationToken);
            var victimBot = online.Single(b => b.Id == running.BotId);
            var survivorBot = online.Single(b => b.Id != running.BotId);
            var victim = bots.Single(n => n.RemoteEndpoint == victimBot.Address);
            var survivor = bots.Single(n => n.RemoteEndpoint == survivorBot.Address);
            var survivorRanJobs = _botsThatRanJobs.Contains(survivorBot.Id);
            _botsThatRanJobs.Add(victimBot.Id);
            if (Fuzzers(victim.DataDir).Count == 0)
            {
                throw new InvalidOperationException($"the job runs on {victimBot.Id} by the API, but no libFuzzer process has {victim.DataDir} on its command line");
            }

            var masterLogFrom = LogLength(master);
            var survivorLogFrom = LogLength(survivor);

            // Act: the machine dies. Its node and every process of its fuzzers' groups get SIGKILL back to back (microseconds).
            var doomed = Doomed(victim);
            var killedAt = DateTimeOffset.Now;
            var killedBoot = BootSeconds();
            var clock = Stopwatch.StartNew();
            foreach (var pid in doomed)
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill(entireProcessTree: false);
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
                {
                    // Gone already (a wrapper that exec'd on, or a fuzzer that ended just now).
                }
            }

            bots.Remove(victim);
            killed = victim;
            // Measure: poll /proc (100 ms) for the job's fuzzer on the other bot, and the API (250 ms) for the job running there.
            FuzzerProcess? fuzzer = null;
            double? apiRunning = null;
            double? jobStarted = null;
            var nextApi = TimeSpan.Zero;
            string? leftover = null;
            while (fuzzer is null || apiRunning is null)
            {
                AllRunning();
                if (clock.Elapsed > FailoverLimit)
                {
                    throw new TimeoutException($"the job did not run on the other bot within {FailoverLimit.TotalSeconds:0} s of the kill " +
                                               $"(fuzzer process {(fuzzer is null ? "not seen" : "seen")}, API {(apiRunning is null ? "not running there" : "running")})\n{master.LogTail()}");
                }

                if (leftover is null && clock.Elapsed > TimeSpan.FromSeconds(1) && Cpu.FindByCommandLine(victim.DataDir) is [var (pid, line), ..])
                {
                    leftover = $"a process of the killed bot still runs 1 s after the kill: {pid} {line}";
                }

                fuzzer ??= Fuzzers(survivor.DataDir).Where(f => f.StartedBootSeconds >= killedBoot - 0.01).OrderBy(f => f.StartedBootSeconds).FirstOrDefault();
                if (apiRunning is null && clock.Elapsed >= nextApi)
                {
                    nextApi = clock.Elapsed + TimeSpan.FromMilliseconds(250);
                    var view = await GetJobAsync(api, jobId, cancellationToken);
                    if (view is { State: "running" } && view.BotId == survivorBot.Id)
                    {
                        apiRunning = clock.Elapsed.TotalSeconds;
                        jobStarted = view.StartedAt is { } started ? (started - killedAt).TotalSeconds : null;
                    }
                }

                await Task.Delay(100, cancellationToken);
            }

            if (leftover is not null)
            {
                workspace.Problem($"{series.Name} trial {trial}: {leftover}");
            }

            var fuzzerSeconds = fuzzer.StartedBootSeconds - killedBoot;
            _botsThatRanJobs.Add(survivorBot.Id);
            // Clean up for the next trial: the campaign stopped (its fuzzer ends), the dead bot's leftovers gone, a fresh bot in its place.
            await api.StopCampaignAsync(campaignId, cancellationToken);
            bots.Add(StartBot(series, master, environment, cores));
            await UntilAsync("the stopped job's fuzzer ends", TimeSpan.FromSeconds(60), AllRunning,
                () => Task.FromResult(Fuzzers(survivor.DataDir).Count == 0 ? "" : null), cancellationToken);

            // Read once the cluster has also removed the dead node (a leader action a second or two after it was downed).
            // Informational: if it never comes, the phase stays n/a.
            for (var wait = Stopwatch.StartNew(); wait.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(250, cancellationToken))
            {
                if (LogSince(master, masterLogFrom).Any(l => l.Contains("Member removed [", StringComparison.Ordinal) && l.Contains(victim.RemoteEndpoint, StringComparison.Ordinal)))
                {
                    break;
                }
            }

            var phases = Phases(master, masterLogFrom, survivor, survivorLogFrom, killedAt, victim.RemoteEndpoint, victimBot.Id, survivorBot.Id, jobId);
            phases["fuzzer process"] = Math.Round(fuzzerSeconds, 3);
            phases["job running (API)"] = Math.Round(apiRunning.Value, 3);
            return new FailoverTrial(series.Name, trial, jobId, victimBot.Id, survivorBot.Id, killedAt.ToUniversalTime(), doomed.Count, Math.Round(fuzzerSeconds, 3),
                fuzzer.Pid, Math.Round(apiRunning.Value, 3), jobStarted is { } s ? Math.Round(s, 3) : null, phases, survivorRanJobs, null);
        }
        catch (Exception ex) when (ex is TimeoutException or ApiException or HttpRequestException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            return new FailoverTrial(series.Name, trial, jobId, "", "", DateTimeOffset.UtcNow, 0, null, null, null, null, new Dictionary<string, double?>(), false,
                ex.Message.Split('\n')[0]);
        }
        finally
        {
            if (killed is not null)
            {
                // Dead already: this closes its log and SIGKILLs anything still naming its data dir.
                await killed.DisposeAsync();
            }
        }
    }

    /// <summary>Seconds from the kill to the first line of each phase in the master's and the survivor's logs (written after the kill).</summary>
    private static Dictionary<string, double?> Phases(
        NodeProcess master, long masterFrom, NodeProcess survivor, long survivorFrom, DateTimeOffset killedAt, string victimAddress, string victimBot,
        string survivorBot, string jobId)
    {
        var masterLines = LogSince(master, masterFrom);
        var survivorLines = LogSince(survivor, survivorFrom);
        double? First(IEnumerable<string> lines, Func<string, bool> matches)
        {
            foreach (var line in lines)
            {
                if (matches(line) && LogTime.Match(line) is { Success: true } m)
                {
                    var time = TimeOnly.ParseExact(m.Groups[1].Value, "HH:mm:ss.fff", CultureInfo.InvariantCulture);
                    var at = killedAt.Date + time.ToTimeSpan();
                    // A line from just before midnight, or just after it.
                    var seconds = (at - killedAt.DateTime).TotalSeconds;
                    seconds += seconds > 43_200 ? -86_400 : seconds < -43_200 ? 86_400 : 0;
                    return Math.Round(seconds, 3);
                }
            }

            return null;
        }

        bool Has(string line, params string[] parts) => parts.All(p => line.Contains(p, StringComparison.Ordinal));
        return new Dictionary<string, double?>
        {
            // The scheduler logs the reachability event as it arrives; the downing actor logs it at its next tick.
            ["unreachable"] = First(masterLines, l => Has(l, "Marking node(s) as UNREACHABLE", victimAddress)),
            ["downed"] = First(masterLines, l => Has(l, "Downing", victimAddress)),
            ["bot lost"] = First(masterLines, l => Has(l, victimBot, "is lost")),
            ["job requeued"] = First(masterLines, l => Has(l, jobId, "back to pending")),
            ["job assigned"] = First(masterLines, l => Has(l, jobId, "assigned to bot", survivorBot)),
            ["job started on bot"] = First(survivorLines, l => Has(l, jobId) && (l.Contains(" starts from ", StringComparison.Ordinal) || l.Contains("starts without", StringComparison.Ordinal))),
            // Not on the job's path (the scheduler moves jobs when the member is downed): when the cluster has forgotten the node.
            ["member removed"] = First(masterLines, l => Has(l, "Member removed [", victimAddress)),
        };
    }

    private sealed record FuzzerProcess(int Pid, double StartedBootSeconds, int ProcessGroup);

    /// <summary>The libFuzzer target processes under <paramref name="dataDir"/> (not the sandbox's wrappers that carry its command line too).</summary>
    private static List<FuzzerProcess> Fuzzers(string dataDir)
    {
        var found = new List<FuzzerProcess>();
        foreach (var (pid, commandLine) in Cpu.FindByCommandLine(dataDir))
        {
            var program = Path.GetFileName(commandLine.Split(' ', 2)[0]);
            if (!commandLine.Contains(" -max_total_time=", StringComparison.Ordinal) || Wrappers.Contains(program) || Stat(pid) is not { } stat)
            {
                continue;
            }

            found.Add(new FuzzerProcess(pid, stat.StartTicks / Cpu.ClockTicks, stat.ProcessGroup));
        }

        return found;
    }

    /// <summary>What a machine's death takes: the node and every process of the groups of the processes working under its data dir.</summary>
    private static List<int> Doomed(NodeProcess bot)
    {
        var groups = Cpu.FindByCommandLine(bot.DataDir).Select(p => Stat(p.Pid)?.ProcessGroup).OfType<int>().Where(g => g > 1).ToHashSet();
        var pids = new List<int> { bot.Pid };
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid != bot.Pid
                && (Stat(pid) is { } stat && groups.Contains(stat.ProcessGroup)))
            {
                pids.Add(pid);
            }
        }

        pids.AddRange(Cpu.FindByCommandLine(bot.DataDir).Select(p => p.Pid).Where(p => !pids.Contains(p)));
        return pids;
    }

    /// <summary>Process group (field 5) and start time in clock ticks since boot (field 22) of /proc/&lt;pid&gt;/stat.</summary>
    private static (int ProcessGroup, long StartTicks)? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (int.Parse(fields[2], CultureInfo.InvariantCulture), long.Parse(fields[19], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private const int ClockBootTime = 7;

    [DllImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static extern int ClockGetTime(int clock, out Timespec time);

    /// <summary>Seconds since boot on the clock /proc/&lt;pid&gt;/stat's start times count on (CLOCK_BOOTTIME).</summary>
    private static double BootSeconds() =>
        ClockGetTime(ClockBootTime, out var time) == 0
            ? time.Seconds + time.Nanoseconds / 1e9
            : throw new InvalidOperationException($"clock_gettime(CLOCK_BOOTTIME) failed: errno {Marshal.GetLastPInvokeError()}");

    /// <summary>An item of <c>GET /api/v1/bots</c> with the address the bot's node has in the cluster.</summary>
    private sealed record BotAddress(string Id, string? Address, string State);

    /// <summary><c>GET /api/v1/jobs/{id}</c>, the fields read here.</summary>
    private sealed record JobDetail(string Id, string State, string? BotId, DateTimeOffset? AssignedAt, DateTimeOffset? StartedAt, JobStats? Stats);

    private static async Task<JobDetail?> GetJobAsync(ApiClient api, string jobId, CancellationToken cancellationToken)
    {
        try
        {
            var job = await api.GetJsonAsync<JobDetail>($"api/v1/jobs/{Uri.EscapeDataString(jobId)}", cancellationToken);
            return job with { State = job.State.ToLowerInvariant() };
        }
        catch (Exception ex) when (ex is ApiException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // An ask that timed out while the master is busy: asked again at the next poll.
            return null;
        }
    }

    /// <summary>Waits until a bot of each of <paramref name="bots"/> is online (the API lists the dead ones too, offline).</summary>
    private static Task<List<BotAddress>> OnlineBotsAsync(ApiClient api, List<NodeProcess> bots, Action guard, CancellationToken cancellationToken) =>
        UntilAsync($"{bots.Count} bots online", StartLimit, guard, async () =>
        {
            var listed = await api.GetJsonAsync<List<BotAddress>>("api/v1/bots", cancellationToken);
            var online = listed.Where(b => string.Equals(b.State, "online", StringComparison.OrdinalIgnoreCase) && bots.Any(n => n.RemoteEndpoint == b.Address)).ToList();
            return online.Count == bots.Count ? online : null;
        }, cancellationToken);

    private static async Task<T> UntilAsync<T>(string what, TimeSpan limit, Action guard, Func<Task<T?>> probe, CancellationToken cancellationToken)
        where T : class
    {
        var deadline = DateTime.UtcNow + limit;
        var last = "";
        while (true)
        {
            guard();
            try
            {
                if (await probe() is { } value)
                {
                    return value;
                }
            }
            catch (Exception ex) when (ex is ApiException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = $": {ex.Message}";
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not so within {limit.TotalSeconds:0} s: {what}{last}");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    private static long LogLength(NodeProcess node) => new FileInfo(node.LogPath).Length;

    private static List<string> LogSince(NodeProcess node, long offset)
    {
        using var stream = new FileStream(node.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        stream.Seek(offset, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        return [.. reader.ReadToEnd().Split('\n')];
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static List<double> Values(List<FailoverTrial> trials, string series, string measure) =>
    [
        .. trials.Where(t => t.Series == series && t.Error is null)
            .Select(t => measure == "fuzzer running on the other bot" ? t.FuzzerRunningSeconds : t.Phases.GetValueOrDefault(measure))
            .Where(v => v is not null).Select(v => v!.Value),
    ];

    private static double MinOrNaN(List<double> values) => values.Count == 0 ? double.NaN : values.Min();

    private static double MaxOrNaN(List<double> values) => values.Count == 0 ? double.NaN : values.Max();

    private static string Range(List<double> values) =>
        values.Count == 0
            ? "n/a"
            : string.Create(CultureInfo.InvariantCulture, $"{Summary.Median(values):0.00} ({values.Min():0.00}-{values.Max():0.00})");

    private static string Show(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";

    private static void PrintTable(string[] header, List<string[]> rows) => Console.Write(Summary.FixedWidth(header, rows));
}
