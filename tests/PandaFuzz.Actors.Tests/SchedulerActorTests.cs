using Akka.Actor;
using Akka.Hosting;
using Akka.TestKit;
using FluentAssertions;
using PandaFuzz.Actors.Tests.Fixtures;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Scheduling;
using PandaFuzz.Protocol;
using Xunit;
using Xunit.Abstractions;
using static PandaFuzz.Protocol.JobCommands;
using static PandaFuzz.Protocol.SchedulerMessages;

namespace PandaFuzz.Actors.Tests;

/// <summary>
/// The scheduler on its own, with a probe registered as the job region: it offers each pending job to a bot with
/// a free slot and the engine, never more offers than slots, and offers again what was released or refused.
/// </summary>
public sealed class SchedulerActorTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(
    // The scheduler watches cluster membership, so the test system has the cluster provider (it never joins).
    "akka.loglevel = INFO\nakka.actor.provider = cluster\nakka.remote.dot-netty.tcp { hostname = \"127.0.0.1\", port = 0 }", output)
{
    private static readonly BotId Bot = new("bot-1");
    private static readonly JobId First = new("0123456789ab-0");
    private static readonly JobId Second = new("0123456789ab-1");
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    [Fact]
    public void One_free_slot_gets_exactly_one_offer_and_the_next_job_waits_until_the_first_is_released()
    {
        // Arrange
        var (scheduler, jobs) = StartScheduler(TestData.Settings);
        var agentPath = "akka.tcp://pandafuzz@127.0.0.7:1/user/agent";

        // Act: one pending job, then a libFuzzer bot with one slot, then a second pending job.
        scheduler.Tell(new JobPending(First, EngineNames.LibFuzzer, DateTimeOffset.UtcNow.AddSeconds(-2)));
        scheduler.Tell(new BotAvailable(Bot, agentPath, TestData.LibFuzzerBot(slots: 1), []));
        scheduler.Tell(new JobPending(Second, EngineNames.LibFuzzer, DateTimeOffset.UtcNow));

        // Assert: exactly one offer, for the first job; the second is not offered.
        jobs.ExpectMsg<AssignJob>().Should().Be(new AssignJob(First, Bot, agentPath));
        jobs.ExpectNoMsg(Quiet);

        // Act + assert: the first job is accepted; a check-in that does not list it yet still holds its slot.
        scheduler.Tell(new AssignmentAccepted(First, Bot), jobs.Ref);
        scheduler.Tell(new BotAvailable(Bot, agentPath, TestData.LibFuzzerBot(slots: 1), []));
        jobs.ExpectNoMsg(Quiet);

        // Act + assert: the first job ends and releases the slot; now the second is offered.
        scheduler.Tell(new JobReleased(First, Bot));
        jobs.ExpectMsg<AssignJob>().Should().Be(new AssignJob(Second, Bot, agentPath));
        jobs.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void A_rejected_offer_frees_the_slot_for_the_next_job()
    {
        var (scheduler, jobs) = StartScheduler(TestData.Settings);
        scheduler.Tell(new JobPending(First, EngineNames.LibFuzzer, DateTimeOffset.UtcNow.AddSeconds(-2)));
        scheduler.Tell(new JobPending(Second, EngineNames.LibFuzzer, DateTimeOffset.UtcNow));
        scheduler.Tell(new BotAvailable(Bot, "agent", TestData.LibFuzzerBot(slots: 1), []));
        jobs.ExpectMsg<AssignJob>().JobId.Should().Be(First);
        jobs.ExpectNoMsg(Quiet);

        // The first job was no longer pending (e.g. cancelled meanwhile) and refuses.
        scheduler.Tell(new AssignmentRejected(First, Bot, "job is cancelled, not pending"), jobs.Ref);

        jobs.ExpectMsg<AssignJob>().JobId.Should().Be(Second);
        jobs.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void Slots_bound_the_offers_and_a_bot_without_the_engine_gets_none()
    {
        var (scheduler, jobs) = StartScheduler(TestData.Settings);
        var third = new JobId("0123456789ab-2");
        scheduler.Tell(new BotAvailable(new BotId("bot-afl"), "afl-agent", new BotCapabilities([new EngineCapability("aflplusplus", "4.04c")], 4, 4096), []));
        foreach (var job in new[] { First, Second, third })
        {
            scheduler.Tell(new JobPending(job, EngineNames.LibFuzzer, DateTimeOffset.UtcNow));
        }

        jobs.ExpectNoMsg(Quiet);

        scheduler.Tell(new BotAvailable(Bot, "agent", TestData.LibFuzzerBot(slots: 2), []));

        var offers = new[] { jobs.ExpectMsg<AssignJob>(), jobs.ExpectMsg<AssignJob>() };
        offers.Select(o => o.JobId).Should().Equal(First, Second);
        offers.Should().OnlyContain(o => o.BotId == Bot);
        jobs.ExpectNoMsg(Quiet);
        var queue = AskQueue(scheduler);
        queue.Pending.Should().Equal(third);
        queue.BotsKnown.Should().Be(2);
    }

    [Fact]
    public void A_job_announced_twice_is_offered_once()
    {
        var (scheduler, jobs) = StartScheduler(TestData.Settings);
        scheduler.Tell(new BotAvailable(Bot, "agent", TestData.LibFuzzerBot(slots: 2), []));

        scheduler.Tell(new JobPending(First, EngineNames.LibFuzzer, DateTimeOffset.UtcNow));
        jobs.ExpectMsg<AssignJob>().JobId.Should().Be(First);
        scheduler.Tell(new JobPending(First, EngineNames.LibFuzzer, DateTimeOffset.UtcNow));

        jobs.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void An_unanswered_offer_is_made_again_after_the_offer_timeout()
    {
        var offerTimeout = TimeSpan.FromMilliseconds(500);
        var (scheduler, jobs) = StartScheduler(TestData.Settings with { SchedulerOfferTimeout = offerTimeout });
        scheduler.Tell(new JobPending(First, EngineNames.LibFuzzer, DateTimeOffset.UtcNow));
        scheduler.Tell(new BotAvailable(Bot, "agent", TestData.LibFuzzerBot(slots: 1), []));
        jobs.ExpectMsg<AssignJob>().JobId.Should().Be(First);

        // The job region never answers (the entity was unreachable).
        var again = jobs.ExpectMsg<AssignJob>(offerTimeout * 4);

        again.Should().Be(new AssignJob(First, Bot, "agent"));
    }

    [Fact]
    public void An_unavailable_bot_gets_no_more_offers()
    {
        var (scheduler, jobs) = StartScheduler(TestData.Settings);
        scheduler.Tell(new BotAvailable(Bot, "agent", TestData.LibFuzzerBot(slots: 2), []));
        scheduler.Tell(new BotUnavailable(Bot));

        scheduler.Tell(new JobPending(First, EngineNames.LibFuzzer, DateTimeOffset.UtcNow));

        jobs.ExpectNoMsg(Quiet);
        AskQueue(scheduler).Pending.Should().Equal(First);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Campaign_weights_sent_at_run_time_decide_which_campaign_gets_a_free_slot(bool weighted)
    {
        // Campaign A's job waits longer; each campaign already runs one job on the bot, which has one slot left.
        var (scheduler, jobs) = StartScheduler(TestData.Settings);
        var olderA = new JobId("aaaaaaaaaaaa-0");
        var newerB = new JobId("bbbbbbbbbbbb-0");
        if (weighted)
        {
            scheduler.Tell(new SetCampaignWeights(new Dictionary<string, int> { ["bbbbbbbbbbbb"] = 3 }));
        }

        scheduler.Tell(new JobPending(olderA, EngineNames.LibFuzzer, DateTimeOffset.UtcNow.AddSeconds(-10)));
        scheduler.Tell(new JobPending(newerB, EngineNames.LibFuzzer, DateTimeOffset.UtcNow));

        scheduler.Tell(new BotAvailable(Bot, "agent", TestData.LibFuzzerBot(slots: 3), [new JobId("aaaaaaaaaaaa-9"), new JobId("bbbbbbbbbbbb-9")]));

        // First come, first served gives the slot to A; weight 3 puts B (1 slot per 3) below A (1 slot per 1).
        jobs.ExpectMsg<AssignJob>().JobId.Should().Be(weighted ? newerB : olderA);
        jobs.ExpectNoMsg(Quiet);
    }

    private (IActorRef Scheduler, TestProbe Jobs) StartScheduler(MasterSettings settings)
    {
        var jobs = CreateTestProbe("job-region");
        var registry = ActorRegistry.For(Sys);
        registry.Register<JobRegion>(jobs.Ref);
        registry.Register<BotRegion>(CreateTestProbe("bot-region").Ref);
        var scheduler = Sys.ActorOf(Props.Create(() => new SchedulerActor(settings, registry)), SchedulerActor.Name);
        return (scheduler, jobs);
    }

    [Fact]
    public void Only_the_oldest_queued_jobs_stay_in_memory_and_the_next_are_woken_as_they_are_assigned()
    {
        // Arrange: room in memory for 2 queued jobs; 4 are queued with no bot yet.
        var (scheduler, jobs) = StartScheduler(TestData.Settings with { PendingJobsInMemory = 2, PendingJobsWokenPerSecond = 4 });
        var entity = CreateTestProbe("job-entity");
        var queued = Enumerable.Range(0, 4).Select(i => new JobId($"0123456789ab-{i}")).ToList();
        var since = DateTimeOffset.UtcNow.AddMinutes(-1);

        // Act
        for (var i = 0; i < queued.Count; i++)
        {
            scheduler.Tell(new JobPending(queued[i], EngineNames.LibFuzzer, since.AddSeconds(i)), entity.Ref);
        }

        // Assert: the two oldest stay, the others leave memory; nothing is woken while the two wait.
        queued.Select(_ => entity.ExpectMsg<JobQueued>()).Should().Equal(
            new JobQueued(queued[0], true), new JobQueued(queued[1], true), new JobQueued(queued[2], false), new JobQueued(queued[3], false));
        jobs.ExpectNoMsg(Quiet);

        // Act: a bot with one slot takes the oldest.
        scheduler.Tell(new BotAvailable(Bot, "agent", TestData.LibFuzzerBot(slots: 1), []));
        jobs.ExpectMsg<AssignJob>().JobId.Should().Be(queued[0]);
        scheduler.Tell(new AssignmentAccepted(queued[0], Bot), jobs.Ref);

        // Assert: the oldest job out of memory is woken (once), and when it announces itself it is told to stay.
        jobs.ExpectMsg<WakeJob>().JobId.Should().Be(queued[2]);
        jobs.ExpectNoMsg(Quiet);
        scheduler.Tell(new JobPending(queued[2], EngineNames.LibFuzzer, since.AddSeconds(2)), entity.Ref);
        entity.ExpectMsg<JobQueued>().Should().Be(new JobQueued(queued[2], true));
        AskQueue(scheduler).Pending.Should().Equal(queued[1], queued[2], queued[3]);
    }

    private QueueView AskQueue(IActorRef scheduler)
    {
        var asker = CreateTestProbe();
        scheduler.Tell(GetQueue.Instance, asker.Ref);
        return asker.ExpectMsg<QueueView>();
    }
}
