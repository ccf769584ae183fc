using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Microsoft.Data.Sqlite;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CampaignCommands;
using static PandaFuzz.Protocol.CampaignQueries;

namespace PandaFuzz.Benchmarks;

/// <summary>One measured side of a round: a burst of messages, timed from the first send to the last reply.</summary>
/// <param name="JournalEvents">The side's events found in the journal table afterwards (must equal <paramref name="Messages"/>).</param>
/// <param name="ProcessCpuSeconds">CPU time of this process during the burst (everything runs in it): against
/// <paramref name="Seconds"/> × cores, how CPU-bound the side was.</param>
/// <param name="FirstAnsweredSeconds">When the first message was answered (the first journal write done).</param>
/// <param name="HalfAnsweredSeconds">When half of the messages had been answered; <paramref name="P99AnsweredSeconds"/>: 99 %.</param>
/// <param name="LastSampledSeconds">Dedup: the last answer to a report whose input was fetched as a sample.</param>
/// <param name="LastUnsampledSeconds">Dedup: the last answer to a report that was only counted.</param>
public sealed record BurstSide(
    int Messages,
    double Seconds,
    double PerSecond,
    long JournalEvents,
    double ProcessCpuSeconds,
    double FirstAnsweredSeconds,
    double HalfAnsweredSeconds,
    double P99AnsweredSeconds,
    double? LastSampledSeconds = null,
    double? LastUnsampledSeconds = null)
{
    public static BurstSide Of(BurstResult result, long journalEvents)
    {
        var times = result.AnsweredAt.Values.Order().ToList();
        double At(double share) => times.Count == 0 ? double.NaN : times[Math.Clamp((int)Math.Ceiling(share * times.Count) - 1, 0, times.Count - 1)];
        var seconds = result.Elapsed.TotalSeconds;
        return new BurstSide(result.Sent, seconds, result.Sent / seconds, journalEvents, result.ProcessCpuSeconds, At(0), At(0.5), At(0.99));
    }

    /// <summary>The figures behind the rate, for the console.</summary>
    public string Detail() =>
        string.Create(CultureInfo.InvariantCulture,
            $"CPU {ProcessCpuSeconds:0.00} s; answered: first at {FirstAnsweredSeconds:0.000} s, half at {HalfAnsweredSeconds:0.000} s, 99 % at {P99AnsweredSeconds:0.000} s") +
        (LastSampledSeconds is null
            ? ""
            : string.Create(CultureInfo.InvariantCulture, $", last counted-only at {LastUnsampledSeconds:0.000} s, last sampled at {LastSampledSeconds:0.000} s"));
}

/// <summary>What the campaign holds after a round, read back with GetCampaignCrashes and GetCampaign.</summary>
/// <param name="SamplesExpected">Σ min(crash-samples, count) over the unique crashes: a sample is fetched while a crash has fewer.</param>
/// <param name="MinimizationJobs">Jobs the campaign added to minimize new unique crashes (informational).</param>
/// <param name="SnapshotBytes">The campaign's latest snapshot in the snapshot store (informational: the whole state, saved every
/// campaign-snapshot-every events once the journal has caught up).</param>
public sealed record DedupCheck(
    long Reports,
    int UniqueCrashes,
    long CountSum,
    long ReproduceAttempts,
    int SamplesKept,
    int SamplesExpected,
    int SamplesInMasterStore,
    int MinimizationJobs,
    long? SnapshotBytes);

/// <param name="Order">Which side ran first ("raw first" or "dedup first"): alternated so neither always gets the fresher journal.</param>
/// <param name="Ratio">Dedup reports/s ÷ raw journal events/s of this round.</param>
public sealed record DedupRound(
    int Round, string Order, string CampaignId, int Reports, int ExpectedUnique, BurstSide? RawJournal, BurstSide? Dedup, double? Ratio, DedupCheck? Check,
    string? Error);

/// <summary>
/// Crash reports de-duplicated per second by the master's campaign entity, against the raw throughput of the same
/// SQLite journal, both in one in-process master (see <see cref="InProcessMaster"/>).
/// </summary>
public sealed class DedupBenchmark(BenchmarkOptions options, Workspace workspace)
{
    /// <summary>The issue's goal: reports de-duplicated per second with 1 % of them unique.</summary>
    public const double GoalReportsPerSecond = 10_000;

    /// <summary>One report in this many brings a new signature (1 % unique).</summary>
    public const int UniqueEvery = 100;

