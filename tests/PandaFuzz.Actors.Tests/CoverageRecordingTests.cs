using System.IO.Compression;
using Akka.Actor;
using FluentAssertions;
using PandaFuzz.Actors.Tests.Fixtures;
using PandaFuzz.Domain.Coverage;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master.Campaigns;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Projection;
using PandaFuzz.ReadModel;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Protocol;
using Xunit;
using Xunit.Abstractions;
using static PandaFuzz.Protocol.CampaignCommands;
using static PandaFuzz.Protocol.CampaignQueries;

namespace PandaFuzz.Actors.Tests;

/// <summary>
/// A coverage job's report: the campaign adds the job, pulls the report's zip from the bot's blob server, reads its
/// summary, journals it once, acknowledges it, and answers it after a restart.
/// </summary>
public abstract class CoverageRecordingTests(ITestOutputHelper output, StorageProvider storage) : MasterTestKit(output, storage)
{
    private const string Summary = """
        {"type":"llvm.coverage.json.export","version":"2.0.1","data":[{"files":[
        {"filename":"/src/parser.c","summary":{"lines":{"count":40,"covered":30},"functions":{"count":4,"covered":3},"regions":{"count":50,"covered":20}}},
        {"filename":"/src/util.h","summary":{"lines":{"count":10,"covered":2},"functions":{"count":2,"covered":1},"regions":{"count":8,"covered":2}}}],
        "totals":{"lines":{"count":50,"covered":32},"functions":{"count":6,"covered":4},"regions":{"count":58,"covered":22}}}]}
        """;

