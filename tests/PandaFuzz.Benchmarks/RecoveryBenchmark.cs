using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Master.Projection;
using PandaFuzz.Protocol;
using static PandaFuzz.Master.Projection.ProjectionProtocol;

namespace PandaFuzz.Benchmarks;

/// <summary>One restart of a master node on a copy of a data dir.</summary>
/// <param name="ReadySeconds">From process start to <c>GET /health/ready</c> = 200.</param>
/// <param name="WokeSeconds">From process start to the CampaignWaker's "Woke N campaigns" line.</param>
/// <param name="AllRecoveredSeconds">From process start until every campaign answered <c>GET …/crashes</c> with its expected counts.</param>
/// <param name="RssMb">The node's resident memory once every campaign had answered.</param>
/// <param name="IdleCpuPercent">The node's CPU use (% of one core) over 5 s once recovered and checked, nothing asked of it.</param>
public sealed record RestartTrial(
    int Trial, string Journal, int Position, double ReadySeconds, double? WokeSeconds, int? WokeCount, double? AllRecoveredSeconds, double? RssMb,
    int CampaignsChecked, int JobSampleChecked, IReadOnlyList<string> Mismatches, string? Error, double? IdleCpuPercent = null);

/// <summary>One sample of the read-model projection's progress under load.</summary>
public sealed record LagSample(double At, long JournalOffset, long ProjectedOffset, long Pending, double? LastLagSeconds);

/// <summary>
/// Master recovery: (1) restart time of a real master node on a journal of about a million events (generated once,
/// see <see cref="RecoveryJournal"/>) against the same restart on an empty data dir, interleaved, with every campaign's
/// recovered state checked; (2) the journal's events/s at the shipped settings (bursts of the <c>journal</c> mode's
/// chosen variant); (3) the read-model projection's lag while an in-process master persists a steady stream of crash
/// reports.
/// </summary>
public sealed class RecoveryBenchmark(BenchmarkOptions options, Workspace workspace)
{
    public const double GoalReadySeconds = 10;

    public const double GoalLagSeconds = 1;

    /// <summary>Campaigns whose jobs are also checked through <c>GET /api/v1/campaigns/{id}</c> (which wakes every job).</summary>
    private const int JobSample = 20;

    private static readonly TimeSpan RestartLimit = TimeSpan.FromMinutes(3);

    private static readonly Regex Woke = new(@"Woke (\d+) campaigns", RegexOptions.Compiled);

    /// <summary>Crash reports (one event each) persisted per second while the projection's lag is sampled.</summary>
    private const int LagRate = 500;

