using Akka.Actor;
using FluentAssertions;
using PandaFuzz.Actors.Tests.Fixtures;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;
using PandaFuzz.Master.Configuration;
using Xunit;
using Xunit.Abstractions;
using static PandaFuzz.Protocol.CampaignCommands;
using static PandaFuzz.Protocol.CampaignQueries;

namespace PandaFuzz.Actors.Tests;

/// <summary>
/// A crash reported by a bot: its input is pulled in chunks from the bot's blob server into the master's store,
/// recorded once, acknowledged, and kept across a restart.
/// </summary>
public abstract class CrashRecordingTests(ITestOutputHelper output, StorageProvider storage) : MasterTestKit(output, storage)
{
    private static readonly BotId Bot = new("bot-crashy");

    [Fact]
    public async Task A_reported_crash_is_fetched_recorded_once_acknowledged_and_kept_after_a_restart()
    {
        // Arrange: a campaign, and a bot-side blob server holding a crash input larger than one chunk.
        var master = await StartMasterAsync(TestData.Settings);
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        var input = new byte[(2 * BlobServerActor.MaxChunk) + 1234];
        new Random(7).NextBytes(input);
        var botStore = new ContentAddressedStore(TestDir.PathOf("bot-blobs"));
        var (inputId, inputSize) = await botStore.PutAsync(new MemoryStream(input), long.MaxValue);
        var botBlobs = master.System.ActorOf(Props.Create(() => new BlobServerActor(botStore)), BlobServerActor.BotName);
        var report = Report(campaignId, inputId, inputSize, master.PathOf(botBlobs));
        var bot = CreateTestProbe(master.System, "bot");
        MasterBlobs.Contains(inputId).Should().BeFalse();

        // Act: the bot reports the crash.
        master.Campaigns.Tell(report, bot.Ref);

        // Assert: acknowledged only with the input in the master's store, byte for byte.
        var expectedId = CrashId.For(campaignId, inputId);
        bot.ExpectMsg<CrashAccepted>().Should().Be(new CrashAccepted(campaignId, expectedId, inputId));
        MasterBlobs.Contains(inputId).Should().BeTrue();
        (await File.ReadAllBytesAsync(MasterBlobs.PathOf(inputId))).Should().Equal(input);

        // Act: the bot repeats the report (its acknowledgement was lost).
        master.Campaigns.Tell(report, bot.Ref);

        // Assert: acknowledged again, with the same crash, and still one crash and one CrashReported event.
        bot.ExpectMsg<CrashAccepted>().CrashId.Should().Be(expectedId);
        var crashes = await AskFor<CampaignCrashes>(master.Campaigns, new GetCampaignCrashes(campaignId));
        crashes.Crashes.Should().ContainSingle();
        var crash = crashes.Crashes[0];
        crash.Id.Should().Be(expectedId);
        crash.First.JobId.Should().Be(report.JobId);
        crash.Bots.Should().Equal(Bot);
        crash.Count.Should().Be(1);
        crash.Samples.Should().Equal(inputId);
        crash.First.Finding.Should().BeEquivalentTo(report.Finding);
        (await AskFor<CampaignView>(master.Campaigns, new GetCampaign(campaignId))).CrashCount.Should().Be(1);
        CountJournalEvents("CrashReported.v1").Should().Be(1);

        // Act: restart the master on the same journal and store.
        var restarted = await RestartAsync(master);

        // Assert: the crash is still there, whole.
        var recovered = await AskFor<CampaignCrashes>(restarted.Campaigns, new GetCampaignCrashes(campaignId));
        recovered.Crashes.Should().ContainSingle().Which.Should().BeEquivalentTo(crash);
        (await AskFor<CrashView>(restarted.Campaigns, new GetCrash(campaignId, expectedId))).Crash.Should().BeEquivalentTo(crash);
        (await AskFor<CampaignView>(restarted.Campaigns, new GetCampaign(campaignId))).CrashCount.Should().Be(1);

        // A report repeated after the restart is acknowledged from the journal, with no new event.
        var botAfter = CreateTestProbe(restarted.System, "bot");
        restarted.Campaigns.Tell(report with { BlobSourcePath = "akka.tcp://pandafuzz@127.0.0.1:1/user/gone" }, botAfter.Ref);
        botAfter.ExpectMsg<CrashAccepted>().CrashId.Should().Be(expectedId);
        CountJournalEvents("CrashReported.v1").Should().Be(1);
    }

