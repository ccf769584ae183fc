using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace PandaFuzz.Benchmarks;

/// <summary>One look at the master while the simulated bots work.</summary>
public sealed record ScaleSample(
    double At, double Assignments, double StatsUpdates, double CrashReports, double PendingJobs, double Bots, double MasterRssMb, double MasterCpuSeconds);

/// <summary>What one scale run measured; rates are per second over the phase named.</summary>
public sealed record ScaleFigures(
    int Bots,
    int BotProcesses,
    int SlotsPerBot,
    int Jobs,
    double SubmitSeconds,
    double JobsCreatedPerSecond,
    double BotsOnlineSeconds,
    double FillAssignments,
    double FillSeconds,
    double AssignmentsPerSecond,
    double PeakAssignmentsPerSecond,
    double SteadySeconds,
    double StatsUpdatesPerSecond,
    double StatsLagP50Seconds,
    double StatsLagP99Seconds,
    double? ApiStatsAgeMedianSeconds,
    double CrashReportsPerSecond,
    double MasterRssPeakMb,
    double MasterCpuPercent,
    double FillMasterCpuPercent,
    double FillBotNodesCpuPercent,
    double FillJobJournalWriteP50Seconds,
    double FillJobJournalWriteP99Seconds,
    double ResumeSeconds,
    int WarmUpAssignments,
    double? WarmUpSeconds);

/// <summary>
/// Control-plane scale: a master-only node, simulated bots spread over a few bot-only node processes (the simulated engine
/// uses no CPU, so what is measured is the master and the cluster), and a queue of simulated jobs. The jobs are queued
/// before the bots start, so the bots' arrival is a burst of assignments as fast as the master can make them; then the
/// running jobs' stats and crash reports flow for a steady window. Figures come from the master's own counters
/// (/metrics), its /proc entry, and the API.
/// </summary>
public sealed class ScaleBenchmark(BenchmarkOptions options, Workspace workspace)
{
    public const double GoalAssignmentsPerSecond = 1000;
    public const double GoalStatsLagSeconds = 10;
    public const double GoalMasterRssMb = 1024;

    /// <summary>The most jobs one campaign may have (the API's bound).</summary>
    private const int JobsPerCampaign = 256;

    private static readonly TimeSpan ReadyLimit = TimeSpan.FromMinutes(3);

    /// <summary>
    /// Drain and resume requests in flight at once. Each is a bot entity's journal write; 32 at a time took 6 s for 1,000
    /// bots and the fill ended 0.2 s after the last resume, so the fill measured the API's resumes, not the assignments.
    /// With 256 the last resume is answered in about 2 s, well before the fill ends.
    /// </summary>
    private const int ResumeParallelism = 256;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        var (bots, processes, slots, jobs) = (options.Bots, options.BotProcesses, options.Slots, options.Jobs);
        var capacity = bots * slots;
        // Long enough that no job ends before every slot was filled once and the steady window is over.
        var jobSeconds = 600 + options.Seconds;
        Console.WriteLine($"scale: {bots:N0} simulated bots in {processes} processes x {slots} slots, {jobs:N0} queued jobs of {jobSeconds} s, " +
                          $"steady window {options.Seconds} s ({options.Mode})");
        Console.WriteLine(machine);

        var cores = Cpu.Online();
        // No command host (PANDAFUZZ_CMD=off): the nodes would all want port 9110.
        // --set KEY=VALUE reaches the master as the node's generic override PANDAFUZZ__a__b=value.
        var masterEnvironment = new Dictionary<string, string> { ["PANDAFUZZ_CMD"] = "off" };
        foreach (var setting in options.ConfigOverrides)
        {
            var equals = setting.IndexOf('=', StringComparison.Ordinal);
            masterEnvironment["PANDAFUZZ__" + setting[..equals].Trim().Replace(".", "__", StringComparison.Ordinal)] = setting[(equals + 1)..].Trim();
        }

