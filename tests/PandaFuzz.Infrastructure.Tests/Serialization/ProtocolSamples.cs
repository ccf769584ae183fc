using System.Collections.Immutable;
using PandaFuzz.Domain.Bots;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Domain.Corpus;
using PandaFuzz.Domain.Jobs;
using PandaFuzz.Domain.Targets;
using PandaFuzz.Protocol;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Infrastructure.Tests.Serialization;

/// <summary>One realistic instance of every type the protocol serializer carries, keyed by type.</summary>
internal static class ProtocolSamples
{
    // A non-UTC offset, so a round trip that loses the offset is caught.
    private static readonly DateTimeOffset At = new(2025, 3, 14, 11, 26, 53, 123, TimeSpan.FromHours(2));

    private static readonly CrashId Crash = CrashId.ForSignature(Campaign, Signature);

    private static CrashRecord CrashRecord(BlobId input, string signature = Signature) =>
        new(CrashId.ForSignature(Campaign, signature), Campaign, Job(1), BotA, Finding(input, At, signature));

    private static CampaignState Empty() =>
        new(Campaign,
            CampaignSpec(jobs: 3),
            CampaignStatus.Stopping,
            [Job(0), Job(1), Job(2)],
            ImmutableDictionary<string, JobStatus>.Empty.Add(Job(0).Value, JobStatus.Completed).Add(Job(2).Value, JobStatus.Failed),
            ImmutableDictionary<string, UniqueCrash>.Empty,
            At,
            null);

    public static CampaignState CampaignSnapshot() =>
        Empty()
            .Apply(new CampaignEvents.CrashReported(Campaign, CrashRecord(CrashInput), true, At))
            .Apply(new CampaignEvents.CrashReported(Campaign, CrashRecord(OtherCrashInput), false, At.AddMinutes(1)))
            .Apply(new CampaignEvents.CrashMinimized(Campaign, Signature, Minimization(), At));

    public static CampaignSnapshotV1 CampaignSnapshotV1() =>
        new(Campaign, CampaignSpec(jobs: 3), CampaignStatus.Running, [Job(0), Job(1), Job(2)], ImmutableDictionary<string, JobStatus>.Empty,
            [CrashRecord(CrashInput), CrashRecord(OtherCrashInput, OtherSignature)], At, null);

    public static CampaignState RebasedCampaignSnapshot() =>
        CampaignSnapshot().Apply(new CampaignEvents.BugTriaged(Campaign, Signature, new BugTriage(BugStatus.Wontfix, null, "harness only", At), At))
            .Apply(new CampaignEvents.BugVerified(Campaign, Signature, Job(5), new BugBuildCheck(2, true, 3, 3, Signature, At), At)).Apply(new CampaignEvents.CampaignRebased(Campaign, 2, [new EngineTarget(EngineNames.LibFuzzer, BlobId.Of("build 2"u8))], [Job(1)], At))
            .Apply(new CampaignEvents.CoverageMeasured(Campaign, Coverage(), CoverageFiles(), At.AddMinutes(4)));

    private static CrashMinimization Minimization() => new(Job(3), BlobId.Of("FU"u8), 2, null, At);

    private static CoverageTotals CoverageTotals(long lines) => new(new CoverageCount(lines, 412), new CoverageCount(17, 23), new CoverageCount(lines * 2, 960));

    private static CoverageSummary Coverage() =>
        new(Job(7), 2, 3, 39, CoverageTotals(301), 2, BlobId.Of("coverage report"u8), 48_213, At.AddMinutes(3));

    private static IReadOnlyList<CoverageFile> CoverageFiles() =>
    [
        new("/src/png/decode.c", CoverageTotals(280)),
        new("/src/png/chunks.h", new CoverageTotals(new CoverageCount(21, 40), new CoverageCount(2, 3), new CoverageCount(30, 64))),
    ];

    private static UniqueCrash Unique() => CampaignSnapshot().Crashes[Signature];

    public static JobState JobSnapshot() =>
        new(Job(1), Campaign, 1, JobSpec(), JobStatus.Failed, BotA, AgentPathA, "libFuzzer exited with code 77", 2,
            At, At.AddSeconds(1), At.AddSeconds(2), At.AddMinutes(30), Stats(At.AddMinutes(30)));