    [Fact]
    public async Task Reports_of_one_bug_become_one_unique_crash_keeping_a_bounded_number_of_inputs()
    {
        // Arrange: 12 different inputs of one bug (one signature) and one input of another, all on the bot.
        var master = await StartMasterAsync(TestData.Settings with { CrashSamples = 3 });
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        var botStore = new ContentAddressedStore(TestDir.PathOf("bot-blobs"));
        var botBlobs = master.System.ActorOf(Props.Create(() => new BlobServerActor(botStore)), BlobServerActor.BotName);
        var reports = new List<ReportCrash>();
        for (var i = 0; i < 13; i++)
        {
            var (id, size) = await botStore.PutAsync(new MemoryStream(System.Text.Encoding.ASCII.GetBytes($"input {i}")), long.MaxValue);
            var report = Report(campaignId, id, size, master.PathOf(botBlobs));
            var signature = i < 12 ? "00000000000000aa" : "00000000000000bb";
            reports.Add(report with { Finding = report.Finding with { Signature = signature, State = "parse_header", ReproduceAttempts = 3, Reproduced = i % 2 == 0 ? 3 : 0 } });
        }

        var bot = CreateTestProbe(master.System, "bot");

        // Act: all reports at once, twice (a repeat while the first is on its way is answered by the first).
        foreach (var report in reports.Concat(reports))
        {
            master.Campaigns.Tell(report, bot.Ref);
        }

        var acknowledged = new HashSet<BlobId>();
        while (acknowledged.Count < reports.Count)
        {
            acknowledged.Add(bot.ExpectMsg<CrashAccepted>(TimeSpan.FromSeconds(20)).Input);
        }

        // Act: all of them again once counted (lost acknowledgements): each is acknowledged, none counted twice.
        bot.ReceiveWhile(TimeSpan.FromMilliseconds(500), m => m);
        foreach (var report in reports)
        {
            master.Campaigns.Tell(report, bot.Ref);
        }

        bot.ReceiveN(reports.Count, TimeSpan.FromSeconds(20)).Cast<CrashAccepted>().Select(a => a.Input).Should().BeEquivalentTo(acknowledged);

        // Assert: two unique crashes; the first bug counted 12 times with 3 inputs kept.
        var crashes = await AskFor<CampaignCrashes>(master.Campaigns, new GetCampaignCrashes(campaignId));
        crashes.Reports.Should().Be(13);
        crashes.Crashes.Select(c => c.Signature).Should().BeEquivalentTo(["00000000000000aa", "00000000000000bb"]);
        var bug = crashes.Crashes.Single(c => c.Signature == "00000000000000aa");
        bug.Id.Should().Be(CrashId.ForSignature(campaignId, "00000000000000aa"));
        bug.Count.Should().Be(12);
        bug.Samples.Should().HaveCount(3);
        bug.Samples.Should().OnlyContain(sample => MasterBlobs.Contains(sample));
        reports.Take(12).Count(r => MasterBlobs.Contains(r.Finding.Input)).Should().Be(3, "only samples are fetched from the bot");
        (bug.ReproduceAttempts, bug.Reproduced).Should().Be((36L, 18L));
        CountJournalEvents("CrashReported.v1").Should().Be(13);

        // The counts survive a restart.
        var restarted = await RestartAsync(master);
        var recovered = await AskFor<CampaignCrashes>(restarted.Campaigns, new GetCampaignCrashes(campaignId));
        recovered.Crashes.Should().BeEquivalentTo(crashes.Crashes);
    }

    [Fact]
    public async Task A_crash_whose_input_cannot_be_fetched_is_not_acknowledged_nor_recorded()
    {
        var master = await StartMasterAsync(TestData.Settings with { BlobChunkTimeout = TimeSpan.FromSeconds(1) });
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        var emptyStore = new ContentAddressedStore(TestDir.PathOf("bot-blobs"));
        var botBlobs = master.System.ActorOf(Props.Create(() => new BlobServerActor(emptyStore)), BlobServerActor.BotName);
        var missing = BlobId.Of("never stored"u8);
        var bot = CreateTestProbe(master.System, "bot");

        master.Campaigns.Tell(Report(campaignId, missing, 12, master.PathOf(botBlobs)), bot.Ref);

        bot.ExpectNoMsg(TimeSpan.FromSeconds(1));
        (await AskFor<CampaignCrashes>(master.Campaigns, new GetCampaignCrashes(campaignId))).Crashes.Should().BeEmpty();
        MasterBlobs.Contains(missing).Should().BeFalse();
    }

    [Fact]
    public async Task A_crash_input_over_the_limit_is_rejected_and_one_for_an_unknown_campaign_is_not_found()
    {
        var master = await StartMasterAsync(TestData.Settings with { MaxCrashInputBytes = 1024 });
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        var input = BlobId.Of("big"u8);

        var tooLarge = await AskFor<CommandRejected>(master.Campaigns, Report(campaignId, input, 1025, "akka://pandafuzz/user/unused"));
        var unknown = await AskFor<CommandRejected>(master.Campaigns, Report(CampaignId.New(), input, 10, "akka://pandafuzz/user/unused"));

        tooLarge.Kind.Should().Be(RejectionKind.Invalid);
        unknown.Kind.Should().Be(RejectionKind.NotFound);
        (await AskFor<CampaignCrashes>(master.Campaigns, new GetCampaignCrashes(campaignId))).Crashes.Should().BeEmpty();
    }

    private static ReportCrash Report(CampaignId campaign, BlobId input, long size, string blobSourcePath) =>
        new(
            campaign,
            JobId.For(campaign, 0),
            Bot,
            new CrashFinding(
                input,
                size,
                "crash-" + input.Sha256[..40],
                "heap-buffer-overflow",
                "AddressSanitizer: heap-buffer-overflow in parse_header parser.c:42:7",
                ["#0 0x4f1a2b in parse_header parser.c:42:7", "#1 0x4f1c00 in LLVMFuzzerTestOneInput parser.c:80:3"],
                "==12==ERROR: AddressSanitizer: heap-buffer-overflow",
                new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero)),
            blobSourcePath);

    /// <summary>Reads the journal table directly: how many events with this manifest were written.</summary>
    private long CountJournalEvents(string manifest) => JournalScalar("SELECT COUNT(*) FROM journal WHERE manifest = @manifest", ("manifest", manifest));
}

public sealed class CrashRecordingTestsOnSqlite(ITestOutputHelper output) : CrashRecordingTests(output, StorageProvider.Sqlite);

public sealed class CrashRecordingTestsOnPostgreSql(ITestOutputHelper output) : CrashRecordingTests(output, StorageProvider.PostgreSql);