    private int LagSeconds => options.Seconds;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        var master = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(RepoLayout.Root, "hocon", "master.conf")));
        var snapshotEvery = master.GetInt("pandafuzz.master.snapshot-every");
        var campaignSnapshotEvery = master.GetInt("pandafuzz.master.campaign-snapshot-every");
        Console.WriteLine($"recovery: {options.Rounds} trials of a master-only node restarted on a journal of ~{options.Reports:N0} events vs. on an empty data dir " +
                          $"(interleaved); journal events/s at the shipped settings; read-model lag at {LagRate} crash reports/s for {LagSeconds} s");
        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");

        // 1. The journal, once per run.
        Console.WriteLine($"generating the journal (snapshot-every {snapshotEvery}, campaign-snapshot-every {campaignSnapshotEvery}) ...");
        var generated = await RecoveryJournal.GenerateAsync(workspace.Dir("journal", "data"), options.Reports, snapshotEvery, campaignSnapshotEvery, cancellationToken);
        var dbBytes = new FileInfo(Path.Combine(generated.DataDir, SqliteJournal.FileName)).Length;
        generated = generated with { DatabaseBytes = dbBytes };
        Console.WriteLine((I($"  {generated.Events:N0} events in {generated.GenerateSeconds:0.0} s: {generated.Campaigns:N0} campaigns ({generated.BusyCampaigns} busy), ") +
            I($"{generated.Jobs:N0} jobs, {generated.Bots} bots, {generated.Corpora:N0} corpora, {generated.Snapshots:N0} snapshots; {dbBytes / 1048576.0:N0} MiB")));
        Console.WriteLine($"  by manifest: {string.Join(", ", generated.EventsByManifest.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value:N0}"))}");
        await ReadModelAsync(generated.DataDir, cancellationToken);

        // (a)/(b): restarts, A/B interleaved.
        var trials = new List<RestartTrial>();
        for (var trial = 1; trial <= options.Rounds; trial++)
        {
            string[] order = trial % 2 == 1 ? ["empty", "generated"] : ["generated", "empty"];
            for (var position = 0; position < order.Length; position++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = await RestartAsync(trial, position, order[position] == "generated" ? generated : null, cancellationToken);
                trials.Add(result);
                Console.WriteLine((I($"  trial {trial}/{options.Rounds} {result.Journal,-9}: ready {result.ReadySeconds:0.00} s, woke {Show(result.WokeSeconds)} s ({result.WokeCount} campaigns), ") +
                    I($"all campaigns recovered {Show(result.AllRecoveredSeconds)} s, RSS {Show(result.RssMb)} MB, idle CPU {Show(result.IdleCpuPercent)} %") +
                    (result.Journal == "generated" ? I($"; checked {result.CampaignsChecked} campaigns, jobs of {result.JobSampleChecked}") : "") +
                    (result.Error is null ? "" : I($"; FAILED: {result.Error}"))));
                foreach (var mismatch in result.Mismatches.Take(5))
                {
                    workspace.Problem($"trial {trial}: {mismatch}");
                }

                if (result.Error is not null)
                {
                    workspace.Problem($"trial {trial} ({result.Journal}): {result.Error}");
                }
            }
        }

        // 2. Events persisted per second at the shipped settings: the journal mode's chosen variant, a few bursts.
        Console.WriteLine("journal events/s at the shipped settings (the journal mode's chosen variant) ...");
        var journal = new JournalBenchmark(options, workspace);
        var perEntity = (options.Mode == "quick" ? 2_000 : 4_000) / JournalBenchmark.Entities;
        var bursts = new List<JournalBurst>();
        for (var b = 0; b <= 3; b++)
        {
            var burst = await journal.BurstAsync(b, 0, JournalBenchmark.Variants[0], perEntity, cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {(b == 0 ? "warm-up" : $"burst {b}/3")}: {burst.EventsPerSecond:N0} events/s ({burst.Events:N0} events in {burst.Seconds:0.00} s)"));
            if (b > 0)
            {
                bursts.Add(burst);
            }
        }

        // 3. Projection lag under a steady load.
        var lag = await ProjectionLagAsync(generated, cancellationToken);

        // Summary.
        var rows = new List<(string Measure, string Unit, List<double> Empty, List<double> Generated, double? Goal)>
        {
            ("ready (GET /health/ready = 200)", "s", Of(trials, "empty", t => t.ReadySeconds), Of(trials, "generated", t => t.ReadySeconds), GoalReadySeconds),
            ("\"Woke N campaigns\" logged", "s", Of(trials, "empty", t => t.WokeSeconds), Of(trials, "generated", t => t.WokeSeconds), null),
            ("every campaign recovered", "s", Of(trials, "empty", t => t.AllRecoveredSeconds), Of(trials, "generated", t => t.AllRecoveredSeconds), null),
            ("RSS after recovery", "MB", Of(trials, "empty", t => t.RssMb), Of(trials, "generated", t => t.RssMb), null),
            ("idle CPU after recovery (5 s)", "% core", Of(trials, "empty", t => t.IdleCpuPercent), Of(trials, "generated", t => t.IdleCpuPercent), null),
        };
        Console.WriteLine();
        Console.WriteLine($"master restart, {options.Rounds} trials, empty data dir vs. {generated.Events:N0} events ({generated.Campaigns:N0} campaigns), medians (min-max):");
        var table = rows.Select(r => new[]
        {
            r.Measure,
            Range(r.Empty, r.Unit),
            Range(r.Generated, r.Unit),
            Summary.Ratio(Summary.Median(r.Generated) / Summary.Median(r.Empty)),
            r.Goal is { } goal ? $"<= {goal:0} {r.Unit} {(Summary.Median(r.Generated) <= goal ? "MET" : "MISSED")}" : "-",
        }).ToList();
        PrintTable(["measure", "empty journal", $"{generated.Events / 1e6:0.##}M events", "ratio", "goal"], table);

        var rates = bursts.Select(b => b.EventsPerSecond).ToList();
        Console.WriteLine();
        Console.WriteLine((I($"journal events/s at the shipped settings (synchronous=FULL, WAL; {bursts.FirstOrDefault()?.Events:N0} events per burst, 100 entities, PersistAll): ") +
            I($"median {Summary.Median(rates):N0} (min {rates.Min():N0}, max {rates.Max():N0}); the journal mode compares the pragmas")));

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"read-model lag at {lag.Rate} crash reports/s for {lag.Seconds} s ({lag.Persisted:N0} persisted, {lag.Samples.Count} samples every {lag.IntervalMs} ms):"));
        PrintTable(["measure", "p50", "p99", "max", "goal"],
        [
            ["time until the read model holds what the journal held (catch-up)", Seconds(lag.CatchUp.P50), Seconds(lag.CatchUp.P99), Seconds(lag.CatchUp.Max),
                $"p99 <= {GoalLagSeconds:0} s {(lag.CatchUp.P99 <= GoalLagSeconds ? "MET" : "MISSED")}"],
            ["projection's own last lag (newest event of each batch)", Seconds(lag.Own.P50), Seconds(lag.Own.P99), Seconds(lag.Own.Max), "-"],
            ["events pending in the journal", lag.Pending.P50.ToString("N0", CultureInfo.InvariantCulture), lag.Pending.P99.ToString("N0", CultureInfo.InvariantCulture),
                lag.Pending.Max.ToString("N0", CultureInfo.InvariantCulture), "-"],
        ]);

        var readyMet = Summary.Median(rows[0].Generated) <= GoalReadySeconds;
        var lagMet = lag.CatchUp.P99 <= GoalLagSeconds;
        var path = Summary.WriteJson(new
        {
            benchmark = "recovery",
            mode = options.Mode,
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            settings = new
            {
                trials = options.Rounds,
                targetEvents = options.Reports,
                snapshotEvery,
                campaignSnapshotEvery,
                lagRate = LagRate,
                lagSeconds = LagSeconds,
                goalReadySeconds = GoalReadySeconds,
                goalLagSeconds = GoalLagSeconds,
            },
            machine,
            journal = generated with { Expected = [] },
            summary = rows.Select(r => new
            {
                measure = r.Measure,
                unit = r.Unit,
                empty = new { median = Summary.Median(r.Empty), min = MinOrNaN(r.Empty), max = MaxOrNaN(r.Empty) },
                generated = new { median = Summary.Median(r.Generated), min = MinOrNaN(r.Generated), max = MaxOrNaN(r.Generated) },
                goal = r.Goal,
            }),
            // The suite's rows: the restart against the same restart on an empty journal, and the projection's lag.
            measures = new[]
            {
                Summary.Bounded($"recovery: master ready after restart on {generated.Events:N0} events", rows[0].Unit, rows[0].Generated, rows[0].Empty, GoalReadySeconds, atMost: true,
                    "baseline: the same restart on an empty data dir, interleaved"),
                Summary.Bounded($"recovery: read-model lag p99 at {lag.Rate} events/s", "s", [lag.CatchUp.P99], null, GoalLagSeconds, atMost: true, "catch-up time of the projection"),
            },
            journalEventsPerSecond = new { median = Summary.Median(rates), min = rates.Min(), max = rates.Max(), bursts },
            projectionLag = lag,
            trials,
            problems = workspace.Problems,
        }, options.OutputDir, "recovery", startedAt);
        Console.WriteLine($"goals: ready <= {GoalReadySeconds:0} s {(readyMet ? "MET" : "MISSED")}; projection lag p99 <= {GoalLagSeconds:0} s {(lagMet ? "MET" : "MISSED")}");
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();
        return workspace.Problems.Count > 0 ? 2 : readyMet && lagMet ? 0 : 1;
    }

    /// <summary>
    /// The read model a master that wrote this journal would have: <c>pandafuzz db migrate</c> and
    /// <c>pandafuzz db rebuild-read-model</c> of the real node (which also reads every event back through the real read
    /// journal and serializer), so a restart does not spend its time projecting the whole journal.
    /// </summary>
    private async Task ReadModelAsync(string dataDir, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string> { ["PANDAFUZZ_ROLES"] = "master", ["PANDAFUZZ_DATA_DIR"] = dataDir, ["PANDAFUZZ_API_TOKENS"] = ApiClient.TestToken };
        var dll = Path.Combine(options.NodeBuildDir, "pandafuzz.dll");
        foreach (var command in new[] { "migrate", "rebuild-read-model" })
        {
            var clock = Stopwatch.StartNew();
            var result = await ProcessRunner.RunAsync(RepoLayout.DotnetHost, [dll, "db", command], TimeSpan.FromMinutes(10), cancellationToken,
                workspace.Dir("journal"), environment, Path.Combine(workspace.Root, "journal", $"db-{command}.log"));
            if (!result.Succeeded)
            {
                throw new InvalidOperationException($"pandafuzz db {command} failed:\n{result.Tail()}");
            }

            Console.WriteLine($"  pandafuzz db {command}: {clock.Elapsed.TotalSeconds:0.0} s: {result.Output.Trim().Split('\n')[^1]}");
        }
    }

    private async Task<RestartTrial> RestartAsync(int trial, int position, GeneratedJournal? generated, CancellationToken cancellationToken)
    {
        var name = generated is null ? "empty" : "generated";
        var root = workspace.Dir($"restart-{trial}-{name}");
        var dataDir = Path.Combine(root, "data");
        if (generated is not null)
        {
            CopyFiles(generated.DataDir, dataDir);
        }
        else
        {
            Directory.CreateDirectory(dataDir);
        }

        // Out of the clock: the file copy has left the journal in the page cache for both sides alike (a copy of an empty dir has nothing to cache).
        await using var node = NodeProcess.Start(options.NodeBuildDir, root, Cpu.Online(), roles: "master", dataDir: dataDir);
        var woke = node.WaitForLineAsync(line => Woke.IsMatch(line));
        using var api = new ApiClient(node.BaseAddress);
        var mismatches = new List<string>();
        double ready;
        try
        {
            var deadline = DateTime.UtcNow + RestartLimit;
            while (!await api.IsReadyAsync(cancellationToken))
            {
                node.EnsureRunning();
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"not ready within {RestartLimit.TotalSeconds:0} s\n{node.LogTail()}");
                }

                await Task.Delay(20, cancellationToken);
            }

            ready = Stopwatch.GetElapsedTime(node.StartedAt).TotalSeconds;
            var (line, wokeAt) = await woke.WaitAsync(RestartLimit, cancellationToken);
            var wokeCount = int.Parse(Woke.Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
            if (generated is null)
            {
                return new RestartTrial(trial, name, position, ready, wokeAt.TotalSeconds, wokeCount, wokeAt.TotalSeconds, RssMb(node.Pid), 0, 0, mismatches, null,
                    await IdleCpuAsync(node.Pid, cancellationToken));
            }

            if (wokeCount != generated.Campaigns)
            {
                mismatches.Add($"woke {wokeCount} campaigns, the journal has {generated.Campaigns}");
            }

            // Every campaign, a few at a time as a dashboard would: recovered once it answers with its expected counts.
            using var gate = new SemaphoreSlim(8);
            await Task.WhenAll(generated.Expected.Select(async expected =>
            {
                await gate.WaitAsync(cancellationToken);
                try
                {
                    var crashes = await UntilAnsweredAsync(
                        () => api.GetJsonAsync<List<CrashCount>>($"api/v1/campaigns/{expected.Id}/crashes", cancellationToken), deadline, cancellationToken);
                    var reports = crashes.Sum(c => c.Count);
                    if (reports != expected.Reports || crashes.Count != expected.UniqueCrashes)
                    {
                        lock (mismatches)
                        {
                            mismatches.Add($"campaign {expected.Id}: {reports} reports in {crashes.Count} unique crashes, expected {expected.Reports} in {expected.UniqueCrashes}");
                        }
                    }
                }
                finally
                {
                    gate.Release();
                }
            }));
            var all = Stopwatch.GetElapsedTime(node.StartedAt).TotalSeconds;
            var rss = RssMb(node.Pid);

            // Out of the clock: the campaign and its jobs' states through the real job entities, for a sample.
            var sample = generated.Expected.Where(c => c.Busy).Take(JobSample / 2)
                .Concat(generated.Expected.Where(c => c.Status == "running").Take(3))
                .Concat(generated.Expected.Where(c => !c.Busy).Take(JobSample))
                .DistinctBy(c => c.Id).Take(JobSample).ToList();
            foreach (var expected in sample)
            {
                var view = await UntilAnsweredAsync(() => api.GetCampaignAsync(expected.Id, cancellationToken), deadline, cancellationToken);
                if (!string.Equals(view.Status, expected.Status, StringComparison.OrdinalIgnoreCase))
                {
                    mismatches.Add($"campaign {expected.Id} is {view.Status}, expected {expected.Status}");
                }

                var jobs = (view.Jobs ?? []).ToDictionary(j => j.Id, j => j.State.ToLowerInvariant());
                foreach (var (job, state) in expected.Jobs)
                {
                    // A job running on a bot when the master stopped waits job-silence-timeout for it, then goes back to pending.
                    var ok = jobs.TryGetValue(job, out var actual) && (actual == state || (state == "running" && actual is "pending" or "assigned"));
                    if (!ok)
                    {
                        mismatches.Add($"job {job} is {actual ?? "missing"}, expected {state}");
                    }
                }
            }

            return new RestartTrial(trial, name, position, ready, wokeAt.TotalSeconds, wokeCount, all, rss, generated.Expected.Count, sample.Count, mismatches, null,
                await IdleCpuAsync(node.Pid, cancellationToken));
        }
        catch (Exception ex) when (ex is TimeoutException or ApiException or HttpRequestException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            workspace.Failed = true;
            return new RestartTrial(trial, name, position, double.NaN, null, null, null, null, 0, 0, mismatches, ex.Message.Split('\n')[0]);
        }
    }

    /// <summary>
    /// The gateway answers 503 when an entity does not answer within its 10 s ask timeout, as a campaign still waiting
    /// for its turn to recover may: asked again until <paramref name="deadline"/>.
    /// </summary>
    private static async Task<T> UntilAnsweredAsync<T>(Func<Task<T>> get, DateTime deadline, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await get();
            }
            catch (ApiException ex) when (ex.Message.Contains(" returned 503,", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200, cancellationToken);
            }
        }
    }

    /// <summary>The fields of <c>GET /api/v1/campaigns/{id}/crashes</c> the check reads.</summary>
    private sealed record CrashCount(string Id, long Count);

    private sealed record LagFigures(double P50, double P99, double Max);

    private sealed record LagResult(int Rate, int Seconds, int IntervalMs, long Persisted, LagFigures CatchUp, LagFigures Own, LagFigures Pending, IReadOnlyList<LagSample> Samples);

    /// <summary>
    /// An in-process master (<see cref="InProcessMaster"/>) whose campaigns receive crash reports at a fixed rate; the
    /// projection's status is sampled every 100 ms. Catch-up lag of a sample: how long until the projection had
    /// projected everything the journal held at that sample.
    /// </summary>
    private async Task<LagResult> ProjectionLagAsync(GeneratedJournal generated, CancellationToken cancellationToken)
    {
        const int Campaigns = 10;
        const int IntervalMs = 100;
        var rate = LagRate;
        var seconds = LagSeconds;
        Console.WriteLine($"read-model lag: in-process master on a copy of the generated journal ({generated.Events:N0} events), " +
                          $"{Campaigns} new campaigns, {rate} crash reports/s for {seconds} s ...");
        var dataDir = workspace.Dir("lag", "master");
        CopyFiles(generated.DataDir, dataDir);
        await using var master = await InProcessMaster.StartAsync(dataDir, [], TimeSpan.FromSeconds(60), cancellationToken);
        var registry = ActorRegistry.For(master.System);
        var projection = await registry.GetAsync<ReadModelProjectionActor>(cancellationToken);
        // The restart's own work (waking every campaign) out of the clock: until the projection has nothing pending.
        var settled = Stopwatch.StartNew();
        await Task.Delay(5_000, cancellationToken);
        while (settled.Elapsed < TimeSpan.FromSeconds(120)
               && (await projection.Ask<ProjectionStatus>(GetProjectionStatus.Instance, TimeSpan.FromSeconds(30), cancellationToken)).PendingEvents > 0)
        {
            await Task.Delay(500, cancellationToken);
        }

        Console.WriteLine($"  master up and projection caught up after {settled.Elapsed.TotalSeconds:0.0} s");
        var botStore = new ContentAddressedStore(workspace.Dir("lag", "bot-blobs"));
        var botBlobs = master.System.ActorOf(Props.Create(() => new BlobServerActor(botStore)), BlobServerActor.BotName);
        var source = master.PathOf(botBlobs);
        var target = BlobId.Of("lag benchmark target (never fetched)"u8);
        var campaigns = new List<CampaignId>();
        for (var c = 0; c < Campaigns; c++)
        {
            var id = CampaignId.New();
            await master.Campaigns.Ask<object>(new CampaignCommands.CreateCampaign(id,
                new CampaignSpec($"lag-{c}", target, EngineNames.LibFuzzer, 1, 3600, 2048, 1000, null)), TimeSpan.FromSeconds(30), cancellationToken);
            campaigns.Add(id);
        }

        var total = rate * seconds;
        var random = new Random(7);
        var reports = new List<CampaignCommands.ReportCrash>(total);
        var bytes = new byte[128];
        for (var i = 0; i < total; i++)
        {
            var campaign = campaigns[i % Campaigns];
            random.NextBytes(bytes);
            BitConverter.TryWriteBytes(bytes, i);
            var input = BlobId.Of(bytes);
            var signature = random.Next(20);
            // Straight into the store's layout, as the dedup benchmark does: any report may be the one fetched as a sample.
            var path = botStore.PathOf(input);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, bytes, cancellationToken);

            var finding = new CrashFinding(input, bytes.Length, "crash-" + input.Sha256[..40], "Heap-buffer-overflow READ 4", "AddressSanitizer: heap-buffer-overflow",
                ["#0 0x1 in parse parser.c:1:1"], "==1==ERROR: AddressSanitizer: heap-buffer-overflow", DateTimeOffset.UtcNow,
                Signature: $"{signature:x16}", State: $"parse_{signature}\nread\nLLVMFuzzerTestOneInput", ReproduceAttempts: 1, Reproduced: 1);
            reports.Add(new CampaignCommands.ReportCrash(campaign, JobId.For(campaign, 0), new BotId("bot-lag-bench"), finding, source));
        }

        // Settle: let the projection take in the campaigns' creation before the clock starts.
        await Task.Delay(3_000, cancellationToken);
        var samples = new List<LagSample>();
        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(IntervalMs));
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await timer.WaitForNextTickAsync(stop.Token);
                    var at = clock.Elapsed.TotalSeconds;
                    var status = await projection.Ask<ProjectionStatus>(GetProjectionStatus.Instance, TimeSpan.FromSeconds(10), stop.Token);
                    var tag = status.Tags.Single(t => t.Tag == "campaign");
                    lock (samples)
                    {
                        samples.Add(new LagSample(at, status.Tags.Max(t => t.JournalOffset), status.Tags.Max(t => t.ProjectedOffset), status.PendingEvents,
                            tag.LastLag?.TotalSeconds));
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (AskTimeoutException)
                {
                    // A status that took over 10 s is a missing sample; the next one still sees how far behind it is.
                }
            }
        }, CancellationToken.None);

        // The load: every 20 ms, the reports due by then (a steady rate, not bursts of a second).
        var sent = 0;
        using (var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(20)))
        {
            while (sent < total && await pace.WaitForNextTickAsync(cancellationToken))
            {
                var due = Math.Min(total, (int)(clock.Elapsed.TotalSeconds * rate));
                for (; sent < due; sent++)
                {
                    master.Campaigns.Tell(reports[sent], ActorRefs.NoSender);
                }
            }
        }

        // Until the projection has everything, at most 30 s more.
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < end)
        {
            await Task.Delay(200, cancellationToken);
            LagSample? last;
            lock (samples)
            {
                last = samples.LastOrDefault();
            }

            if (last is not null && last.At > seconds && last.Pending == 0)
            {
                break;
            }
        }

        await stop.CancelAsync();
        await sampler;
        var persisted = DedupCount(master.DatabasePath) - generated.EventsByManifest.GetValueOrDefault("CrashReported.v1");

        // Catch-up lag: for each sample during the load, when did a later sample first show it all projected.
        var during = samples.Where(s => s.At <= seconds).ToList();
        var catchUp = new List<double>();
        foreach (var sample in during)
        {
            var done = samples.FirstOrDefault(s => s.At >= sample.At && s.ProjectedOffset >= sample.JournalOffset);
            catchUp.Add(done is null ? double.PositiveInfinity : done.At - sample.At);
        }

        var own = during.Where(s => s.LastLagSeconds is not null).Select(s => s.LastLagSeconds!.Value).ToList();
        var pending = during.Select(s => (double)s.Pending).ToList();
        return new LagResult(rate, seconds, IntervalMs, persisted, Figures(catchUp), Figures(own), Figures(pending), samples);
    }

    private static long DedupCount(string database)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM journal WHERE manifest = 'CrashReported.v1'";
        return (long)command.ExecuteScalar()!;
    }

    private static LagFigures Figures(List<double> values)
    {
        if (values.Count == 0)
        {
            return new LagFigures(double.NaN, double.NaN, double.NaN);
        }

        var sorted = values.Order().ToList();
        double At(double share) => sorted[Math.Clamp((int)Math.Ceiling(share * sorted.Count) - 1, 0, sorted.Count - 1)];
        return new LagFigures(At(0.5), At(0.99), sorted[^1]);
    }

    /// <summary>The process's CPU time over 5 s as a percentage of one core (the read journal's polling is most of an idle master's work).</summary>
    private static async Task<double?> IdleCpuAsync(int pid, CancellationToken cancellationToken)
    {
        var before = Cpu.CpuSeconds(pid);
        var clock = Stopwatch.StartNew();
        await Task.Delay(5_000, cancellationToken);
        var after = Cpu.CpuSeconds(pid);
        return before is { } b && after is { } a ? 100 * (a - b) / clock.Elapsed.TotalSeconds : null;
    }

    private static double? RssMb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void CopyFiles(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        }
    }

    private static List<double> Of(List<RestartTrial> trials, string journal, Func<RestartTrial, double?> pick) =>
        [.. trials.Where(t => t.Journal == journal && t.Error is null).Select(pick).Where(v => v is not null && !double.IsNaN(v.Value)).Select(v => v!.Value)];

    private static double MinOrNaN(List<double> values) => values.Count == 0 ? double.NaN : values.Min();

    private static double MaxOrNaN(List<double> values) => values.Count == 0 ? double.NaN : values.Max();

    private static string Range(List<double> values, string unit) =>
        values.Count == 0 ? "n/a" : $"{Summary.Number(Summary.Median(values))} ({Summary.Number(values.Min())}-{Summary.Number(values.Max())}) {unit}";

    private static string I(FormattableString text) => FormattableString.Invariant(text);

    private static string Show(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";

    private static string Seconds(double value) => double.IsInfinity(value) ? "never" : value.ToString("0.000 s", CultureInfo.InvariantCulture);

    private static void PrintTable(string[] header, List<string[]> rows) => Console.Write(Summary.FixedWidth(header, rows));
}