    public static BotState BotSnapshot() =>
        new(BotA, AgentPathA, "10.0.0.5:4053", "fuzz-box-1", Capabilities(4, EngineNames.LibFuzzer, "aflplusplus"), BotStatus.Offline,
            At, "no check-in for 30s", At.AddMinutes(5), Draining: true);

    private static TargetBuild Build(int number) =>
        new(number, "9f1c2ab", At.AddDays(-1), At, [new TargetBinary(TargetBinaryKinds.Fuzzer, Target, 1_234_567), new TargetBinary(TargetBinaryKinds.Coverage, BlobId.Of("cov"u8), 2_000_000)]);

    public static TargetState TargetSnapshot() =>
        TargetState.Empty("packet-parser")
            .Apply(new TargetEvents.TargetBuildAdded("packet-parser", Build(1), At))
            .Apply(new TargetEvents.TargetBuildBinaryAdded("packet-parser", 1, new TargetBinary(TargetBinaryKinds.Cmplog, BlobId.Of("cmplog"u8), 99), At, "/home/ci/packet-parser"))
            .Apply(new TargetEvents.TargetBuildBinaryAdded("packet-parser", 1, Bundle(), At));

    /// <summary>A build bundle: a fuzz target with everything beside it and one with nothing, and a shared library.</summary>
    private static TargetBinary Bundle() => new(TargetBinaryKinds.Bundle, BlobId.Of("bundle.zip"u8), 3_000_000)
    {
        Index = new BundleIndex(
            [
                new BundleFuzzTarget("parse_packet", "out/parse_packet", 1_500_000)
                {
                    OptionsFile = "out/parse_packet.options",
                    Options = Options(),
                    Dictionary = "out/parse_packet.dict",
                    SeedCorpus = "out/parse_packet_seed_corpus.zip",
                    TimeoutMs = 25_000,
                    MemoryLimitMb = 2560,
                    IgnoredOptions = [new BundleIgnoredOption("libfuzzer.close_fd_mask", "libFuzzer's -close_fd_mask is managed by PandaFuzz: the bot reads the engine's output")],
                },
                new BundleFuzzTarget("parse_header", "out/parse_header", 1_400_000),
            ],
            ["out/lib/libpacket.so.1"]),
    };

    private static CorpusEntry Entry(BlobId input, string source) => new(input, 13, source);

    private static EngineOptions Options() => new(
        LibFuzzer: new Dictionary<string, string> { ["use_value_profile"] = "1", ["max_len"] = "256" },
        AflPlusPlus: new Dictionary<string, string> { ["p"] = "explore" },
        Asan: new Dictionary<string, string> { ["detect_stack_use_after_return"] = "1" });

    private static CampaignSpec EnsembleSpec() =>
        CampaignSpec(jobs: 2) with
        {
            Ensemble = [new EngineTarget(EngineNames.LibFuzzer, Target), new EngineTarget(EngineNames.AflPlusPlus, BlobId.Of("afl build"u8))],
        };

    public static CorpusState CorpusSnapshot() =>
        CorpusState.Empty(Campaign)
            .Apply(new CorpusEvents.CorpusEntriesAdded(Campaign, [Entry(CrashInput, "upload"), Entry(OtherCrashInput, Job(0).Value)], At))
            .Apply(new CorpusEvents.CorpusReplaced(Campaign, 2, [Entry(CrashInput, "minimized")], "minimized", At));

