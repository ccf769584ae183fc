using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PandaFuzz.Benchmarks;

/// <summary>
/// One submission, every time in milliseconds after the moment just before <c>POST /api/v1/campaigns</c> was sent.
/// </summary>
/// <param name="PostMs">The POST's round trip (its 201 answer received).</param>
/// <param name="CreatedMs">The campaign's createdAt (master's clock).</param>
/// <param name="AssignedMs">jobs[0].assignedAt: the scheduler gave the job to the bot.</param>
/// <param name="StartedMs">jobs[0].startedAt: the bot confirmed that it starts the job.</param>
/// <param name="LauncherStartMs">Start of the first process of the job's launch chain (setsid/cgroup/prlimit/setpriv/bwrap), /proc starttime.</param>
/// <param name="FuzzerStartMs">Start of the fuzzer itself (argv[0] = the job's target), /proc starttime: the measure.</param>
/// <param name="SeenMs">When this program's /proc scan first saw the fuzzer (an upper bound, depends on the scan interval).</param>
/// <param name="NewTarget">The campaign's target was uploaded just before (out of the clock) and never ran on the bot: the bot fetches it from the master.</param>
public sealed record SchedulingSample(
    int Submission,
    bool NewTarget,
    string CampaignId,
    string JobId,
    double PostMs,
    double? CreatedMs,
    double? AssignedMs,
    double? StartedMs,
    double? LauncherStartMs,
    double? FuzzerStartMs,
    double? SeenMs,
    int? FuzzerPid,
    string? Error);

/// <summary>Percentiles of one measure over the submissions (nearest rank).</summary>
public sealed record LatencySummary(string Measure, int Count, double P50, double P90, double P99, double Max, double? GoalP50, double? GoalP99, bool? GoalMet, string Note);

/// <summary>
/// Scheduling latency: HTTP submit of a 1-job campaign → its fuzzer process started on the bot of an all-in-one node,
/// one submission at a time into a free slot, the start read from /proc so that it does not depend on polling.
/// </summary>
public sealed class SchedulingBenchmark(BenchmarkOptions options, Workspace workspace)
{
    public const double GoalP50Ms = 100;
    public const double GoalP99Ms = 500;

    private const int WarmUps = 5;

    /// <summary>Each campaign's duration: it is stopped as soon as its fuzzer is seen, this only bounds a stop that fails.</summary>
    private const int CampaignSeconds = 60;

    private static readonly TimeSpan ScanInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan IdleLimit = TimeSpan.FromSeconds(60);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        Toolchain.Require(["clang", "taskset"]);
        var online = Cpu.Online();
        if (options.Cores.Any(c => !online.Contains(c)))
        {
            throw new UsageException($"--cores {Cpu.Format(options.Cores)}: not all online here (online: {Cpu.Format(online)}).");
        }

        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        var source = options.TargetSource ?? Path.Combine(RepoLayout.TargetSources, "no_bug.c");
        Console.WriteLine($"scheduling: {options.Rounds} submissions (+{WarmUps} unmeasured), 1 libFuzzer job each, node on cores {Cpu.Format(options.Cores)}, harness {source}");
        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");
        Console.WriteLine($"clock: /proc/<pid>/stat starttime, {ProcessClock.TicksPerSecond:0} ticks/s (resolution {ProcessClock.Resolution.TotalMilliseconds:0} ms, truncated), " +
                          "against clock_gettime(CLOCK_BOOTTIME) read just before the POST");
        var target = Path.Combine(workspace.Dir("targets"), Path.GetFileNameWithoutExtension(source) + "_libfuzzer_asan");
        var build = await FirstCrashBenchmark.BuildLibFuzzerAsync(source, target, cancellationToken);
        Console.WriteLine($"built: {build}");