    /// <summary>Reports (and raw events) of the unmeasured warm-up round: JIT, connection pool, shard allocation.</summary>
    public const int WarmUpReports = 2_000;

    private const int ReproduceAttempts = 3;

    /// <summary>
    /// After each side: lets what the burst started finish before the next is timed (minimization jobs of new crashes,
    /// a campaign snapshot, the WAL checkpoint).
    /// </summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    private static readonly BlobId Target = BlobId.Of("dedup benchmark target (never fetched)"u8);

    private static readonly BotId Bot = new("bot-dedup-bench");

    public static int Unique(int reports) => (reports + UniqueEvery - 1) / UniqueEvery;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        Console.WriteLine($"dedup: {options.Rounds} rounds x {options.Reports:N0} crash reports ({Unique(options.Reports):N0} unique signatures, 1 %), " +
                          $"each round against {options.Reports:N0} raw journal events; + one unmeasured warm-up round of {WarmUpReports:N0}");
        if (options.ConfigOverrides.Count > 0)
        {
            Console.WriteLine($"settings over the shipped hocon/ files: {string.Join("; ", options.ConfigOverrides)}");
        }

        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");

        var rounds = new List<DedupRound>();
        object masterInfo;
        object eventBytes;
        var starting = Stopwatch.StartNew();
        await using (var master = await InProcessMaster.StartAsync(workspace.Dir("master"), options.ConfigOverrides, TimeSpan.FromSeconds(60), cancellationToken))
        {
            var journal = master.System.Settings.Config.GetConfig("akka.persistence.journal.sql");
            masterInfo = new
            {
                configFiles = InProcessMaster.ConfigFiles,
                database = master.DatabasePath,
                address = master.SelfAddress.ToString(),
                master.Settings.CrashSamples,
                master.Settings.CampaignSnapshotEvery,
                journal = new
                {
                    providerName = journal.GetString("provider-name"),
                    batchSize = journal.GetInt("batch-size"),
                    dbRoundTripMaxBatchSize = journal.GetInt("db-round-trip-max-batch-size"),
                    parallelism = journal.GetInt("parallelism"),
                    bufferSize = journal.GetInt("buffer-size"),
                    tagWriteMode = journal.GetString("tag-write-mode"),
                },
            };
            Console.WriteLine($"master: in this process ({master.SelfAddress}, up in {starting.Elapsed.TotalSeconds:0.0} s), journal {master.DatabasePath} (WAL); crash-samples {master.Settings.CrashSamples}, " +
                              $"campaign-snapshot-every {master.Settings.CampaignSnapshotEvery}; SQL journal batch-size {journal.GetInt("batch-size")}, " +
                              $"parallelism {journal.GetInt("parallelism")}, buffer-size {journal.GetInt("buffer-size")}");

            // The "bot": its blob server over the store holding every crash input, as a bot agent serves its outbox.
            var botStore = new ContentAddressedStore(workspace.Dir("bot-blobs"));
            var botBlobs = master.System.ActorOf(Props.Create(() => new BlobServerActor(botStore)), BlobServerActor.BotName);
            var blobSource = master.PathOf(botBlobs);
            var sizes = EventSizes(master.System);
            eventBytes = sizes;
            Console.WriteLine($"events as serialized: raw {sizes.Raw} B; CrashReported {sizes.CrashReportedNewSignature} B for a new signature " +
                              $"(output and stack kept), {sizes.CrashReportedKnownSignature} B for a known one");

            var warmUp = await RunRoundAsync(0, WarmUpReports, master, botStore, blobSource, cancellationToken);
            if (warmUp.Error is not null)
            {
                throw new InvalidOperationException($"The warm-up round failed, so the rounds would too: {warmUp.Error}");
            }

            for (var round = 1; round <= options.Rounds; round++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                rounds.Add(await RunRoundAsync(round, options.Reports, master, botStore, blobSource, cancellationToken));
            }
        }

        var ok = rounds.Where(r => r.Ratio is not null).ToList();
        var summaries = new List<MeasureSummary>
        {
            Summary.Of("crash reports de-duplicated vs. raw journal events", "/s", [.. ok.Select(r => (r.RawJournal!.PerSecond, r.Dedup!.PerSecond))], null,
                "baseline: one small event per command persisted with PersistAllAsync by a logic-free persistent actor; " +
                "pandafuzz: ReportCrash to the campaign region until every CrashAccepted"),
        };
        var median = Summary.Median([.. ok.Select(r => r.Dedup!.PerSecond)]);
        var goalMet = ok.Count > 0 && median >= GoalReportsPerSecond;

