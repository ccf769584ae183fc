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
using static PandaFuzz.Protocol.JobCommands;
using static PandaFuzz.Protocol.JobQueries;
using static PandaFuzz.Protocol.SchedulerMessages;

namespace PandaFuzz.Actors.Tests;

/// <summary>
/// A job's life through its entity: assigned once, started by its bot, finished; its campaign hears of it;
/// and the outcome survives a restart.
/// </summary>
public abstract class JobLifecycleTests(ITestOutputHelper output, StorageProvider storage) : MasterTestKit(output, storage)
{
    private static readonly BotId BotA = new("bot-a");
    private static readonly BotId BotB = new("bot-b");

    [Fact]
    public async Task A_job_is_assigned_once_started_finished_reported_to_its_campaign_and_stays_completed_after_a_restart()
    {
        // Arrange: a campaign of two jobs; snapshots every 2 events so recovery goes through a snapshot too.
        var master = await StartMasterAsync(TestData.Settings with { SnapshotEvery = 2 });
        var campaignId = CampaignId.New();
        var spec = TestData.Spec(jobs: 2);
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, spec));
        master.Scheduler.ExpectMsg<JobPending>();
        master.Scheduler.ExpectMsg<JobPending>();
        var job = JobId.For(campaignId, 0);
        var agentA = CreateTestProbe(master.System, "agent-a");
        var agentB = CreateTestProbe(master.System, "agent-b");

        // Act: the scheduler offers the job to two bots back to back.
        master.Jobs.Tell(new AssignJob(job, BotA, master.PathOf(agentA.Ref)), master.Scheduler.Ref);
        master.Jobs.Tell(new AssignJob(job, BotB, master.PathOf(agentB.Ref)), master.Scheduler.Ref);

        // Assert: the first offer wins, the second is refused, and only bot A is told to start.
        master.Scheduler.ExpectMsg<AssignmentAccepted>().Should().Be(new AssignmentAccepted(job, BotA));
        var rejected = master.Scheduler.ExpectMsg<AssignmentRejected>();
        rejected.JobId.Should().Be(job);
        rejected.BotId.Should().Be(BotB);
        var start = agentA.ExpectMsg<AgentCommands.StartJob>();
        start.JobId.Should().Be(job);
        start.CampaignId.Should().Be(campaignId);
        start.Spec.Should().Be(spec.ToJobSpec(0));
        start.BlobSourcePath.Should().Be($"{master.SelfAddress}/user/{BlobServerActor.MasterName}");
        agentB.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        var assigned = await AskFor<JobView>(master.Jobs, new GetJob(job));
        assigned.Status.Should().Be(JobStatus.Assigned);
        assigned.BotId.Should().Be(BotA);

        // Act + assert: bot A confirms; the job runs; another offer is still refused.
        master.Jobs.Tell(new ConfirmJobStarted(job, BotA, DateTimeOffset.UtcNow), agentA.Ref);
        var running = await AskFor<JobView>(master.Jobs, new GetJob(job));
        running.Status.Should().Be(JobStatus.Running);
        running.StartedAt.Should().NotBeNull();
        master.Jobs.Tell(new AssignJob(job, BotB, master.PathOf(agentB.Ref)), master.Scheduler.Ref);
        master.Scheduler.ExpectMsg<AssignmentRejected>().BotId.Should().Be(BotB);
        agentB.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        // Act: bot A reports the job finished.
        var finalStats = TestData.Stats(execs: 123_456);
        master.Jobs.Tell(new ReportJobFinished(job, BotA, Succeeded: true, FailureReason: null, finalStats), agentA.Ref);

        // Assert: acknowledged, completed, the bot's slot released; the campaign still waits for job 1.
        agentA.ExpectMsg<Ack>();
        master.Scheduler.ExpectMsg<JobReleased>().Should().Be(new JobReleased(job, BotA));
        var completed = await AskFor<JobView>(master.Jobs, new GetJob(job));
        completed.Status.Should().Be(JobStatus.Completed);
        completed.FinishedAt.Should().NotBeNull();
        completed.Stats.Should().Be(finalStats);
        (await AskFor<CampaignView>(master.Campaigns, new GetCampaign(campaignId))).Status.Should().Be(CampaignStatus.Running);

        // Act: job 1 runs to its end on bot B.
        var other = JobId.For(campaignId, 1);
        master.Jobs.Tell(new AssignJob(other, BotB, master.PathOf(agentB.Ref)), master.Scheduler.Ref);
        master.Scheduler.ExpectMsg<AssignmentAccepted>().JobId.Should().Be(other);
        agentB.ExpectMsg<AgentCommands.StartJob>().JobId.Should().Be(other);
        master.Jobs.Tell(new ConfirmJobStarted(other, BotB, DateTimeOffset.UtcNow), agentB.Ref);
        master.Jobs.Tell(new ReportJobFinished(other, BotB, Succeeded: true, FailureReason: null, FinalStats: null), agentB.Ref);
        agentB.ExpectMsg<Ack>();

        // Assert: the campaign recorded both ends and finished Completed.
        var finished = await AwaitCampaign(master, campaignId, CampaignStatus.Completed);
        finished.FinishedAt.Should().NotBeNull();

        // Act: restart the master on the same journal.
        var restarted = await RestartAsync(master);

        // Assert: the job is still completed with the same end, and so is the campaign.
        var afterRestart = await AskFor<JobView>(restarted.Jobs, new GetJob(job));
        afterRestart.Status.Should().Be(JobStatus.Completed);
        afterRestart.BotId.Should().Be(BotA);
        afterRestart.FinishedAt.Should().Be(completed.FinishedAt);
        afterRestart.Stats.Should().Be(finalStats);
        (await AskFor<JobView>(restarted.Jobs, new GetJob(other))).Status.Should().Be(JobStatus.Completed);
        var campaign = await AskFor<CampaignView>(restarted.Campaigns, new GetCampaign(campaignId));
        campaign.Status.Should().Be(CampaignStatus.Completed);
        campaign.FinishedAt.Should().Be(finished.FinishedAt);

        // A finished job offered again after the restart is still never assigned.
        restarted.Jobs.Tell(new AssignJob(job, BotB, restarted.PathOf(agentB.Ref)), restarted.Scheduler.Ref);
        restarted.Scheduler.FishForMessage(m => m is AssignmentRejected r && r.JobId == job, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_failed_job_is_reported_failed_with_its_reason()
    {
        var master = await StartMasterAsync(TestData.Settings);
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        master.Scheduler.ExpectMsg<JobPending>();
        var job = JobId.For(campaignId, 0);
        var agent = CreateTestProbe(master.System, "agent");
        master.Jobs.Tell(new AssignJob(job, BotA, master.PathOf(agent.Ref)), master.Scheduler.Ref);
        master.Scheduler.ExpectMsg<AssignmentAccepted>();
        agent.ExpectMsg<AgentCommands.StartJob>();
        master.Jobs.Tell(new ConfirmJobStarted(job, BotA, DateTimeOffset.UtcNow), agent.Ref);

        master.Jobs.Tell(new ReportJobFinished(job, BotA, Succeeded: false, FailureReason: "target binary missing", FinalStats: null), agent.Ref);

        agent.ExpectMsg<Ack>();
        var failed = await AskFor<JobView>(master.Jobs, new GetJob(job));
        failed.Status.Should().Be(JobStatus.Failed);
        failed.FailureReason.Should().Be("target binary missing");
        await AwaitCampaign(master, campaignId, CampaignStatus.Completed);
    }

    [Fact]
    public async Task A_finish_reported_by_a_bot_the_job_does_not_run_on_changes_nothing()
    {
        var master = await StartMasterAsync(TestData.Settings);
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        master.Scheduler.ExpectMsg<JobPending>();
        var job = JobId.For(campaignId, 0);
        var agentA = CreateTestProbe(master.System, "agent-a");
        var agentB = CreateTestProbe(master.System, "agent-b");
        master.Jobs.Tell(new AssignJob(job, BotA, master.PathOf(agentA.Ref)), master.Scheduler.Ref);
        master.Scheduler.ExpectMsg<AssignmentAccepted>();
        master.Jobs.Tell(new ConfirmJobStarted(job, BotA, DateTimeOffset.UtcNow), agentA.Ref);

        // A stray bot confirms and finishes a job it does not hold.
        master.Jobs.Tell(new ConfirmJobStarted(job, BotB, DateTimeOffset.UtcNow), agentB.Ref);
        agentB.ExpectMsg<AgentCommands.StopJob>().JobId.Should().Be(job);
        master.Jobs.Tell(new ReportJobFinished(job, BotB, Succeeded: true, FailureReason: null, FinalStats: null), agentB.Ref);
        agentB.ExpectMsg<Ack>();

        var view = await AskFor<JobView>(master.Jobs, new GetJob(job));
        view.Status.Should().Be(JobStatus.Running);
        view.BotId.Should().Be(BotA);
        (await AskFor<CampaignView>(master.Campaigns, new GetCampaign(campaignId))).Status.Should().Be(CampaignStatus.Running);
    }

    private async Task<CampaignView> AwaitCampaign(MasterNode master, CampaignId id, CampaignStatus status)
    {
        CampaignView? view = null;
        await AwaitAssertAsync(
            async () =>
            {
                view = await AskFor<CampaignView>(master.Campaigns, new GetCampaign(id));
                view.Status.Should().Be(status);
            },
            TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(100));
        return view!;
    }
}

public sealed class JobLifecycleTestsOnSqlite(ITestOutputHelper output) : JobLifecycleTests(output, StorageProvider.Sqlite);

public sealed class JobLifecycleTestsOnPostgreSql(ITestOutputHelper output) : JobLifecycleTests(output, StorageProvider.PostgreSql);
