using FluentAssertions;
using PandaFuzz.Actors.Tests.Fixtures;
using PandaFuzz.Protocol;
using PandaFuzz.Master.Configuration;
using Xunit;
using Xunit.Abstractions;
using static PandaFuzz.Protocol.CampaignCommands;
using static PandaFuzz.Protocol.CampaignQueries;
using static PandaFuzz.Protocol.JobQueries;
using static PandaFuzz.Protocol.SchedulerMessages;

namespace PandaFuzz.Actors.Tests;

/// <summary>A campaign and its jobs survive a full stop of the master: the journal in the SQLite file is the only memory.</summary>
public abstract class CampaignRecoveryTests(ITestOutputHelper output, StorageProvider storage) : MasterTestKit(output, storage)
{
    [Fact]
    public async Task Campaign_and_its_pending_jobs_recover_from_the_sqlite_journal_and_announce_themselves_again()
    {
        // Arrange: a campaign of two jobs on a fresh master.
        var master = await StartMasterAsync(TestData.Settings);
        var campaignId = CampaignId.New();
        var spec = TestData.Spec(jobs: 2);

        // Act: create it.
        var created = await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, spec));

        // Assert: both jobs exist, pending, and each told the scheduler it waits.
        created.JobIds.Should().Equal(JobId.For(campaignId, 0), JobId.For(campaignId, 1));
        created.Status.Should().Be(CampaignStatus.Running);
        var announced = new[] { master.Scheduler.ExpectMsg<JobPending>(), master.Scheduler.ExpectMsg<JobPending>() };
        announced.Select(p => p.JobId).Should().BeEquivalentTo(created.JobIds);
        announced.Should().OnlyContain(p => p.Engine == EngineNames.LibFuzzer);
        var jobsBefore = new List<JobView>();
        foreach (var jobId in created.JobIds)
        {
            var job = await AskFor<JobView>(master.Jobs, new GetJob(jobId));
            job.Status.Should().Be(JobStatus.Pending);
            job.CampaignId.Should().Be(campaignId);
            jobsBefore.Add(job);
        }

        // Act: stop the whole actor system and start a new one on the same file.
        var restarted = await RestartAsync(master);

        // Assert: without being asked, the recovered pending jobs announce themselves to the new scheduler,
        // with the creation time they had (recovered, not created anew).
        var reannounced = new[] { restarted.Scheduler.ExpectMsg<JobPending>(), restarted.Scheduler.ExpectMsg<JobPending>() };
        reannounced.Select(p => p.JobId).Should().BeEquivalentTo(created.JobIds);
        reannounced.Should().BeEquivalentTo(announced);

        var campaign = await AskFor<CampaignView>(restarted.Campaigns, new GetCampaign(campaignId));
        campaign.Spec.Should().Be(spec);
        campaign.JobIds.Should().Equal(created.JobIds);
        campaign.Status.Should().Be(CampaignStatus.Running);
        campaign.CreatedAt.Should().Be(created.CreatedAt);
        foreach (var before in jobsBefore)
        {
            var after = await AskFor<JobView>(restarted.Jobs, new GetJob(before.Id));
            after.Should().BeEquivalentTo(before);
        }
    }

    [Fact]
    public async Task A_campaign_that_was_never_created_is_not_found_after_a_restart()
    {
        var master = await StartMasterAsync(TestData.Settings);
        var existing = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(existing, TestData.Spec(jobs: 1)));

        var restarted = await RestartAsync(master);

        var missing = await AskFor<CommandRejected>(restarted.Campaigns, new GetCampaign(CampaignId.New()));
        missing.Kind.Should().Be(RejectionKind.NotFound);
        (await AskFor<CampaignView>(restarted.Campaigns, new GetCampaign(existing))).JobIds.Should().HaveCount(1);
    }
}

public sealed class CampaignRecoveryTestsOnSqlite(ITestOutputHelper output) : CampaignRecoveryTests(output, StorageProvider.Sqlite);

public sealed class CampaignRecoveryTestsOnPostgreSql(ITestOutputHelper output) : CampaignRecoveryTests(output, StorageProvider.PostgreSql);