        Console.WriteLine();
        Console.WriteLine($"dedup ({ok.Count} of {options.Rounds} rounds x {options.Reports:N0} reports, 1 % unique, in-process master on SQLite):");
        Console.Write(Summary.Table(summaries));
        Console.WriteLine($"per round, dedup reports/s: {string.Join(", ", ok.Select(r => Summary.Number(r.Dedup!.PerSecond)))}");
        Console.WriteLine($"per round, raw events/s:    {string.Join(", ", ok.Select(r => Summary.Number(r.RawJournal!.PerSecond)))}");
        Console.WriteLine($"per round, ratio:           {string.Join(", ", ok.Select(r => Summary.Ratio(r.Ratio!.Value)))}");
        Console.WriteLine($"dedup median {Summary.Number(median)} reports/s; goal >= {Summary.Number(GoalReportsPerSecond)}/s: {(goalMet ? "MET" : "MISSED")}");

        var report = new
        {
            benchmark = "dedup",
            mode = options.Mode,
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            settings = new
            {
                options.Rounds,
                options.Reports,
                configOverrides = options.ConfigOverrides,
                uniquePercent = 100.0 / UniqueEvery,
                warmUpReports = WarmUpReports,
                settleSeconds = Settle.TotalSeconds,
                goalReportsPerSecond = GoalReportsPerSecond,
            },
            machine,
            master = masterInfo,
            eventBytes,
            summary = summaries,
            // The suite's row: the goal is on the de-duplicated reports/s themselves; the raw journal's rate is its baseline.
            measures = new[]
            {
                Summary.Bounded("dedup: crash reports/s on the master (1 % unique)", "/s", [.. ok.Select(r => r.Dedup!.PerSecond)],
                    [.. ok.Select(r => r.RawJournal!.PerSecond)], GoalReportsPerSecond, atMost: false, "baseline: raw journal events/s of the same run"),
            },
            goal = new { reportsPerSecond = GoalReportsPerSecond, medianReportsPerSecond = median, met = goalMet },
            rounds,
            problems = workspace.Problems,
        };
        var path = Summary.WriteJson(report, options.OutputDir, "dedup", startedAt);
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();

        if (rounds.Any(r => r.Error is not null))
        {
            workspace.Failed = true;
            return 2;
        }