    public static IReadOnlyDictionary<Type, object> All { get; } = new List<object>
    {
        new CampaignEvents.CampaignStopRequested(Campaign, At),
        new CampaignEvents.CampaignJobAdded(Campaign, Job(3), JobSpec() with { Task = JobTask.MinimizeCorpus, DurationSeconds = 600 }, At),
        new CampaignEvents.CampaignJobEnded(Campaign, Job(1), JobStatus.Cancelled, At),
        new CampaignEvents.CampaignFinished(Campaign, CampaignStatus.Stopped, At),
        new CampaignEvents.CrashReported(Campaign, CrashRecord(CrashInput), true, At),
        new CampaignEvents.CrashMinimized(Campaign, Signature, Minimization(), At),
        new JobEvents.JobCreated(Job(1), Campaign, 1, JobSpec() with { Options = Options(), CmplogTarget = BlobId.Of("cmplog"u8), Instance = 1 }, At),
        new JobEvents.JobLaunched(Job(1), "ASAN_OPTIONS=symbolize=1 /work/jobs/x/target -max_total_time=60 /work/jobs/x/corpus", At),
        new JobEvents.JobAssigned(Job(1), BotA, AgentPathA, At),
        new JobEvents.JobStarted(Job(1), BotA, At),
        new JobEvents.JobRequeued(Job(1), "refused by bot-a1b2c3d4e5: no free slot", At),
        new JobEvents.JobCompleted(Job(1), Stats(At), At),
        new JobEvents.JobFailed(Job(1), "the fuzzer failed", null, At),
        new JobEvents.JobCancelled(Job(1), "campaign stopped", At),
        new BotEvents.BotRegistered(BotA, AgentPathA, "10.0.0.5:4053", "fuzz-box-1", Capabilities(8) with { Sandbox = Sandboxed() }, At),
        new BotEvents.BotWentOffline(BotA, "no check-in for 30s", At),
        new BotEvents.BotDrainingChanged(BotA, true, At),
        new CorpusEvents.CorpusEntriesAdded(Campaign, [Entry(CrashInput, "3f2a9c1b0d4e-0"), Entry(OtherCrashInput, "upload")], At),
        new CorpusEvents.CorpusReplaced(Campaign, 2, [Entry(CrashInput, "minimized")], "minimized: 2 → 1 inputs", At),
        CorpusSnapshot(),
        new TargetEvents.TargetBuildAdded("packet-parser", Build(2) with { Revision = null, SourceRoot = "/src/packet-parser", Binaries = [Bundle()] }, At),
        new TargetEvents.TargetBuildBinaryAdded("packet-parser", 2, new TargetBinary(EngineNames.AflPlusPlus, BlobId.Of("afl"u8), 77), At),
        TargetSnapshot(),
        new CampaignEvents.BugTriaged(Campaign, Signature, new BugTriage(BugStatus.Wontfix, null, "harness only", At), At),
        new CampaignEvents.BugVerified(Campaign, Signature, Job(5), new BugBuildCheck(3, false, 3, 0, null, At), At),
        new CampaignEvents.CampaignRebased(Campaign, 2, [new EngineTarget(EngineNames.LibFuzzer, BlobId.Of("build 2"u8))], [Job(1), Job(2)], At),
        new CampaignEvents.CampaignCreated(Campaign, EnsembleSpec() with { Options = Options(), Cmplog = BlobId.Of("cmplog"u8), Priority = 4 }, [Job(0), Job(1)], At),
        new CampaignEvents.CoverageMeasured(Campaign, Coverage(), CoverageFiles(), At.AddMinutes(4)),
        RebasedCampaignSnapshot(),
        JobSnapshot(),
        BotSnapshot(),

        Ack.Instance,
        new CommandRejected("campaign 3f2a9c1b0d4e does not exist", RejectionKind.NotFound),
        new CampaignCommands.CreateCampaign(Campaign, CampaignSpec() with { Dictionary = null }),
        new CampaignCommands.StopCampaign(Campaign),
        new CampaignCommands.ReportJobEnded(Campaign, Job(2), JobStatus.Completed, At),
        new CampaignCommands.ReportCrash(Campaign, Job(1), BotA, Finding(CrashInput, At), "akka.tcp://pandafuzz@10.0.0.5:4053/user/blobs"),
        new CampaignCommands.CrashAccepted(Campaign, Crash, CrashInput),
        new CampaignCommands.WakeCampaign(Campaign, RetellJobs: true),
        new CampaignQueries.GetCampaign(Campaign),
        new CampaignQueries.GetCampaignCrashes(Campaign),
        new CampaignQueries.GetCrash(Campaign, Crash),
        new CampaignQueries.GetCrashInput(Campaign, CrashInput),
        new CampaignQueries.CrashInputStatus(Campaign, CrashInput, true),
        new CampaignQueries.CampaignView(Campaign, CampaignSpec(), CampaignStatus.Running, [Job(0), Job(1), Job(2)], 2, At, null),
        new CampaignQueries.CampaignCrashes(Campaign, [Unique()], 2, 1, [BugId.ForLeader(Campaign, Signature)]),
        new CampaignQueries.CrashView(Unique(), BugId.ForLeader(Campaign, Signature),
            new ReproduceCommand(EngineNames.AflPlusPlus, "target-3f2a9c1b0d4e", [], new Dictionary<string, string> { ["UBSAN_OPTIONS"] = "halt_on_error=1" })),
        new CampaignQueries.GetCampaignBugs(Campaign, 10, 20, BugStatus.Wontfix),
        new CampaignQueries.GetBug(Campaign, BugId.ForLeader(Campaign, Signature)),
        new CampaignQueries.CampaignBugs(Campaign, [new BugGroup(BugId.ForLeader(Campaign, Signature), Unique(), [Unique()])], 1),
        new CampaignQueries.BugView(new BugGroup(BugId.ForLeader(Campaign, Signature), Unique(), [Unique()],
            new BugTriage(BugStatus.Duplicate, "https://bugs.example.com/12", "same as #12", At), [new BugBuildCheck(2, true, 3, 1, Signature, At)], 1),
            new ReproduceCommand(EngineNames.LibFuzzer, "png decoder", ["-runs=1"], new Dictionary<string, string> { ["ASAN_OPTIONS"] = "handle_abort=1" })),
        new CampaignCommands.TriageBug(Campaign, BugId.ForLeader(Campaign, Signature), BugStatus.Fixed, "", null),
        new CampaignCommands.VerifyBugs(Campaign, Build(2)),
        new CampaignCommands.VerificationsAdded(Campaign, [Job(6), Job(7)]),
        new CampaignCommands.ReportBugVerified(Campaign, Job(6), Signature, 2, 3, 2, OtherSignature),
        new CampaignCommands.ReportCrashMinimized(Campaign, Job(3), Signature, BlobId.Of("FU"u8), 2, null, "akka.tcp://pandafuzz@10.0.0.5:4053/user/bot-blobs"),
        new JobCommands.CreateJob(Job(0), Campaign, 0, JobSpec()),
        new JobCommands.AssignJob(Job(0), BotA, AgentPathA),
        new JobCommands.ConfirmJobStarted(Job(0), BotA, At),
        new JobCommands.RefuseJob(Job(0), BotA, "engine libfuzzer is not installed"),
        new JobCommands.ReportJobStats(Job(0), BotA, Stats(At), "afl-fuzz -i in -o out -S job -p explore -- target @@"),
        new JobCommands.ReportJobFinished(Job(0), BotA, false, "target binary is not executable", Stats(At)),
        new JobCommands.CancelJob(Job(0), "campaign stopped"),
        new JobCommands.WakeJob(Job(0)),
        new JobCommands.BotLost(Job(0), BotA, "node 10.0.0.5:4053 was downed"),
        new JobCommands.JobEndAcknowledged(Job(0)),
        new JobCommands.JobCommandAccepted(Job(0)),
        new JobQueries.GetJob(Job(0)),
        new JobQueries.JobView(Job(0), Campaign, 0, JobStatus.Running, BotA, null, At, At.AddSeconds(1), At.AddSeconds(2), null, Stats(At),
            CommandLine: "target -use_value_profile=1 corpus", Options: Options()),
        new BotCommands.CheckIn(BotA, AgentPathA, "10.0.0.5:4053", "fuzz-box-1", Capabilities(4) with { Sandbox = Sandboxed() }, [Job(0), Job(1)], At, 8_123_456_789),
        new BotCommands.CheckInAccepted(BotA),
        new BotCommands.NodeLost(BotA, 8_123_456_789, "node 10.0.0.5:4053 was downed", At),
        new BotCommands.SetDraining(BotA, true),
        new BotQueries.GetBot(BotA),
        new BotQueries.BotView(BotA, "10.0.0.5:4053", "fuzz-box-1", BotStatus.Online, Capabilities(4), [Job(0)], At, At.AddSeconds(5), null, null),
        new SchedulerMessages.JobPending(Job(0), EngineNames.LibFuzzer, At),
        new SchedulerMessages.JobReleased(Job(0), null),
        new SchedulerMessages.JobQueued(Job(0), StayInMemory: false),
        new SchedulerMessages.BotAvailable(BotA, AgentPathA, Capabilities(4), [Job(1)], 8_123_456_789),
        new SchedulerMessages.BotUnavailable(BotA),
        new SchedulerMessages.AssignmentAccepted(Job(0), BotA),
        new SchedulerMessages.AssignmentRejected(Job(0), BotA, "job 3f2a9c1b0d4e-0 is running, not pending"),
        new SchedulerMessages.GetQueue(100, 50),
        new SchedulerMessages.QueueView([Job(0), Job(2)], 3, 5, At, 2),
        new SchedulerMessages.SetCampaignWeights(new Dictionary<string, int> { ["3f2a9c1b0d4e"] = 3 }),
        new AgentCommands.StartJob(Job(0), Campaign, JobSpec(), "akka.tcp://pandafuzz@10.0.0.1:4053/user/blobs", At),
        new AgentCommands.StopJob(Job(0), "campaign stopped"),
        new CampaignCommands.MinimizeCorpus(Campaign, 600),
        new CampaignCommands.JobAdded(Campaign, Job(3)),
        new CampaignCommands.MeasureCoverage(Campaign, 2, BlobId.Of("coverage build"u8), 600),
        new CampaignCommands.ReportCoverage(Campaign, Job(7), 3, 39, BlobId.Of("coverage report"u8), 48_213, At, "akka.tcp://pandafuzz@10.0.0.5:4053/user/bot-blobs"),
        new CampaignCommands.CheckCoverage(Campaign),
        new CampaignCommands.SetCampaignPriority(Campaign, 5),
        new CampaignEvents.CampaignPriorityChanged(Campaign, 5, At),
        new SchedulerMessages.CampaignPriority(Campaign, 5),
        new CampaignCommands.CoverageChecked(Campaign, At),
        new CampaignQueries.GetCoverage(Campaign),
        new CampaignQueries.CoverageView(Campaign, Coverage(), [Coverage() with { JobId = Job(6), MeasuredAt = At }, Coverage()], Job(8)),
        new CampaignQueries.GetCoverageFiles(Campaign, CoverageFileOrder.Name, 20, 10),
        new CampaignQueries.CoverageFiles(Campaign, CoverageFiles(), 2),
        new JobQueries.GetJobStatsSeries(Job(1)),
        new JobQueries.JobStatsSeries(Job(1), [Stats(At), Stats(At.AddSeconds(30)) with { Stability = 99.5, Crashes = 2, Imported = 7, LastFindAt = At }]),
        new CorpusCommands.OfferCorpus(Campaign, Job(1), [Entry(CrashInput, Job(1).Value)], "akka.tcp://pandafuzz@10.0.0.5:4053/user/bot-blobs"),
        new CorpusCommands.CorpusOfferAccepted(Campaign, Job(1), [CrashInput]),
        new CorpusCommands.AddCorpusEntries(Campaign, [Entry(OtherCrashInput, "upload")]),
        new CorpusCommands.ReplaceCorpus(Campaign, 1, [Entry(CrashInput, "minimized")], "minimized"),
        new CorpusCommands.CorpusChanged(Campaign, 2, 1, 13),
        new CorpusQueries.GetCorpusPage(Campaign, 1, 200, 500),
        new CorpusQueries.CorpusPage(Campaign, 1, 200, [Entry(CrashInput, "upload")], 201),
        new CorpusQueries.GetCorpusSummary(Campaign),
        new TargetCommands.AddTargetBinary("packet-parser", Bundle(), "9f1c2ab", At, null, "/src/packet-parser"),
        new TargetCommands.TargetBinaryAdded("packet-parser", Build(1), true),
        new TargetQueries.GetTargetBuilds("packet-parser"),
        new CampaignCommands.RebaseCampaign(Campaign, 2, [new EngineTarget(EngineNames.LibFuzzer, Target)], new Dictionary<string, DateTimeOffset> { [Job(1).Value] = At }),
        new TargetQueries.TargetBuilds("packet-parser", [Build(1), Build(2)]),
        new CorpusQueries.CorpusSummary(Campaign, 2, 1, 13, [new CorpusQueries.CorpusVersionInfo(1, 2, 26, "created", At), new CorpusQueries.CorpusVersionInfo(2, 1, 13, "minimized", At)]),
        new BlobTransfer.GetChunk(Target, 49_152, 49_152),
        new BlobTransfer.Chunk(Target, 49_152, 120_000, [0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0xff]),
        new BlobTransfer.NotFound(Target),
        new BlobTransfer.GetBlobs([CrashInput, Target], 49_152),
        new BlobTransfer.BlobsChunk([new BlobTransfer.Chunk(CrashInput, 0, 3, [0x41, 0x42, 0x43])], [Target]),
    }.ToDictionary(o => o.GetType());
}