        var master = NodeProcess.Start(options.NodeBuildDir, workspace.Dir("master"), cores, roles: "master", environment: masterEnvironment);
        var botNodes = new List<NodeProcess>();
        try
        {
            using var api = new ApiClient(master.BaseAddress);
            await WaitAsync(() => api.IsReadyAsync(cancellationToken), ReadyLimit, "the master to be ready", master, cancellationToken);

            // Each simulated job claims execs and finds a crash every 5 minutes among 100 bugs per campaign (4,000 running
            // jobs: 13 crash reports/s, each reproduced once on its bot).
            var target = Encoding.UTF8.GetBytes("pandafuzz-simulated-target\nexecs-per-second = 1000\ncrashes-per-minute = 0.2\nsignatures = 100\n");
            var targetId = await api.UploadTargetAsync("simulated", target, cancellationToken);

            // 1. The bots, all at once, then held back (drained) while the queue fills, so that what is measured next is
            // the master assigning, not the bot processes starting. Their data dirs are on tmpfs unless --bot-data disk: each
            // job start makes a work dir of four folders and two files, and this machine's root file system (ext4 without a
            // journal) takes ~0.3 ms of CPU per new inode, which on 2 shared cores took the master's share (see the README).
            var clock = Stopwatch.StartNew();
            for (var p = 0; p < processes; p++)
            {
                var share = bots / processes + (p < bots % processes ? 1 : 0);
                botNodes.Add(NodeProcess.Start(options.NodeBuildDir, workspace.Dir($"bots-{p + 1}"), cores, roles: "bot",
                    dataDir: options.BotDataOnDisk ? null : workspace.MemoryDir($"bots-{p + 1}", "data"), seeds: master.RemoteEndpoint, environment: new Dictionary<string, string>
                {
                    ["PANDAFUZZ__pandafuzz__bot__simulation__enabled"] = "on",
                    ["PANDAFUZZ__pandafuzz__bot__simulation__bots"] = share.ToString(CultureInfo.InvariantCulture),
                    ["PANDAFUZZ__pandafuzz__bot__slots"] = slots.ToString(CultureInfo.InvariantCulture),
                    ["PANDAFUZZ__pandafuzz__bot__reproduce-attempts"] = "1",
                    // The bot side is not what is measured: reproductions run without the sandbox's bwrap, prlimit and
                    // cgroup per run, which would take most of this machine's CPU from the master at these crash rates.
                    ["PANDAFUZZ__pandafuzz__bot__sandbox__enabled"] = "off",
                    ["PANDAFUZZ__pandafuzz__bot__sandbox__allow-unisolated"] = "on",
                    ["PANDAFUZZ__pandafuzz__logging__levels__default"] = "warning",
                    ["PANDAFUZZ_CMD"] = "off",
                }));
            }

            var botIds = new List<string>();
            await WaitAsync(async () =>
            {
                foreach (var node in botNodes)
                {
                    node.EnsureRunning();
                }

                botIds = await OnlineBotsAsync(api, cancellationToken);
                return botIds.Count >= bots;
            }, TimeSpan.FromMinutes(5), $"{bots:N0} bots online", master, cancellationToken);
            var botsOnline = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"  {bots:N0} bots online after {botsOnline:0.0} s; draining them while the queue fills");
            await ForEachBotAsync(api, botIds, "drain", cancellationToken);

            // 2. The queue.
            var submit = Stopwatch.StartNew();
            var campaigns = await SubmitAsync(api, targetId, jobs, jobSeconds, cancellationToken);
            var submitSeconds = submit.Elapsed.TotalSeconds;
            Console.WriteLine($"  {jobs:N0} jobs in {campaigns.Count} campaigns submitted in {submitSeconds:0.0} s ({jobs / submitSeconds:N0} jobs/s)");
            await WaitAsync(async () => (await ScrapeAsync(api, master, 0, cancellationToken)).PendingJobs >= jobs,
                TimeSpan.FromMinutes(10), $"the scheduler to hold {jobs:N0} pending jobs", master, cancellationToken);

            // 3. A quarter of the bots back to work first, unless --cold: the master and every bot node run the assignment and
            // job start paths once before the measured fill, as a master and bots that have been up for a while have. Fresh
            // processes spend much of a first burst in the JIT (a third of the bot nodes' CPU in a profiled cold fill).
            var warmUpBots = options.ScaleCold ? [] : botIds.Take(Math.Max(1, botIds.Count / 4)).ToList();
            var measuredBots = botIds.Skip(warmUpBots.Count).ToList();
            var warmUpTarget = Math.Min(jobs, warmUpBots.Count * slots);
            double? warmUpSeconds = null;
            if (warmUpBots.Count > 0)
            {
                var warmUpFrom = (await ScrapeAsync(api, master, 0, cancellationToken)).Assignments;
                var warmUp = Stopwatch.StartNew();
                await ForEachBotAsync(api, warmUpBots, "resume", cancellationToken);
                await WaitAsync(async () => (await ScrapeAsync(api, master, 0, cancellationToken)).Assignments - warmUpFrom >= warmUpTarget,
                    TimeSpan.FromMinutes(10), $"the warm-up's {warmUpTarget:N0} assignments", master, cancellationToken);
                warmUpSeconds = warmUp.Elapsed.TotalSeconds;
                Console.WriteLine($"  warm-up: {warmUpBots.Count:N0} bots resumed, {warmUpTarget:N0} assignments in {warmUpSeconds:0.0} s " +
                                  $"({warmUpTarget / warmUpSeconds:N0}/s, cold); the other {measuredBots.Count:N0} bots are the measured fill");
            }

