using System.Diagnostics;
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

/// <summary>An assigned job whose bot never confirms the start goes back to pending for another bot.</summary>
public sealed class JobStartTimeoutTests(ITestOutputHelper output) : MasterTestKit(output)
{
    private static readonly TimeSpan ConfirmWithin = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task An_assigned_job_without_start_confirmation_is_released_and_pending_again()
    {
        // Arrange: a one-job campaign on a master that waits 1 s for start confirmations.
        var master = await StartMasterAsync(TestData.Settings with { JobStartTimeout = ConfirmWithin });
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        var job = JobId.For(campaignId, 0);
        var firstPending = master.Scheduler.ExpectMsg<JobPending>();
        var bot = new BotId("bot-silent");
        var agent = CreateTestProbe(master.System, "agent");

        // Act: assign it; the bot gets StartJob but never confirms.
        var sinceAssigned = Stopwatch.StartNew();
        master.Jobs.Tell(new AssignJob(job, bot, master.PathOf(agent.Ref)), master.Scheduler.Ref);
        master.Scheduler.ExpectMsg<AssignmentAccepted>();
        agent.ExpectMsg<AgentCommands.StartJob>();

        // Assert: not before the timeout, but then the slot is released and the job waits again.
        master.Scheduler.ExpectMsg<JobReleased>(TimeSpan.FromSeconds(5)).Should().Be(new JobReleased(job, bot));
        sinceAssigned.Elapsed.Should().BeGreaterThanOrEqualTo(ConfirmWithin);
        master.Scheduler.ExpectMsg<JobPending>().Should().Be(firstPending);
        var pending = await AskFor<JobView>(master.Jobs, new GetJob(job));
        pending.Status.Should().Be(JobStatus.Pending);
        pending.BotId.Should().BeNull();

        // A late confirmation from the silent bot is turned down: the bot is told to stop.
        master.Jobs.Tell(new ConfirmJobStarted(job, bot, DateTimeOffset.UtcNow), agent.Ref);
        agent.ExpectMsg<AgentCommands.StopJob>().JobId.Should().Be(job);
        (await AskFor<JobView>(master.Jobs, new GetJob(job))).Status.Should().Be(JobStatus.Pending);

        // And another bot can take it.
        var other = CreateTestProbe(master.System, "other-agent");
        master.Jobs.Tell(new AssignJob(job, new BotId("bot-other"), master.PathOf(other.Ref)), master.Scheduler.Ref);
        master.Scheduler.ExpectMsg<AssignmentAccepted>().BotId.Should().Be(new BotId("bot-other"));
        other.ExpectMsg<AgentCommands.StartJob>();
    }

    [Fact]
    public async Task A_confirmed_job_is_not_requeued_by_the_start_timeout()
    {
        var master = await StartMasterAsync(TestData.Settings with { JobStartTimeout = ConfirmWithin });
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        var job = JobId.For(campaignId, 0);
        master.Scheduler.ExpectMsg<JobPending>();
        var bot = new BotId("bot-prompt");
        var agent = CreateTestProbe(master.System, "agent");
        master.Jobs.Tell(new AssignJob(job, bot, master.PathOf(agent.Ref)), master.Scheduler.Ref);
        master.Scheduler.ExpectMsg<AssignmentAccepted>();
        agent.ExpectMsg<AgentCommands.StartJob>();

        master.Jobs.Tell(new ConfirmJobStarted(job, bot, DateTimeOffset.UtcNow), agent.Ref);

        master.Scheduler.ExpectNoMsg(ConfirmWithin + TimeSpan.FromSeconds(1));
        (await AskFor<JobView>(master.Jobs, new GetJob(job))).Status.Should().Be(JobStatus.Running);
    }
}
