using System.IO.Compression;
using FluentAssertions;
using PandaFuzz.Actors.Tests.Fixtures;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Master.Projection;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;
using Xunit;
using Xunit.Abstractions;
using static PandaFuzz.Protocol.BotQueries;
using static PandaFuzz.Protocol.CampaignQueries;
using static PandaFuzz.Protocol.JobQueries;

namespace PandaFuzz.Actors.Tests;

/// <summary>
/// A master recovers from a journal written by an older build (a fixture file, see Fixtures/Journals/README.md):
/// events and snapshots of an older version are upcast on read, and the entities and the read model show today's state.
/// </summary>
public sealed class OlderJournalTests(ITestOutputHelper output) : MasterTestKit(output)
{
    private static readonly CampaignId Completed = new("b850bbfcad10");
    private static readonly CampaignId Stopped = new("439c5ad49712");
    private static readonly BotId Bot = new("bot-562f2c36f9");

    [Fact]
    public async Task A_journal_from_before_deduplication_recovers_into_todays_campaigns_jobs_and_bots()
    {
        // Arrange: the old build's journal, put in place as the node would find it.
        var journal = RestoreFixture("before-deduplication.db.gz");

        // Act: today's master recovers from it.
        var master = await StartMasterOnJournalAsync(journal, TestData.Settings);

        // Assert: every crash report of the old build (one CrashRecorded.v1 each) is now a unique crash of its input,
        // its input kept as the sample, and the campaign's end is still there.
        var completed = await AskFor<CampaignView>(master.Campaigns, new GetCampaign(Completed));
        completed.Status.Should().Be(CampaignStatus.Completed);
        completed.Spec.Name.Should().Be("fixture-found");
        completed.CrashCount.Should().Be(18);
        var crashes = await AskFor<CampaignCrashes>(master.Campaigns, new GetCampaignCrashes(Completed));
        crashes.Reports.Should().Be(18);
        crashes.Crashes.Should().HaveCount(18).And.OnlyContain(c =>
            c.Kind == "heap-buffer-overflow" && c.Count == 1 && c.Samples.Count == 1
            && c.Signature == c.Samples[0].Sha256.Substring(0, 16) && c.Id == CrashId.ForSignature(Completed, c.Signature)
            && c.Jobs.Single() == JobId.For(Completed, 0) && c.Bots.Single() == Bot);
        var one = crashes.Crashes[0];
        (await AskFor<CrashView>(master.Campaigns, new GetCrash(Completed, one.Id))).Crash.Should().BeEquivalentTo(one);

        // The stopped campaign recovers from its CampaignSnapshot.v1 and the event after it.
        var stopped = await AskFor<CampaignView>(master.Campaigns, new GetCampaign(Stopped));
        stopped.Status.Should().Be(CampaignStatus.Stopped);
        stopped.FinishedAt.Should().NotBeNull();
        stopped.CrashCount.Should().Be(46);
        (await AskFor<CampaignCrashes>(master.Campaigns, new GetCampaignCrashes(Stopped))).Crashes.Should().HaveCount(46);

        var job = await AskFor<JobView>(master.Jobs, new GetJob(JobId.For(Completed, 0)));
        job.Status.Should().Be(JobStatus.Completed);
        job.BotId.Should().Be(Bot);
        job.Stats!.Execs.Should().Be(944);
        (await AskFor<JobView>(master.Jobs, new GetJob(JobId.For(Stopped, 1)))).Status.Should().Be(JobStatus.Cancelled);
        (await AskFor<BotView>(master.Bots, new GetBot(Bot))).Capabilities.Supports(EngineNames.LibFuzzer).Should().BeTrue();
    }

    [Fact]
    public async Task A_read_model_rebuilt_from_a_journal_of_an_older_build_holds_its_campaigns_jobs_and_crashes()
    {
        // Arrange
        var journal = RestoreFixture("before-deduplication.db.gz");
        var master = await StartMasterOnJournalAsync(journal, TestData.Settings);
        var database = ReadModelDatabase.In(TestDir.PathOf("read-model"));
        new ReadModelSchema(database).MigrateUp();

        // Act
        var result = await ReadModelRebuild.RunAsync(master.System, database, batchSize: 25);

        // Assert: every entity event of the old journal was projected, the upcast crashes among them.
        result.EventsByKind.Should().BeEquivalentTo(new Dictionary<string, long> { ["campaign"] = 72, ["job"] = 12, ["bot"] = 1, ["corpus"] = 6, ["target"] = 0 });
        var queries = new PandaFuzz.ReadModel.ReadModelQueries(database);
        queries.Campaigns(new CampaignFilter(), new Page()).Items.Select(c => (c.Id, c.Status, c.CrashCount))
            .Should().BeEquivalentTo([(Completed, CampaignStatus.Completed, 18), (Stopped, CampaignStatus.Stopped, 46)]);
        queries.Crashes(new CrashFilter(Completed), new Page()).Total.Should().Be(18);
        queries.Crashes(new CrashFilter(Stopped), new Page()).Total.Should().Be(46);
        queries.Jobs(new JobFilter(Stopped), new Page()).Items.Should().HaveCount(2).And.OnlyContain(j => j.Status == JobStatus.Cancelled);
    }

    private string RestoreFixture(string name)
    {
        var path = TestDir.PathOf("old-" + Path.GetFileNameWithoutExtension(name));
        using (var compressed = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Journals", name)))
        using (var gzip = new GZipStream(compressed, CompressionMode.Decompress))
        using (var file = File.Create(path))
        {
            gzip.CopyTo(file);
        }

        SqliteJournal.EnableWriteAheadLog(path);
        return path;
    }
}