    [Fact]
    public async Task A_coverage_report_is_fetched_read_journaled_once_acknowledged_and_kept_after_a_restart()
    {
        // Arrange: a campaign on build 1 of "parser", its coverage job, and the bot's zip of the report.
        var master = await StartMasterAsync(TestData.Settings);
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1) with { TargetName = "parser", Build = 1 }));
        var binary = BlobId.Of("parser coverage build"u8);
        var job = (await AskFor<JobAdded>(master.Campaigns, new MeasureCoverage(campaignId, 1, binary, 600))).JobId;
        (await AskFor<JobAdded>(master.Campaigns, new MeasureCoverage(campaignId, 1, binary, 600))).JobId.Should().Be(job, "one measurement at a time");
        (await AskFor<CommandRejected>(master.Campaigns, new MeasureCoverage(campaignId, 2, binary, 600))).Kind.Should().Be(RejectionKind.Conflict);
        var botStore = new ContentAddressedStore(TestDir.PathOf("bot-blobs"));
        var (zip, size) = await botStore.PutAsync(Zip(), long.MaxValue);
        var botBlobs = master.System.ActorOf(Props.Create(() => new BlobServerActor(botStore)), BlobServerActor.BotName);
        var measuredAt = new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
        var report = new ReportCoverage(campaignId, job, 1, 39, zip, size, measuredAt, master.PathOf(botBlobs));
        var bot = CreateTestProbe(master.System, "bot");
        (await AskFor<CoverageView>(master.Campaigns, new GetCoverage(campaignId))).Should().Match<CoverageView>(v => v.Latest == null && v.Measuring == job);

        // Act: the bot reports, then reports again (its acknowledgement was lost).
        master.Campaigns.Tell(report, bot.Ref);
        bot.ExpectMsg<Ack>(TimeSpan.FromSeconds(20));
        master.Campaigns.Tell(report, bot.Ref);
        bot.ExpectMsg<Ack>();

        // Assert: the zip is the master's, the summary journaled once with the job's build.
        MasterBlobs.Contains(zip).Should().BeTrue();
        JournalScalar("SELECT COUNT(*) FROM journal WHERE manifest = @manifest", ("manifest", "CoverageMeasured.v1")).Should().Be(1);
        var view = await AskFor<CoverageView>(master.Campaigns, new GetCoverage(campaignId));
        var expected = new CoverageSummary(job, 1, 1, 39,
            new CoverageTotals(new CoverageCount(32, 50), new CoverageCount(4, 6), new CoverageCount(22, 58)), 2, zip, size, measuredAt);
        view.Latest.Should().Be(expected);
        view.History.Should().Equal(expected);
        var ranked = await AskFor<CoverageFiles>(master.Campaigns, new GetCoverageFiles(campaignId, CoverageFileOrder.Uncovered, 0, 1));
        ranked.Total.Should().Be(2);
        ranked.Files.Should().ContainSingle().Which.Path.Should().Be("/src/parser.c", "10 uncovered lines come before 8");

        // Act: restart the master on the same journal.
        var restarted = await RestartAsync(master);

        // Assert: the report is still the campaign's; a job that measures nothing is refused.
        (await AskFor<CoverageView>(restarted.Campaigns, new GetCoverage(campaignId))).Latest.Should().Be(expected);
        (await AskFor<CoverageFiles>(restarted.Campaigns, new GetCoverageFiles(campaignId, CoverageFileOrder.Name))).Files.Select(f => f.Path)
            .Should().Equal("/src/parser.c", "/src/util.h");
        (await AskFor<CommandRejected>(restarted.Campaigns, report with { JobId = JobId.For(campaignId, 0) })).Kind.Should().Be(RejectionKind.Invalid);
    }

    [Fact]
    public async Task A_campaign_of_a_build_with_a_coverage_binary_measures_itself_every_interval_and_once_at_its_end()
    {
        // Arrange: build 1 of "parser" with a coverage binary, a campaign on it, the read model and the coverage schedule
        // of a master that measures every 2 s.
        var settings = TestData.Settings with { Coverage = new CoverageSettings(TimeSpan.FromSeconds(2), AtEnd: true, TimeSpan.FromMinutes(3)) };
        var master = await StartMasterAsync(settings);
        var targets = master.Targets;
        var fuzzer = BlobId.Of("parser fuzzing build"u8);
        var coverage = BlobId.Of("parser coverage build"u8);
        await AskFor<TargetCommands.TargetBinaryAdded>(targets, new TargetCommands.AddTargetBinary("parser", new TargetBinary(TargetBinaryKinds.Fuzzer, fuzzer, 10), "r1", null, null));
        await AskFor<TargetCommands.TargetBinaryAdded>(targets, new TargetCommands.AddTargetBinary("parser", new TargetBinary(TargetBinaryKinds.Coverage, coverage, 10), null, null, 1));
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1) with { Target = fuzzer, TargetName = "parser", Build = 1 }));
        new ReadModelSchema(ReadModel).MigrateUp();
        master.System.ActorOf(ReadModelProjection.SupervisedProps(ReadModel, settings.ReadModel), ReadModelProjectionHosting.Name);
        master.System.ActorOf(Props.Create(() => new CoverageSchedule(new ReadModelQueries(ReadModel), master.Campaigns, settings.Coverage)));

        // Act, assert: the schedule finds the running campaign in the read model, and the campaign, due, measures with
        // its build's coverage binary.
        var scheduled = await MeasuringAsync(master, campaignId, null);
        var jobs = await AskFor<CampaignView>(master.Campaigns, new GetCampaign(campaignId));
        jobs.JobIds.Should().HaveCount(2).And.Contain(scheduled);

        // Act: the fuzzing job ends, then the measurement: the campaign completes.
        await AskFor<JobCommands.JobEndAcknowledged>(master.Campaigns, new ReportJobEnded(campaignId, JobId.For(campaignId, 0), JobStatus.Completed, DateTimeOffset.UtcNow));
        await AskFor<JobCommands.JobEndAcknowledged>(master.Campaigns, new ReportJobEnded(campaignId, scheduled, JobStatus.Completed, DateTimeOffset.UtcNow));

        // Assert: once more at its end, on the corpus it ended with, and then no more.
        var atEnd = await MeasuringAsync(master, campaignId, scheduled);
        (await AskFor<CampaignView>(master.Campaigns, new GetCampaign(campaignId))).Status.Should().Be(CampaignStatus.Completed);
        await AskFor<JobCommands.JobEndAcknowledged>(master.Campaigns, new ReportJobEnded(campaignId, atEnd, JobStatus.Completed, DateTimeOffset.UtcNow));
        (await AskFor<CoverageChecked>(master.Campaigns, new CheckCoverage(campaignId))).NextCheck.Should().BeNull();
        (await AskFor<CoverageView>(master.Campaigns, new GetCoverage(campaignId))).Measuring.Should().BeNull("a finished campaign measures once");
    }

    /// <summary>The coverage job the campaign runs once it is not <paramref name="before"/>; its spec runs the coverage binary.</summary>
    private async Task<JobId> MeasuringAsync(MasterNode master, CampaignId campaignId, JobId? before)
    {
        JobId? measuring = null;
        await AwaitAssertAsync(async () =>
        {
            measuring = (await AskFor<CoverageView>(master.Campaigns, new GetCoverage(campaignId))).Measuring;
            measuring.Should().NotBeNull().And.NotBe(before);
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
        return measuring!;
    }

    private static MemoryStream Zip()
    {
        var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in new[] { (CoverageArchive.SummaryEntry, Summary), (CoverageArchive.HtmlFolder + CoverageArchive.IndexPage, "<html></html>") })
            {
                using var writer = new StreamWriter(zip.CreateEntry(name).Open());
                writer.Write(text);
            }
        }

        stream.Position = 0;
        return stream;
    }
}

public sealed class CoverageRecordingTestsOnSqlite(ITestOutputHelper output) : CoverageRecordingTests(output, StorageProvider.Sqlite);

public sealed class CoverageRecordingTestsOnPostgreSql(ITestOutputHelper output) : CoverageRecordingTests(output, StorageProvider.PostgreSql);