        return goalMet ? 0 : 1;
    }

    private async Task<DedupRound> RunRoundAsync(
        int round, int reports, InProcessMaster master, ContentAddressedStore botStore, string blobSource, CancellationToken cancellationToken)
    {
        var name = round == 0 ? "warm-up" : $"round {round}/{options.Rounds}";
        var campaignId = CampaignId.New();
        var unique = Unique(reports);
        var rawFirst = round % 2 == 0;
        var order = rawFirst ? "raw first" : "dedup first";
        BurstSide? raw = null;
        BurstSide? dedup = null;
        DedupCheck? check = null;
        IReadOnlyDictionary<object, double>? dedupAnswers = null;
        try
        {
            var workload = Workload.Create(round, reports, campaignId, blobSource, botStore);
            var spec = new CampaignSpec($"dedup-{round.ToString(CultureInfo.InvariantCulture)}", Target, EngineNames.LibFuzzer, Jobs: 1, DurationSeconds: 3600,
                MemoryLimitMb: 2048, TimeoutMs: 1000, Dictionary: null);
            await AskFor<CampaignQueries.CampaignView>(master.Campaigns, new CreateCampaign(campaignId, spec));
            // The inputs just written are dirty pages and new files: flushed now, or the first fsync of the timed
            // journal writes (or a sample fetch) would pay for them.
            var sync = await ProcessRunner.RunAsync("sync", [], TimeSpan.FromMinutes(2), cancellationToken);
            if (!sync.Succeeded)
            {
                workspace.Problem($"{name}: `sync` failed (exit {sync.ExitCode}): {sync.Tail(3)}");
            }

            await Task.Delay(Settle, cancellationToken);

            for (var side = 0; side < 2; side++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if ((side == 0) == rawFirst)
                {
                    raw = await RunRawAsync(master, campaignId, reports, cancellationToken);
                }
                else
                {
                    var result = await BurstAsync(master.System, master.Campaigns, workload.Reports, workload.Inputs,
                        reply => reply is CrashAccepted accepted ? accepted.Input : null, $"{name} dedup", cancellationToken);
                    dedupAnswers = result.AnsweredAt;
                    dedup = BurstSide.Of(result, CountJournalEvents(master.DatabasePath, "campaign-" + campaignId.Value, "CrashReported.v1"));
                }

                await Task.Delay(Settle, cancellationToken);
            }

            (check, var samples) = await CheckAsync(master, campaignId, reports, unique);
            dedup = dedup! with
            {
                LastSampledSeconds = dedupAnswers!.Where(a => samples.Contains((BlobId)a.Key)).Select(a => a.Value).DefaultIfEmpty(double.NaN).Max(),
                LastUnsampledSeconds = dedupAnswers!.Where(a => !samples.Contains((BlobId)a.Key)).Select(a => a.Value).DefaultIfEmpty(double.NaN).Max(),
            };
            if (raw!.JournalEvents != reports || dedup!.JournalEvents != reports)
            {
                throw new InvalidOperationException(
                    $"the journal holds {raw.JournalEvents} raw events and {dedup!.JournalEvents} CrashReported events, expected {reports} of each");
            }

            var ratio = dedup.PerSecond / raw.PerSecond;
            Console.WriteLine($"[{name}] raw journal: {reports:N0} events in {raw.Seconds:0.000} s = {Summary.Number(raw.PerSecond)} events/s ({raw.Detail()})");
            Console.WriteLine($"[{name}] dedup: {reports:N0} reports in {dedup.Seconds:0.000} s = {Summary.Number(dedup.PerSecond)} reports/s ({dedup.Detail()})");
            Console.WriteLine($"[{name}] ratio {Summary.Ratio(ratio)} ({order}); checked: {check.UniqueCrashes} unique crashes, {check.Reports:N0} reports counted, " +
                              $"{check.SamplesKept} samples fetched, {check.MinimizationJobs} minimization jobs, campaign snapshot {Bytes(check.SnapshotBytes)}");
            return new DedupRound(round, order, campaignId.Value, reports, unique, raw, dedup, ratio, check, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            workspace.Problem($"{name} (campaign {campaignId}) failed: {ex.Message}");
            return new DedupRound(round, order, campaignId.Value, reports, unique, raw, dedup, null, check, ex.Message);
        }
    }

    /// <summary>The baseline side: the same number of events through the same journal, with nothing else to do.</summary>
    private async Task<BurstSide> RunRawAsync(InProcessMaster master, CampaignId campaignId, int events, CancellationToken cancellationToken)
    {
        var persistenceId = "bench-raw-" + campaignId.Value;
        var actor = master.System.ActorOf(Props.Create(() => new RawJournalActor(persistenceId, campaignId)));
        try
        {
            await AskFor<RawJournalActor.Ping>(actor, RawJournalActor.Ping.Instance);
            var messages = Enumerable.Range(0, events).Select(i => (object)new RawJournalActor.Append(i)).ToList();
            var expected = new HashSet<object>(Enumerable.Range(0, events).Select(i => (object)i));
            var result = await BurstAsync(master.System, actor, messages, expected, reply => reply is RawJournalActor.Appended appended ? appended.Sequence : null,
                $"raw journal ({persistenceId})", cancellationToken);
            return BurstSide.Of(result, CountJournalEvents(master.DatabasePath, persistenceId, null));
        }
        finally
        {
            master.System.Stop(actor);
        }
    }

    private async Task<BurstResult> BurstAsync(
        ActorSystem system, IActorRef target, IReadOnlyList<object> messages, IReadOnlySet<object> expected, Func<object, object?> replyKey, string what,
        CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<BurstResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sender = system.ActorOf(Props.Create(() => new BurstSender(target, messages, expected, replyKey, done)));
        try
        {
            var cpuBefore = Environment.CpuUsage.TotalTime;
            sender.Tell(BurstSender.Go.Instance);
            // Generous: 60 s plus 10 ms per message (100 messages/s would still finish).
            var timeout = TimeSpan.FromSeconds(60 + (messages.Count / 100.0));
            BurstResult result;
            try
            {
                result = await done.Task.WaitAsync(timeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                var partial = await sender.Ask<BurstResult>(BurstSender.Snapshot.Instance, AskTimeout, cancellationToken);
                throw new TimeoutException($"{what}: {partial.Acknowledged:N0} of {partial.Sent:N0} answered within {timeout.TotalSeconds:0} s");
            }

            result = result with { ProcessCpuSeconds = (Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds };
            if (result.Repeated > 0 || result.Unexpected > 0)
            {
                workspace.Problem($"{what}: {result.Repeated} repeated and {result.Unexpected} unexpected replies ({string.Join("; ", result.Examples)})");
            }

            return result;
        }
        finally
        {
            system.Stop(sender);
        }
    }

    /// <summary>Reads the campaign back and checks the de-duplication: every report counted once, into the right number of crashes.</summary>
    private static async Task<(DedupCheck Check, HashSet<BlobId> Samples)> CheckAsync(InProcessMaster master, CampaignId campaignId, int reports, int unique)
    {
        var crashes = await AskFor<CampaignCrashes>(master.Campaigns, new GetCampaignCrashes(campaignId));
        var view = await AskFor<CampaignQueries.CampaignView>(master.Campaigns, new GetCampaign(campaignId));
        var samples = crashes.Crashes.SelectMany(c => c.Samples).Distinct().ToList();
        var check = new DedupCheck(
            crashes.Reports,
            crashes.Crashes.Count,
            crashes.Crashes.Sum(c => c.Count),
            crashes.Crashes.Sum(c => c.ReproduceAttempts),
            samples.Count,
            crashes.Crashes.Sum(c => (int)Math.Min(master.Settings.CrashSamples, c.Count)),
            samples.Count(master.Blobs.Contains),
            view.JobIds.Count - view.Spec.Jobs,
            SnapshotBytes(master.DatabasePath, "campaign-" + campaignId.Value));
        var wrong = new List<string>();
        if (check.Reports != reports)
        {
            wrong.Add($"Reports {check.Reports}, expected {reports}");
        }

        if (check.UniqueCrashes != unique)
        {
            wrong.Add($"{check.UniqueCrashes} unique crashes, expected {unique}");
        }

        if (check.CountSum != reports)
        {
            wrong.Add($"the unique crashes' counts add up to {check.CountSum}, expected {reports}");
        }

        if (check.ReproduceAttempts != (long)reports * ReproduceAttempts)
        {
            wrong.Add($"{check.ReproduceAttempts} reproduction attempts, expected {(long)reports * ReproduceAttempts}");
        }

        if (check.SamplesKept != check.SamplesExpected || check.SamplesInMasterStore != check.SamplesKept)
        {
            wrong.Add($"{check.SamplesKept} samples kept ({check.SamplesInMasterStore} in the master's store), expected {check.SamplesExpected}");
        }

        return wrong.Count == 0 ? (check, [.. samples]) : throw new InvalidOperationException($"wrong de-duplication: {string.Join("; ", wrong)}");
    }

    /// <summary>Serialized sizes of the events each side writes, from the protocol serializer (the journal stores these bytes).</summary>
    private static EventBytes EventSizes(ActorSystem system)
    {
        var campaignId = CampaignId.New();
        var first = Workload.Finding(0, 0, 0, BlobId.Of("x"u8), 100);
        var known = first with { Output = string.Empty, Stack = [], Summary = string.Empty };
        var record = new CrashRecord(CrashId.ForSignature(campaignId, first.Signature!), campaignId, JobId.For(campaignId, 0), Bot, first);
        int Size(object e) => system.Serialization.FindSerializerFor(e).ToBinary(e).Length;
        return new EventBytes(
            Size(new CampaignEvents.CampaignStopRequested(campaignId, DateTimeOffset.UtcNow)),
            Size(new CampaignEvents.CrashReported(campaignId, record, true, DateTimeOffset.UtcNow)),
            Size(new CampaignEvents.CrashReported(campaignId, record with { Finding = known }, false, DateTimeOffset.UtcNow)));
    }

    private sealed record EventBytes(int Raw, int CrashReportedNewSignature, int CrashReportedKnownSignature);

    /// <summary>Events of <paramref name="persistenceId"/> in the journal table (of one manifest, if given).</summary>
    private static long CountJournalEvents(string database, string persistenceId, string? manifest)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = $id" + (manifest is null ? "" : " AND manifest = $manifest");
        command.Parameters.AddWithValue("$id", persistenceId);
        if (manifest is not null)
        {
            command.Parameters.AddWithValue("$manifest", manifest);
        }

        return (long)command.ExecuteScalar()!;
    }

    /// <summary>The size of the latest snapshot of <paramref name="persistenceId"/>, if it has one.</summary>
    private static long? SnapshotBytes(string database, string persistenceId)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT length(snapshot) FROM snapshot WHERE persistence_id = $id ORDER BY sequence_number DESC LIMIT 1";
        command.Parameters.AddWithValue("$id", persistenceId);
        return command.ExecuteScalar() is long bytes ? bytes : null;
    }

    private static string Bytes(long? bytes) =>
        bytes is { } b ? (b >= 1 << 20 ? $"{b / (double)(1 << 20):0.0} MiB" : $"{b / 1024.0:0.0} KiB") : "none";

    private static async Task<T> AskFor<T>(IActorRef actor, object message)
    {
        var reply = await actor.Ask<object>(message, AskTimeout);
        return reply is T typed ? typed : throw new InvalidOperationException($"{message.GetType().Name} was answered with {reply}");
    }

    /// <summary>
    /// A round's crash reports: distinct inputs, stored in the bot's blob store; report i brings signature i/100 when
    /// i is a multiple of 100, and otherwise repeats one of the signatures brought so far, picked at random.
    /// </summary>
    private sealed record Workload(IReadOnlyList<object> Reports, IReadOnlySet<object> Inputs)
    {
        private static readonly string[] Kinds = ["Heap-buffer-overflow READ 4", "Heap-buffer-overflow WRITE 1", "Use-after-free READ 8", "Null-dereference READ", "Stack-buffer-overflow READ 2"];

        /// <summary>ASan's report is a few KiB; the bot sends it with every report and the master keeps only a new signature's.</summary>
        private static readonly string Output = string.Join('\n', Enumerable.Range(0, 40).Select(i =>
            $"    #{i} 0x{0x4f1a2b + (i * 0x40):x} in frame_{i} /src/parser/parser.c:{40 + i}:7 shadow bytes around the buggy address fa fa fd fd"));

        public static Workload Create(int round, int reports, CampaignId campaignId, string blobSource, ContentAddressedStore botStore)
        {
            var random = new Random(round + 1);
            var job = JobId.For(campaignId, 0);
            var messages = new List<object>(reports);
            var inputs = new HashSet<object>();
            var bytes = new byte[256];
            for (var i = 0; i < reports; i++)
            {
                var signature = i % UniqueEvery == 0 ? i / UniqueEvery : random.Next(0, (i / UniqueEvery) + 1);
                // Distinct inputs: a header naming the report, then random bytes, 64 to 256 in all.
                var size = random.Next(64, 257);
                random.NextBytes(bytes);
                Encoding.ASCII.GetBytes($"{campaignId} {i:D8} ").CopyTo(bytes, 0);
                var content = bytes.AsSpan(0, size);
                var input = BlobId.Of(content);
                // Straight into the store's layout: PutAsync fsyncs every file, minutes for 100,000 inputs that are
                // set-up, not what is measured. The master verifies each sample's sha256 when it fetches it.
                var path = botStore.PathOf(input);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, content);
                inputs.Add(input);
                messages.Add(new ReportCrash(campaignId, job, Bot, Finding(round, signature, i, input, size), blobSource));
            }

            return new Workload(messages, inputs);
        }

        public static CrashFinding Finding(int round, int signature, int report, BlobId input, long size)
        {
            var kind = Kinds[signature % Kinds.Length];
            var state = $"parse_field_{signature}\nread_record\nLLVMFuzzerTestOneInput";
            return new CrashFinding(
                input,
                size,
                "crash-" + input.Sha256[..40],
                kind,
                $"AddressSanitizer: {kind} in parse_field_{signature} parser.c:{42 + signature}:7",
                [$"#0 0x4f1a2b in parse_field_{signature} parser.c:{42 + signature}:7", "#1 0x4f1b00 in read_record parser.c:80:3",
                    "#2 0x4f1c00 in LLVMFuzzerTestOneInput parser.c:120:3", "#3 0x4f2000 in fuzzer::Fuzzer::ExecuteCallback FuzzerLoop.cpp:614:13"],
                $"==12==ERROR: AddressSanitizer: {kind} (report {report})\n{Output}",
                DateTimeOffset.UtcNow,
                Signature: SignatureOf(round, signature),
                State: state,
                Security: kind.Contains("WRITE", StringComparison.Ordinal) || kind.StartsWith("Use-after-free", StringComparison.Ordinal),
                ReproduceAttempts: ReproduceAttempts,
                Reproduced: ReproduceAttempts);
        }

        /// <summary>16 hex digits, the shape of a bot's signature (a hash of kind and state).</summary>
        private static string SignatureOf(int round, int signature) =>
            Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes($"dedup {round} {signature}")))[..16];
    }
}