        var samples = new List<SchedulingSample>();
        string nodeCommand;
        await using (var node = NodeProcess.Start(options.NodeBuildDir, workspace.Root, options.Cores))
        {
            nodeCommand = node.Command;
            using var api = new ApiClient(node.BaseAddress);
            var bot = await node.WaitReadyAsync(api, ["libfuzzer"], 1, TimeSpan.FromSeconds(120), cancellationToken);
            Console.WriteLine($"node: pid {node.Pid}, {node.BaseAddress}, bot {bot.Id} with {bot.Capabilities?.Slots} slot(s); log {node.LogPath}");
            var binary = await File.ReadAllBytesAsync(target, cancellationToken);
            var targetId = await api.UploadTargetAsync("scheduling-no-bug", binary, cancellationToken);

            for (var i = 1 - WarmUps; i <= options.Rounds; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Every other submission runs a target the bot has never seen (the same binary with a distinct tail, which the
                // loader ignores; uploaded before the clock starts), so the bot's target fetch from the master is measured too.
                var newTarget = i % 2 == 0;
                var id = newTarget
                    ? await api.UploadTargetAsync($"scheduling-no-bug-{i.ToString(CultureInfo.InvariantCulture)}", [.. binary, .. BitConverter.GetBytes((long)i)], cancellationToken)
                    : targetId;
                var sample = await SubmitOnceAsync(i, newTarget, node, api, bot.Id, id, cancellationToken);
                if (i <= 0)
                {
                    if (sample.Error is not null)
                    {
                        throw new InvalidOperationException($"Warm-up submission failed: {sample.Error}");
                    }

                    continue;
                }

                samples.Add(sample);
                if (sample.Error is not null)
                {
                    workspace.Problem($"submission {i}: {sample.Error}");
                }
                else if (i % 10 == 0 || i == options.Rounds)
                {
                    var ok = samples.Where(s => s.FuzzerStartMs is not null).Select(s => s.FuzzerStartMs!.Value).ToList();
                    Console.WriteLine($"  [{i}/{options.Rounds}] submit → fuzzer started: this {sample.FuzzerStartMs:0} ms, so far p50 {Percentile(ok, 50):0} ms, max {ok.Max():0} ms");
                }
            }
        }

        var done = samples.Where(s => s.Error is null).ToList();
        List<LatencySummary> summaries =
        [
            Summarize("submit → fuzzer process started", done.Select(s => s.FuzzerStartMs), GoalP50Ms, GoalP99Ms,
                "the measure, over all submissions: /proc starttime of the process whose argv[0] is the job's target (10 ms resolution)"),
            Summarize("  … target cached on the bot", done.Where(s => !s.NewTarget).Select(s => s.FuzzerStartMs), null, null, "odd submissions"),
            Summarize("  … new target (fetched from the master)", done.Where(s => s.NewTarget).Select(s => s.FuzzerStartMs), null, null, "even submissions"),
            Summarize("submit → POST answered", done.Select(s => (double?)s.PostMs), null, null, "201 received"),
            Summarize("submit → campaign createdAt", done.Select(s => s.CreatedMs), null, null, "master's clock"),
            Summarize("submit → job assignedAt", done.Select(s => s.AssignedMs), null, null, "the scheduler gave the job to the bot"),
            Summarize("submit → job startedAt", done.Select(s => s.StartedMs), null, null, "the bot confirmed the start"),
            Summarize("submit → launcher process started", done.Select(s => s.LauncherStartMs), null, null,
                "first process of the sandboxed launch chain (/proc starttime)"),
            Summarize("job startedAt → launcher started, new target", done.Where(s => s.NewTarget).Select(s => s.LauncherStartMs - s.StartedMs), null, null,
                "target fetch, work dir, initial corpus sync"),
            Summarize("job startedAt → launcher started, cached target", done.Where(s => !s.NewTarget).Select(s => s.LauncherStartMs - s.StartedMs), null, null,
                "work dir, initial corpus sync"),
            Summarize("launcher → fuzzer started", done.Select(s => s.FuzzerStartMs - s.LauncherStartMs), null, null, "sandbox set-up (setsid, cgroup, prlimit, setpriv, bwrap)"),
            Summarize("submit → fuzzer seen by the /proc scan", done.Select(s => s.SeenMs), null, null,
                $"upper bound, scan every {ScanInterval.TotalMilliseconds:0} ms"),
        ];

        Console.WriteLine();
        Console.WriteLine($"scheduling ({done.Count} of {samples.Count} submissions measured, node on cores {Cpu.Format(options.Cores)}):");
        Console.Write(Table(summaries));
        var report = new
        {
            benchmark = BenchmarkOptions.Scheduling,
            mode = options.Mode,
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            settings = new
            {
                submissions = options.Rounds,
                newTargetEvery = 2,
                warmUps = WarmUps,
                options.Cores,
                harness = source,
                campaignSeconds = CampaignSeconds,
                scanIntervalMs = ScanInterval.TotalMilliseconds,
                clockTicksPerSecond = ProcessClock.TicksPerSecond,
                goalP50Ms = GoalP50Ms,
                goalP99Ms = GoalP99Ms,
            },
            machine,
            commands = new { build, node = nodeCommand },
            summary = summaries,
            // The suite's rows: p50 and p99 of the measure, each against its goal.
            measures = new[]
            {
                Summary.Bounded("scheduling: submit -> fuzzer running, p50", "ms", [summaries[0].P50], null, GoalP50Ms, atMost: true, $"{summaries[0].Count} submissions"),
                Summary.Bounded("scheduling: submit -> fuzzer running, p99", "ms", [summaries[0].P99], null, GoalP99Ms, atMost: true, $"max {summaries[0].Max:0} ms"),
            },
            samples,
            problems = workspace.Problems,
        };
        var path = Summary.WriteJson(report, options.OutputDir, BenchmarkOptions.Scheduling, startedAt);
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();
        if (done.Count < samples.Count || done.Count == 0)
        {
            workspace.Failed = true;
            return 2;
        }

        return summaries[0].GoalMet == true ? 0 : 1;
    }