            // 4. The (other) bots back to work at once: the burst of assignments.
            clock.Restart();
            var journalBefore = await ScrapeTextAsync(api, cancellationToken);
            var botCpuBefore = BotNodesCpuSeconds(botNodes);
            var before = await ScrapeAsync(api, master, 0, cancellationToken);
            double? resumedAt = null;
            var resuming = ForEachBotAsync(api, measuredBots, "resume", cancellationToken).ContinueWith(
                t => { resumedAt = clock.Elapsed.TotalSeconds; t.GetAwaiter().GetResult(); }, TaskScheduler.Default);
            var samples = new List<ScaleSample> { before with { At = 0 } };
            var fillTarget = Math.Min(jobs - warmUpTarget, measuredBots.Count * slots);
            double? filledAt = null, firstAssignmentAt = null;
            var fillLimit = TimeSpan.FromMinutes(10);
            while (filledAt is null)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
                foreach (var node in botNodes.Append(master))
                {
                    node.EnsureRunning();
                }

                var sample = await ScrapeAsync(api, master, clock.Elapsed.TotalSeconds, cancellationToken);
                samples.Add(sample);
                var assigned = sample.Assignments - before.Assignments;
                firstAssignmentAt ??= assigned > 0 ? sample.At : null;
                if (assigned >= fillTarget)
                {
                    filledAt = sample.At;
                }

