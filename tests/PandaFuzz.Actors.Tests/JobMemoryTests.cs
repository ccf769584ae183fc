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

/// <summary>
/// When a job entity leaves memory: a queued job far down the queue at once when the scheduler says so, and comes back from
/// the journal for its offer; a queued job near the head never while it waits; any other job after the idle time.
/// </summary>
public sealed class JobMemoryTests(ITestOutputHelper output) : MasterTestKit(output)
{
    private static readonly BotId Bot = new("bot-memory");

    [Fact]
    public async Task A_queued_job_told_to_leave_memory_does_and_an_offer_brings_it_back_from_the_journal()
    {
        // Arrange
        var (master, job, entity, watcher) = await QueuedJobAsync(TestData.Settings);

        // Act
        master.Scheduler.Reply(new JobQueued(job, StayInMemory: false));

        // Assert: it leaves memory; an offer brings it back, it announces itself again and takes the bot.
        watcher.ExpectTerminated(entity, TimeSpan.FromSeconds(5));
        var agent = CreateTestProbe(master.System, "agent");
        master.Jobs.Tell(new AssignJob(job, Bot, master.PathOf(agent.Ref)), master.Scheduler.Ref);
        master.Scheduler.ExpectMsg<JobPending>(TimeSpan.FromSeconds(5)).JobId.Should().Be(job);
        master.Scheduler.ExpectMsg<AssignmentAccepted>(TimeSpan.FromSeconds(5)).Should().Be(new AssignmentAccepted(job, Bot));
        agent.ExpectMsg<AgentCommands.StartJob>().JobId.Should().Be(job);
        master.Scheduler.LastSender.Should().NotBe(entity, "a new incarnation answered");
    }

    [Fact]
    public async Task An_offer_taken_while_the_job_leaves_memory_is_answered_and_its_start_timeout_still_runs()
    {
        // Arrange: starts must be confirmed within 1 s.
        var (master, job, entity, watcher) = await QueuedJobAsync(TestData.Settings with { JobStartTimeout = TimeSpan.FromSeconds(1) });
        var agent = CreateTestProbe(master.System, "agent");

        // Act: told to leave memory, and offered a bot before its shard stops it.
        entity.Tell(new JobQueued(job, StayInMemory: false), master.Scheduler.Ref);
        entity.Tell(new AssignJob(job, Bot, master.PathOf(agent.Ref)), master.Scheduler.Ref);

        // Assert: the offer is taken and the bot told; the entity still leaves, comes back, and its start timeout releases the
        // job when the bot never confirms.
        master.Scheduler.ExpectMsg<AssignmentAccepted>(TimeSpan.FromSeconds(5)).Should().Be(new AssignmentAccepted(job, Bot));
        agent.ExpectMsg<AgentCommands.StartJob>().JobId.Should().Be(job);
        watcher.ExpectTerminated(entity, TimeSpan.FromSeconds(5));
        master.Scheduler.FishForMessage(m => m is JobReleased, TimeSpan.FromSeconds(10)).Should().Be(new JobReleased(job, Bot));
    }

    [Fact]
    public async Task Queued_jobs_out_of_memory_announce_themselves_again_when_their_campaign_retells_them()
    {
        // Arrange: both jobs of a campaign queued and out of memory, as after a scheduler that knew them restarted.
        var master = await StartMasterAsync(TestData.Settings);
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 2)));
        var watcher = CreateTestProbe(master.System);
        for (var i = 0; i < 2; i++)
        {
            var pending = master.Scheduler.ExpectMsg<JobPending>();
            watcher.Watch(master.Scheduler.LastSender);
            master.Scheduler.Reply(new JobQueued(pending.JobId, StayInMemory: false));
        }

        watcher.ExpectMsg<Terminated>(TimeSpan.FromSeconds(5));
        watcher.ExpectMsg<Terminated>(TimeSpan.FromSeconds(5));

        // Act: a plain wake changes nothing for a campaign in memory; a wake that retells does.
        await AskFor<Ack>(master.Campaigns, new WakeCampaign(campaignId));
        master.Scheduler.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        await AskFor<Ack>(master.Campaigns, new WakeCampaign(campaignId, RetellJobs: true));

        // Assert
        new[] { master.Scheduler.ExpectMsg<JobPending>(TimeSpan.FromSeconds(5)).JobId, master.Scheduler.ExpectMsg<JobPending>(TimeSpan.FromSeconds(5)).JobId }
            .Should().BeEquivalentTo([JobId.For(campaignId, 0), JobId.For(campaignId, 1)]);
    }

    [Fact]
    public async Task A_queued_job_told_to_stay_outlives_the_idle_time_and_leaves_memory_once_it_has_ended()
    {
        // Arrange: entities that hear nothing for 1 s leave memory.
        var (master, job, entity, watcher) = await QueuedJobAsync(TestData.Settings with { JobPassivateAfter = TimeSpan.FromSeconds(1) });

        // Act + assert: told to stay, it waits in memory well past the idle time.
        master.Scheduler.Reply(new JobQueued(job, StayInMemory: true));
        watcher.ExpectNoMsg(TimeSpan.FromSeconds(3));

        // Act + assert: once it has ended, it leaves after the idle time.
        (await AskFor<JobCommandAccepted>(master.Jobs, new CancelJob(job, "test"))).JobId.Should().Be(job);
        watcher.ExpectTerminated(entity, TimeSpan.FromSeconds(10));
        (await AskFor<JobView>(master.Jobs, new GetJob(job))).Status.Should().Be(JobStatus.Cancelled);
    }

    /// <summary>A master with a one-job campaign whose job announced itself; its entity (the announcement's sender) watched.</summary>
    private async Task<(MasterNode Master, JobId Job, IActorRef Entity, Akka.TestKit.TestProbe Watcher)> QueuedJobAsync(Master.Configuration.MasterSettings settings)
    {
        var master = await StartMasterAsync(settings);
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        var job = JobId.For(campaignId, 0);
        master.Scheduler.ExpectMsg<JobPending>().JobId.Should().Be(job);
        var entity = master.Scheduler.LastSender;
        var watcher = CreateTestProbe(master.System);
        watcher.Watch(entity);
        return (master, job, entity, watcher);
    }
}
