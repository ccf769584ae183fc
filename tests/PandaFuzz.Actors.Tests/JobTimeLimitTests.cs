using Akka.Actor;
using FluentAssertions;
using PandaFuzz.Actors.Tests.Fixtures;
using PandaFuzz.Protocol;
using Xunit;
using Xunit.Abstractions;
using static PandaFuzz.Protocol.CampaignCommands;
using static PandaFuzz.Protocol.CampaignQueries;
using static PandaFuzz.Protocol.JobCommands;
using static PandaFuzz.Protocol.JobQueries;
using static PandaFuzz.Protocol.SchedulerMessages;

namespace PandaFuzz.Actors.Tests;

/// <summary>The job entity owns its time limits: silence, a lost bot, too many attempts, a passed deadline.</summary>
public sealed class JobTimeLimitTests(ITestOutputHelper output) : MasterTestKit(output)
{
    private static readonly BotId BotA = new("bot-a");
    private static readonly BotId BotB = new("bot-b");

    [Fact]
    public async Task A_silent_job_is_stopped_on_its_bot_and_moves_then_fails_once_its_attempts_are_used_up()
    {
        // Arrange: stats must come every second; two attempts in all.
        var master = await StartMasterAsync(TestData.Settings with { JobSilenceTimeout = TimeSpan.FromSeconds(1), JobMaxAttempts = 2 });
        var job = await CreateOneJobAsync(master);
        var agentA = CreateTestProbe(master.System, "agent-a");
        var agentB = CreateTestProbe(master.System, "agent-b");

        // Act: the first bot starts the job, then falls silent.
        await StartOnAsync(master, job, BotA, agentA);

        // Assert: the bot is told to stop, and the job waits for another bot.
        agentA.ExpectMsg<AgentCommands.StopJob>(TimeSpan.FromSeconds(5)).JobId.Should().Be(job);
        master.Scheduler.FishForMessage(m => m is JobPending, TimeSpan.FromSeconds(5));
        var pending = await AskFor<JobView>(master.Jobs, new GetJob(job));
        pending.Status.Should().Be(JobStatus.Pending);

        // Act: the second bot falls silent too: that was the last attempt.
        await StartOnAsync(master, job, BotB, agentB);

        // Assert
        agentB.ExpectMsg<AgentCommands.StopJob>(TimeSpan.FromSeconds(5)).JobId.Should().Be(job);
        await AwaitAssertAsync(
            async () =>
            {
                var failed = await AskFor<JobView>(master.Jobs, new GetJob(job));
                failed.Status.Should().Be(JobStatus.Failed);
                failed.FailureReason.Should().Contain("no word from bot bot-b").And.Contain("gave up after 2 attempts");
            },
            TimeSpan.FromSeconds(5),
            TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_job_whose_bot_is_lost_goes_back_to_pending_at_once()
    {
        var master = await StartMasterAsync(TestData.Settings);
        var job = await CreateOneJobAsync(master);
        var agent = CreateTestProbe(master.System, "agent");
        await StartOnAsync(master, job, BotA, agent);

        master.Jobs.Tell(new BotLost(job, BotB, "another bot is lost"));
        master.Jobs.Tell(new BotLost(job, BotA, "bot bot-a is lost: its node was downed"));

        master.Scheduler.ExpectMsg<JobReleased>().Should().Be(new JobReleased(job, BotA));
        master.Scheduler.ExpectMsg<JobPending>().JobId.Should().Be(job);
        var view = await AskFor<JobView>(master.Jobs, new GetJob(job));
        view.Status.Should().Be(JobStatus.Pending);
        view.BotId.Should().BeNull();
    }

    [Fact]
    public async Task A_job_running_past_its_deadline_and_grace_is_ended_by_the_master_and_stopped_on_its_bot()
    {
        // Arrange: a 1 s job with a 1 s grace; its bot keeps reporting stats and never reports the end.
        var master = await StartMasterAsync(TestData.Settings with { JobDeadlineGrace = TimeSpan.FromSeconds(1) });
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1) with { DurationSeconds = 1 }));
        master.Scheduler.ExpectMsg<JobPending>();
        var job = JobId.For(campaignId, 0);
        var agent = CreateTestProbe(master.System, "agent");
        await StartOnAsync(master, job, BotA, agent);
        master.Jobs.Tell(new ReportJobStats(job, BotA, TestData.Stats(1000)), agent.Ref);

        // Assert
        agent.ExpectMsg<AgentCommands.StopJob>(TimeSpan.FromSeconds(5)).Reason.Should().Contain("past its deadline");
        await AwaitAssertAsync(
            async () => (await AskFor<JobView>(master.Jobs, new GetJob(job))).Status.Should().Be(JobStatus.Completed),
            TimeSpan.FromSeconds(5),
            TimeSpan.FromMilliseconds(100));
        var ended = await AskFor<JobView>(master.Jobs, new GetJob(job));
        ended.Stats!.Execs.Should().Be(1000);

        // The bot's late report of the end is acknowledged and changes nothing.
        master.Jobs.Tell(new ReportJobFinished(job, BotA, Succeeded: true, FailureReason: null, FinalStats: null), agent.Ref);
        agent.FishForMessage(m => m is Ack, TimeSpan.FromSeconds(3));
        (await AskFor<JobView>(master.Jobs, new GetJob(job))).Status.Should().Be(JobStatus.Completed);
    }

    private async Task<JobId> CreateOneJobAsync(MasterNode master)
    {
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        master.Scheduler.ExpectMsg<JobPending>();
        return JobId.For(campaignId, 0);
    }

    private async Task StartOnAsync(MasterNode master, JobId job, BotId bot, Akka.TestKit.TestProbe agent)
    {
        master.Jobs.Tell(new AssignJob(job, bot, master.PathOf(agent.Ref)), master.Scheduler.Ref);
        master.Scheduler.FishForMessage(m => m is AssignmentAccepted, TimeSpan.FromSeconds(5));
        agent.ExpectMsg<AgentCommands.StartJob>();
        master.Jobs.Tell(new ConfirmJobStarted(job, bot, DateTimeOffset.UtcNow), agent.Ref);
        await AwaitAssertAsync(
            async () => (await AskFor<JobView>(master.Jobs, new GetJob(job))).Status.Should().Be(JobStatus.Running),
            TimeSpan.FromSeconds(5),
            TimeSpan.FromMilliseconds(50));
    }
}