                Console.Write($"\r  t={sample.At,5:0}s bots {sample.Bots,6:N0}/{bots:N0}  assigned {assigned,8:N0}/{fillTarget:N0}  master RSS {sample.MasterRssMb,6:N0} MB   ");
                if (clock.Elapsed > fillLimit)
                {
                    Console.WriteLine();
                    throw new TimeoutException($"only {assigned:N0} of {fillTarget:N0} slots were filled in {fillLimit.TotalMinutes:0} minutes");
                }
            }

            Console.WriteLine();
            // Where the fill's time went: the machine's CPU (master and bot nodes) and the job entities' journal writes.
            var fillBotCpuSeconds = BotNodesCpuSeconds(botNodes) - botCpuBefore;
            var journalAfter = await ScrapeTextAsync(api, cancellationToken);
            var jobWrites = (journalBefore.Buckets(JournalWriteHistogram, JobEntityLabel), journalAfter.Buckets(JournalWriteHistogram, JobEntityLabel));
            await resuming;
            // From the first resume (clock zero) to the last slot filled.
            var fill = samples.ToList();
            var fillSeconds = filledAt.Value;
            var peak = fill.Zip(fill.Skip(4), (a, b) => (b.Assignments - a.Assignments) / (b.At - a.At)).DefaultIfEmpty(fillTarget / fillSeconds).Max();

            // 3. The steady window: every slot busy, stats and crashes flowing.
            var steadyStart = samples[^1];
            var lagBefore = await ScrapeTextAsync(api, cancellationToken);
            var steadyClock = Stopwatch.StartNew();
            var apiAges = new List<double>();
            while (steadyClock.Elapsed.TotalSeconds < options.Seconds)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                samples.Add(await ScrapeAsync(api, master, clock.Elapsed.TotalSeconds, cancellationToken));
                if (samples.Count % 10 == 0)
                {
                    apiAges.AddRange(await ApiStatsAgesAsync(api, campaigns[Random.Shared.Next(Math.Min(campaigns.Count, Math.Max(1, capacity / JobsPerCampaign)))], cancellationToken));
                }
            }

            var steadyEnd = samples[^1];
            var lagAfter = await ScrapeTextAsync(api, cancellationToken);
            var steadySeconds = steadyEnd.At - steadyStart.At;
            var lagBuckets = (lagBefore.Buckets("pandafuzz_job_stats_lag_seconds"), lagAfter.Buckets("pandafuzz_job_stats_lag_seconds"));

            var figures = new ScaleFigures(
                bots, processes, slots, jobs,
                submitSeconds, jobs / submitSeconds,
                botsOnline,
                fillTarget, fillSeconds, fillTarget / fillSeconds, peak,
                steadySeconds,
                (steadyEnd.StatsUpdates - steadyStart.StatsUpdates) / steadySeconds,
                PrometheusText.Quantile(lagBuckets.Item1, lagBuckets.Item2, 0.5),
                PrometheusText.Quantile(lagBuckets.Item1, lagBuckets.Item2, 0.99),
                apiAges.Count > 0 ? Summary.Median(apiAges) : null,
                (steadyEnd.CrashReports - steadyStart.CrashReports) / steadySeconds,
                samples.Max(s => s.MasterRssMb),
                100 * (steadyEnd.MasterCpuSeconds - steadyStart.MasterCpuSeconds) / steadySeconds,
                100 * (fill[^1].MasterCpuSeconds - before.MasterCpuSeconds) / fillSeconds,
                100 * fillBotCpuSeconds / fillSeconds,
                PrometheusText.Quantile(jobWrites.Item1, jobWrites.Item2, 0.5),
                PrometheusText.Quantile(jobWrites.Item1, jobWrites.Item2, 0.99),
                resumedAt ?? double.NaN,
                warmUpTarget,
                warmUpSeconds);

            var rows = Rows(figures);
            Console.WriteLine();
            Console.WriteLine(Summary.Table(rows));
            Console.WriteLine($"  submit: {figures.JobsCreatedPerSecond:N0} jobs created/s; all {bots:N0} bots online after {figures.BotsOnlineSeconds:0.0} s; " +
                              $"fill: {fillTarget:N0} assignments in {fillSeconds:0.0} s (peak 1-s rate {peak:N0}/s; the last of the API's resumes answered at {figures.ResumeSeconds:0.0} s)");
            Console.WriteLine($"  during the fill: master CPU {figures.FillMasterCpuPercent:0}% of a core, bot nodes {figures.FillBotNodesCpuPercent:0}% (of {Environment.ProcessorCount} cores); " +
                              $"job entities' journal writes p50 <= {figures.FillJobJournalWriteP50Seconds} s, p99 <= {figures.FillJobJournalWriteP99Seconds} s (bucket bounds)");
            Console.WriteLine($"  steady {steadySeconds:0} s: {figures.StatsUpdatesPerSecond:N0} stats updates/s (lag p50 <= {figures.StatsLagP50Seconds} s, p99 <= {figures.StatsLagP99Seconds} s; " +
                              $"API stats age median {figures.ApiStatsAgeMedianSeconds?.ToString("0.0", CultureInfo.InvariantCulture) ?? "n/a"} s), " +
                              $"{figures.CrashReportsPerSecond:N1} crash reports/s, master CPU {figures.MasterCpuPercent:0}% of a core, RSS peak {figures.MasterRssPeakMb:N0} MB");

            var path = Summary.WriteJson(new
            {
                benchmark = BenchmarkOptions.Scale,
                mode = options.Mode,
                startedAt,
                machine,
                settings = new { bots, processes, slots, jobs, jobSeconds, steadySeconds = options.Seconds, target = Encoding.UTF8.GetString(target), masterOverrides = options.ConfigOverrides, botData = options.BotDataOnDisk ? "disk" : "tmpfs", resumeParallelism = ResumeParallelism, warmUp = !options.ScaleCold },
                commands = new { master = master.Command, bots = botNodes.Select(b => b.Command) },
                figures,
                samples,
                measures = rows,
            }, options.OutputDir, BenchmarkOptions.Scale, startedAt);
            Console.WriteLine($"Results: {path}");
            return rows.All(r => r.GoalMet != false) ? 0 : 1;
        }
        catch
        {
            workspace.Failed = true;
            Console.Error.WriteLine("master log tail:");
            Console.Error.WriteLine(master.LogTail(60));
            foreach (var node in botNodes)
            {
                Console.Error.WriteLine($"bot node log tail ({node.LogPath}):");
                Console.Error.WriteLine(node.LogTail(20));
            }

            throw;
        }
        finally
        {
            foreach (var node in botNodes)
            {
                await node.DisposeAsync();
            }

            await master.DisposeAsync();
            workspace.KillLeftovers();
        }
    }

    /// <summary>The goals as table rows: the measured figure against the goal (an absolute goal: no baseline to compare with).</summary>
    public static IReadOnlyList<MeasureSummary> Rows(ScaleFigures f) =>
    [
        Summary.Bounded("scale: assignments/s (fill)", "/s", [f.AssignmentsPerSecond], null, GoalAssignmentsPerSecond, atMost: false,
            $"{f.FillAssignments:N0} slots of {f.Bots:N0} bots filled from a queue of {f.Jobs:N0} jobs; peak 1-s rate {f.PeakAssignmentsPerSecond:N0}/s"),
        Summary.Bounded("scale: stats lag p99", "s", [f.StatsLagP99Seconds], null, GoalStatsLagSeconds, atMost: true,
            $"{f.StatsUpdatesPerSecond:N0} stats updates/s ingested; p50 <= {f.StatsLagP50Seconds} s (bucket bounds)"),
        Summary.Bounded("scale: master RSS peak", "MB", [f.MasterRssPeakMb], null, GoalMasterRssMb, atMost: true,
            $"with {f.Jobs:N0} jobs and {f.Bots:N0} bots; master CPU {f.MasterCpuPercent:0}% of a core in the steady window"),
        Summary.Bounded("scale: crash reports/s", "/s", [f.CrashReportsPerSecond], null, null, atMost: false, "informational: the rate the simulated bots found crashes at"),
    ];

    /// <summary>The ids of the bots the API lists online (pages of 1,000).</summary>
    private static async Task<List<string>> OnlineBotsAsync(ApiClient api, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        for (var offset = 0; ; offset += 1000)
        {
            var page = await api.GetJsonAsync<List<BotView>>($"api/v1/bots?status=online&limit=1000&offset={offset}", cancellationToken);
            ids.AddRange(page.Select(b => b.Id));
            if (page.Count < 1000)
            {
                return ids;
            }
        }
    }

    /// <summary>POST /api/v1/bots/{id}/drain or /resume for every bot, 32 at a time.</summary>
    private static Task ForEachBotAsync(ApiClient api, IReadOnlyList<string> ids, string action, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = ResumeParallelism, CancellationToken = cancellationToken },
            async (id, ct) => await api.PostEmptyAsync($"api/v1/bots/{Uri.EscapeDataString(id)}/{action}", ct));

    private async Task<List<string>> SubmitAsync(ApiClient api, string targetId, int jobs, int jobSeconds, CancellationToken cancellationToken)
    {
        var sizes = new List<int>();
        for (var left = jobs; left > 0; left -= JobsPerCampaign)
        {
            sizes.Add(Math.Min(JobsPerCampaign, left));
        }

        var ids = new string[sizes.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, sizes.Count), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                ids[i] = await api.CreateCampaignAsync(new
                {
                    name = $"scale-{i + 1}",
                    targetId,
                    engine = "simulated",
                    jobs = sizes[i],
                    durationSeconds = jobSeconds,
                    memoryLimitMb = 2048,
                    timeoutMs = 1000,
                }, ct);
            });
        return [.. ids];
    }

    private static async Task<ScaleSample> ScrapeAsync(ApiClient api, NodeProcess master, double at, CancellationToken cancellationToken)
    {
        var metrics = await ScrapeTextAsync(api, cancellationToken);
        return new ScaleSample(
            at,
            metrics.Sum("pandafuzz_job_assignments_total"),
            metrics.Sum("pandafuzz_job_stats_updates_total"),
            metrics.Sum("pandafuzz_crash_reports_total"),
            metrics.Sum("pandafuzz_scheduler_pending_jobs"),
            metrics.Sum("pandafuzz_scheduler_bots"),
            RssMb(master.Pid),
            Cpu.CpuSeconds(master.Pid) ?? double.NaN);
    }

    /// <summary>The master's histogram of persist-to-durable times, by entity type (src/PandaFuzz.Master/Observability/JournalMetrics.cs).</summary>
    private const string JournalWriteHistogram = "pandafuzz_journal_write_duration_seconds";

    private const string JobEntityLabel = "entity=\"job\"";

    /// <summary>The bot nodes' CPU time so far, added up.</summary>
    private static double BotNodesCpuSeconds(IEnumerable<NodeProcess> nodes) => nodes.Sum(n => Cpu.CpuSeconds(n.Pid) ?? 0);

    private static async Task<PrometheusText> ScrapeTextAsync(ApiClient api, CancellationToken cancellationToken) =>
        PrometheusText.Parse(await api.GetTextAsync("metrics", cancellationToken));

    /// <summary>How old each running job's stats are as the API shows them (the stats interval plus the way through the master).</summary>
    private static async Task<IEnumerable<double>> ApiStatsAgesAsync(ApiClient api, string campaignId, CancellationToken cancellationToken)
    {
        var campaign = await api.GetCampaignAsync(campaignId, cancellationToken);
        var now = DateTimeOffset.UtcNow;
        return (campaign.Jobs ?? []).Where(j => j.State == "running" && j.Stats?.UpdatedAt is not null)
            .Select(j => (now - j.Stats!.UpdatedAt!.Value).TotalSeconds);
    }

    private static double RssMb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan limit, string what, NodeProcess node, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            node.EnsureRunning();
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"waited {limit.TotalSeconds:0} s for {what}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }
}