    private async Task<SchedulingSample> SubmitOnceAsync(int submission, bool newTarget, NodeProcess node, ApiClient api, string botId, string targetId, CancellationToken cancellationToken)
    {
        var jobsDir = Path.Combine(node.DataDir, "bot", "jobs");
        // The next submission finds a free slot.
        await BotIdle.WaitAsync(node, api, botId, jobsDir, IdleLimit, cancellationToken);

        var request = new
        {
            name = $"scheduling-{submission.ToString(CultureInfo.InvariantCulture)}",
            targetId,
            engine = "libfuzzer",
            jobs = 1,
            durationSeconds = CampaignSeconds,
            memoryLimitMb = Standalone.MemoryLimitMb,
            timeoutMs = Standalone.TimeoutMs,
        };
        var bootAt = ProcessClock.Now();
        var wallAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var created = await api.CreateCampaignViewAsync(request, cancellationToken);
        var postMs = clock.Elapsed.TotalMilliseconds;
        if (created.Jobs is not [var job])
        {
            return new SchedulingSample(submission, newTarget, created.Id, "", postMs, null, null, null, null, null, null, null, $"campaign {created.Id} was created with {created.Jobs?.Count ?? 0} jobs");
        }

        var jobDir = Path.Combine(jobsDir, job.Id);
        var fuzzer = Path.Combine(jobDir, "target");
        int? pid = null;
        TimeSpan? fuzzerStart = null;
        double? seenMs = null;
        string? error = null;
        while (pid is null)
        {
            foreach (var (candidate, _) in Cpu.FindByCommandLine(fuzzer))
            {
                if (ProcessClock.Arguments(candidate) is [var program, ..] && program == fuzzer && ProcessClock.StartedAt(candidate) is { } start)
                {
                    pid = candidate;
                    fuzzerStart = start;
                    seenMs = clock.Elapsed.TotalMilliseconds;
                    break;
                }
            }

            if (pid is null)
            {
                if (clock.Elapsed > StartLimit)
                {
                    error = $"no fuzzer process of job {job.Id} within {StartLimit.TotalSeconds:0} s.\n{node.LogTail(20)}";
                    break;
                }

                node.EnsureRunning();
                await Task.Delay(ScanInterval, cancellationToken);
            }
        }

        // The launch chain (one process exec'ing setsid → cgroup → prlimit → setpriv → bwrap, which forks the fuzzer): its
        // first process is the earliest start among the processes naming the job dir.
        TimeSpan? launcherStart = Cpu.FindByCommandLine(jobDir).Select(p => ProcessClock.StartedAt(p.Pid)).Where(s => s is not null).Min();
        CampaignView? view = null;
        try
        {
            view = await api.GetCampaignAsync(created.Id, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            error ??= $"GET campaign {created.Id} failed: {ex.Message}";
        }

        try
        {
            await api.StopCampaignAsync(created.Id, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            workspace.Problem($"submission {submission}: stopping campaign {created.Id} failed (it ends by itself after {CampaignSeconds} s): {ex.Message}");
        }

        var viewed = view?.Jobs?.FirstOrDefault(j => j.Id == job.Id);
        double? Wall(DateTimeOffset? at) => at is { } value ? (value - wallAt).TotalMilliseconds : null;
        double? Boot(TimeSpan? at) => at is { } value ? (value - bootAt).TotalMilliseconds : null;
        return new SchedulingSample(submission, newTarget, created.Id, job.Id, postMs, Wall(view?.CreatedAt ?? created.CreatedAt), Wall(viewed?.AssignedAt), Wall(viewed?.StartedAt),
            Boot(launcherStart), Boot(fuzzerStart), seenMs, pid, error);
    }

    private static LatencySummary Summarize(string measure, IEnumerable<double?> values, double? goalP50, double? goalP99, string note)
    {
        var list = values.Where(v => v is not null).Select(v => v!.Value).ToList();
        var p50 = Percentile(list, 50);
        var p99 = Percentile(list, 99);
        bool? met = goalP50 is null && goalP99 is null || list.Count == 0 ? null : (goalP50 is null || p50 <= goalP50) && (goalP99 is null || p99 <= goalP99);
        return new LatencySummary(measure, list.Count, Math.Round(p50, 1), Math.Round(Percentile(list, 90), 1), Math.Round(p99, 1),
            Math.Round(list.Count == 0 ? double.NaN : list.Max(), 1), goalP50, goalP99, met, note);
    }

    /// <summary>Nearest-rank percentile (p99 of 50 values is the largest).</summary>
    public static double Percentile(IReadOnlyList<double> values, double percent)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    private static string Table(IReadOnlyList<LatencySummary> rows)
    {
        string[] header = ["measure", "n", "p50", "p90", "p99", "max", "goal"];
        var cells = rows.Select(r => new[]
        {
            r.Measure,
            r.Count.ToString(CultureInfo.InvariantCulture),
            Ms(r.P50), Ms(r.P90), Ms(r.P99), Ms(r.Max),
            r.GoalMet is null ? "-" : $"p50 <= {r.GoalP50:0} ms, p99 <= {r.GoalP99:0} ms {(r.GoalMet == true ? "MET" : "MISSED")}",
        }).ToList();
        return Summary.FixedWidth(header, cells);
    }

    private static string Ms(double value) => double.IsNaN(value) ? "n/a" : value.ToString("0", CultureInfo.InvariantCulture) + " ms";
}
