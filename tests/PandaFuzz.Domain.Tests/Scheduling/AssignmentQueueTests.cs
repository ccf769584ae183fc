using FluentAssertions;
using PandaFuzz.Domain.Bots;
using PandaFuzz.Domain.Scheduling;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Scheduling;

public sealed class AssignmentQueueTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(35);
    private static readonly TimeSpan OfferTimeout = TimeSpan.FromSeconds(5);
    private static readonly BotId BotC = new("bot-0c0c0c0c0c");

    private readonly AssignmentQueue _queue = new(Grace);

    private void Enqueue(params int[] indexes)
    {
        foreach (var i in indexes)
        {
            _queue.Enqueue(Job(i), EngineNames.LibFuzzer, T0.AddSeconds(i)).Should().BeTrue();
        }
    }

    [Fact]
    public void Jobs_are_offered_oldest_first()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 8), [], T0);
        Enqueue(2, 0, 1);

        var offers = _queue.NextOffers(T0.AddSeconds(10));

        offers.Select(o => o.JobId).Should().Equal(Job(2), Job(0), Job(1));
        offers.Should().AllSatisfy(o =>
        {
            o.BotId.Should().Be(BotA);
            o.AgentPath.Should().Be(AgentPathA);
            o.At.Should().Be(T0.AddSeconds(10));
        });
    }

    [Fact]
    public void A_campaign_runs_one_minimization_at_a_time_and_its_fuzzing_takes_the_other_slots()
    {
        // Three crash minimizations queued before a fuzzing job (a requeued one, or one of a later campaign's).
        var other = new CampaignId("0a0b0c0d0e0f");
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 3), [], T0);
        foreach (var i in new[] { 3, 4, 5 })
        {
            _queue.Enqueue(Job(i), EngineNames.LibFuzzer, T0.AddSeconds(i), minimization: true).Should().BeTrue();
        }

        _queue.Enqueue(Job(0), EngineNames.LibFuzzer, T0.AddSeconds(10)).Should().BeTrue();
        _queue.Enqueue(JobId.For(other, 7), EngineNames.LibFuzzer, T0.AddSeconds(11), minimization: true).Should().BeTrue();

        var offers = _queue.NextOffers(T0.AddSeconds(20));

        offers.Select(o => o.JobId).Should().Equal([Job(3), Job(0), JobId.For(other, 7)],
            "one minimization of the campaign, its fuzzing job, and another campaign's minimization");
        _queue.Pending.Should().Equal(Job(4), Job(5));

        // The running minimization ends: the next one takes its slot.
        _queue.Accepted(Job(3), BotA, T0.AddSeconds(21));
        _queue.Release(Job(3), BotA);
        _queue.NextOffers(T0.AddSeconds(30)).Select(o => o.JobId).Should().Equal(Job(4));
    }

    [Fact]
    public void With_weights_too_a_campaign_runs_one_minimization_at_a_time()
    {
        _queue.SetWeights(new Dictionary<string, int> { [Campaign.Value] = 2 });
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 3), [], T0);
        _queue.Enqueue(Job(3), EngineNames.LibFuzzer, T0, minimization: true);
        _queue.Enqueue(Job(4), EngineNames.LibFuzzer, T0.AddSeconds(1), minimization: true);
        _queue.Enqueue(Job(0), EngineNames.LibFuzzer, T0.AddSeconds(2));

        _queue.NextOffers(T0.AddSeconds(5)).Select(o => o.JobId).Should().Equal(Job(3), Job(0));
    }

    [Fact]
    public void A_freed_slot_goes_to_the_next_job_in_line()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 1), [], T0);
        Enqueue(0, 1, 2);
        _queue.NextOffers(T0).Select(o => o.JobId).Should().Equal(Job(0));

        _queue.Rejected(Job(0), BotA);
        var offers = _queue.NextOffers(T0.AddSeconds(1));

        offers.Select(o => o.JobId).Should().Equal(Job(1));
        _queue.Pending.Should().Equal(Job(2));
    }

    [Fact]
    public void Queued_jobs_stay_in_memory_up_to_the_limit_and_the_oldest_out_of_it_are_woken_as_room_appears()
    {
        var queue = new AssignmentQueue(Grace, inMemoryLimit: 2);
        for (var i = 0; i < 5; i++)
        {
            queue.Enqueue(Job(i), EngineNames.LibFuzzer, T0.AddSeconds(i));
        }

        // The first two asked stay; the rest leave memory; asking again does not change the answer.
        Enumerable.Range(0, 5).Select(i => queue.KeepInMemory(Job(i))).Should().Equal(true, true, false, false, false);
        queue.KeepInMemory(Job(1)).Should().BeTrue();
        queue.KeepInMemory(Job(3)).Should().BeFalse();
        queue.Wake(10).Should().BeEmpty("the limit is reached");

        // One in memory is assigned: room for one, the oldest out of memory is woken, and it then stays.
        queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 1), [], T0);
        queue.NextOffers(T0).Select(o => o.JobId).Should().Equal(Job(0));
        queue.Accepted(Job(0), BotA, T0);
        queue.InMemoryCount.Should().Be(1);
        queue.Wake(10).Should().Equal(Job(2));
        queue.KeepInMemory(Job(2)).Should().BeTrue();
        queue.InMemoryCount.Should().Be(2);

        // A job that leaves the queue gives its place back; the cap per call holds.
        queue.Release(Job(1), null);
        queue.Release(Job(2), null);
        queue.Wake(1).Should().Equal(Job(3));
        queue.Wake(1).Should().Equal(Job(4));
        queue.InMemoryCount.Should().Be(2);
    }

    [Fact]
    public void A_job_whose_offer_expired_is_queued_again_as_in_memory()
    {
        var queue = new AssignmentQueue(Grace, inMemoryLimit: 1);
        queue.Enqueue(Job(0), EngineNames.LibFuzzer, T0);
        queue.Enqueue(Job(1), EngineNames.LibFuzzer, T0.AddSeconds(1));
        queue.KeepInMemory(Job(0)).Should().BeTrue();
        queue.KeepInMemory(Job(1)).Should().BeFalse();
        queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 1), [], T0);
        queue.NextOffers(T0).Select(o => o.JobId).Should().Equal(Job(0));
        queue.KeepInMemory(Job(0)).Should().BeTrue("a job on offer stays for its offer");

        queue.ExpireOffers(T0.Add(OfferTimeout), OfferTimeout);

        // The offer brought the entity into memory: it counts, so nothing else is woken.
        queue.InMemoryCount.Should().Be(1);
        queue.Wake(10).Should().BeEmpty();
    }

    [Fact]
    public void Nothing_is_offered_without_bots()
    {
        Enqueue(0, 1);

        _queue.NextOffers(T0).Should().BeEmpty();
        _queue.Pending.Should().Equal(Job(0), Job(1));
    }

    [Fact]
    public void A_job_is_offered_only_to_bots_with_its_engine()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 4, "honggfuzz"), [], T0);
        _queue.UpsertBot(BotB, AgentPathB, Capabilities(slots: 1, EngineNames.LibFuzzer), [], T0);
        _queue.Enqueue(Job(0), "aflplusplus", T0).Should().BeTrue();
        _queue.Enqueue(Job(1), EngineNames.LibFuzzer, T0.AddSeconds(1)).Should().BeTrue();

        var offers = _queue.NextOffers(T0.AddSeconds(2));

        offers.Should().ContainSingle().Which.Should().Be(new Offer(Job(1), BotB, AgentPathB, T0.AddSeconds(2)));
        _queue.Pending.Should().Equal(Job(0));
    }

    [Fact]
    public void A_long_queue_of_one_engine_holds_back_neither_another_engine_s_job_nor_the_order_across_engines()
    {
        for (var i = 0; i < 10_000; i++)
        {
            _queue.Enqueue(Job(i), EngineNames.LibFuzzer, T0).Should().BeTrue();
        }

        _queue.Enqueue(Job(10_000), EngineNames.AflPlusPlus, T0).Should().BeTrue();
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2, EngineNames.LibFuzzer), [], T0);
        _queue.UpsertBot(BotB, AgentPathB, Capabilities(slots: 1, EngineNames.AflPlusPlus), [], T0);

        _queue.NextOffers(T0).Select(o => (o.JobId, o.BotId)).Should().Equal((Job(0), BotA), (Job(1), BotA), (Job(10_000), BotB));
        // Every slot taken: asking again offers nothing and leaves the queue as it was.
        _queue.NextOffers(T0).Should().BeEmpty();
        _queue.PendingCount.Should().Be(9_998);

        // A bot that runs both engines takes jobs in arrival order across them.
        _queue.Enqueue(Job(20_000), EngineNames.AflPlusPlus, T0).Should().BeTrue();
        _queue.UpsertBot(BotC, AgentPathA + "-c", Capabilities(slots: 3, EngineNames.AflPlusPlus, EngineNames.LibFuzzer), [], T0);
        _queue.NextOffers(T0).Select(o => o.JobId).Should().Equal(Job(2), Job(3), Job(4));
    }

    [Fact]
    public void No_more_offers_are_out_at_once_than_the_most_allowed_and_each_answer_lets_one_more_go()
    {
        var queue = new AssignmentQueue(Grace, maxOffers: 3);
        queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 100), [], T0);
        for (var i = 0; i < 10; i++)
        {
            queue.Enqueue(Job(i), EngineNames.LibFuzzer, T0.AddSeconds(i));
        }

        queue.NextOffers(T0).Select(o => o.JobId).Should().Equal(Job(0), Job(1), Job(2));
        queue.NextOffers(T0).Should().BeEmpty("three offers wait for their answers");

        queue.Accepted(Job(0), BotA, T0);
        queue.Rejected(Job(1), BotA);
        queue.NextOffers(T0).Select(o => o.JobId).Should().Equal(Job(3), Job(4));
        queue.PendingCount.Should().Be(5);
    }

    [Fact]
    public void A_bot_is_offered_no_more_jobs_than_its_slots()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        Enqueue(0, 1, 2, 3, 4);

        var offers = _queue.NextOffers(T0);

        offers.Select(o => o.JobId).Should().Equal(Job(0), Job(1));
        _queue.FreeSlots.Should().Be(0);
        _queue.PendingCount.Should().Be(3);
        _queue.NextOffers(T0.AddSeconds(1)).Should().BeEmpty();
    }

    [Fact]
    public void Jobs_spread_over_the_emptiest_bots()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 4), [Job(10), Job(11), Job(12)], T0);
        _queue.UpsertBot(BotB, AgentPathB, Capabilities(slots: 4), [], T0);
        _queue.UpsertBot(BotC, "akka.tcp://pandafuzz@10.0.0.7:4053/user/bot-agent", Capabilities(slots: 2), [], T0);
        Enqueue(0, 1, 2, 3);

        var offers = _queue.NextOffers(T0.AddSeconds(1));

        // Free slots: A 1, B 4, C 2. Each job goes to a bot with the most free slots, so B takes jobs until it is
        // level with C, then they share; A, the fullest, gets none.
        offers[0].BotId.Should().Be(BotB);
        offers[1].BotId.Should().Be(BotB);
        offers.GroupBy(o => o.BotId).ToDictionary(g => g.Key, g => g.Count())
            .Should().BeEquivalentTo(new Dictionary<BotId, int> { [BotB] = 3, [BotC] = 1 });
        _queue.FreeSlots.Should().Be(3);
    }

    [Fact]
    public void Two_equal_bots_share_two_jobs()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        _queue.UpsertBot(BotB, AgentPathB, Capabilities(slots: 2), [], T0);
        Enqueue(0, 1);

        var offers = _queue.NextOffers(T0);

        offers.Select(o => o.BotId).Should().BeEquivalentTo([BotA, BotB]);
    }

    [Fact]
    public void Accepted_offer_keeps_its_slot()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        Enqueue(0);
        _queue.NextOffers(T0);

        _queue.Accepted(Job(0), BotA, T0.AddSeconds(1));

        _queue.IsOffered(Job(0)).Should().BeFalse();
        _queue.FreeSlots.Should().Be(1);
        _queue.ExpireOffers(T0.AddMinutes(10), OfferTimeout).Should().BeEmpty();
        _queue.FreeSlots.Should().Be(1);
    }

    [Fact]
    public void Rejected_offer_frees_the_slot_and_forgets_the_job()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 1), [], T0);
        Enqueue(0);
        _queue.NextOffers(T0);

        _queue.Rejected(Job(0), BotA);

        _queue.IsOffered(Job(0)).Should().BeFalse();
        _queue.FreeSlots.Should().Be(1);
        _queue.PendingCount.Should().Be(0);
        _queue.NextOffers(T0.AddSeconds(1)).Should().BeEmpty();
        _queue.ExpireOffers(T0.AddMinutes(10), OfferTimeout).Should().BeEmpty();
    }

    [Fact]
    public void A_draining_busy_bot_gets_nothing_new_while_jobs_wait_not_even_the_slot_a_finished_job_frees()
    {
        // Arrange: a bot of two slots runs two jobs, two more wait; then it is drained (its entity offers what BotState says).
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        Enqueue(0, 1, 2, 3);
        _queue.NextOffers(T0).Select(o => o.JobId).Should().Equal(Job(0), Job(1));
        _queue.Accepted(Job(0), BotA, T0);
        _queue.Accepted(Job(1), BotA, T0);
        var drained = new BotState(BotA, AgentPathA, "10.0.0.1:4053", "box-a", Capabilities(slots: 2), BotStatus.Online, T0, null, null, Draining: true);
        _queue.UpsertBot(BotA, AgentPathA, drained.Offered(Capabilities(slots: 2), running: 2), [Job(0), Job(1)], T0.AddSeconds(1));

        // Act: one of its jobs ends.
        _queue.Release(Job(0), BotA);

        // Assert: its slot is not offered again; the queue waits for another bot.
        _queue.FreeSlots.Should().Be(0);
        _queue.NextOffers(T0.AddSeconds(2)).Should().BeEmpty();
        _queue.Pending.Should().Equal(Job(2), Job(3));
        _queue.Bots.Single().HeldJobs.Should().Equal(Job(1));

        // Resumed, it takes jobs again.
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [Job(1)], T0.AddSeconds(3));
        _queue.NextOffers(T0.AddSeconds(3)).Select(o => o.JobId).Should().Equal(Job(2));
    }

    [Fact]
    public void Release_of_an_accepted_job_frees_its_slot()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 1), [], T0);
        Enqueue(0, 1);
        _queue.NextOffers(T0);
        _queue.Accepted(Job(0), BotA, T0);

        _queue.Release(Job(0), BotA);

        _queue.FreeSlots.Should().Be(1);
        _queue.NextOffers(T0.AddSeconds(1)).Select(o => o.JobId).Should().Equal(Job(1));
    }

    [Fact]
    public void Release_without_a_bot_frees_the_job_on_every_bot()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [Job(0)], T0);
        _queue.UpsertBot(BotB, AgentPathB, Capabilities(slots: 2), [Job(0)], T0);

        _queue.Release(Job(0), null);

        _queue.FreeSlots.Should().Be(4);
    }

    [Fact]
    public void Release_of_a_pending_job_takes_it_out_of_the_queue()
    {
        Enqueue(0, 1, 2);

        _queue.Release(Job(1), null);

        _queue.Pending.Should().Equal(Job(0), Job(2));
    }

    [Fact]
    public void Release_of_an_offered_job_frees_the_offered_slot()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 1), [], T0);
        Enqueue(0);
        _queue.NextOffers(T0);

        _queue.Release(Job(0), null);

        _queue.IsOffered(Job(0)).Should().BeFalse();
        _queue.FreeSlots.Should().Be(1);
        _queue.ExpireOffers(T0.AddMinutes(1), OfferTimeout).Should().BeEmpty();
    }

    [Fact]
    public void Unanswered_offers_expire_back_to_the_end_of_the_queue()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 1), [], T0);
        Enqueue(0, 1);
        _queue.NextOffers(T0).Select(o => o.JobId).Should().Equal(Job(0));

        var early = _queue.ExpireOffers(T0 + OfferTimeout - TimeSpan.FromMilliseconds(1), OfferTimeout);
        var expired = _queue.ExpireOffers(T0 + OfferTimeout, OfferTimeout);

        early.Should().BeEmpty();
        expired.Should().Equal(Job(0));
        _queue.IsOffered(Job(0)).Should().BeFalse();
        _queue.FreeSlots.Should().Be(1);
        _queue.Pending.Should().Equal(Job(1), Job(0));
    }

    [Fact]
    public void Bot_check_in_with_running_jobs_occupies_its_slots()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 3), [Job(10), Job(11)], T0);
        Enqueue(0, 1);

        var offers = _queue.NextOffers(T0);

        offers.Select(o => o.JobId).Should().Equal(Job(0));
        _queue.FreeSlots.Should().Be(0);
        _queue.BotCount.Should().Be(1);
    }

    [Fact]
    public void Check_in_keeps_a_recent_assignment_the_bot_has_not_reported_yet()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        Enqueue(0);
        _queue.NextOffers(T0);
        _queue.Accepted(Job(0), BotA, T0.AddSeconds(1));

        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0.AddSeconds(1) + Grace - TimeSpan.FromSeconds(1));

        _queue.FreeSlots.Should().Be(1);
    }

    [Fact]
    public void Check_in_after_the_grace_drops_an_assignment_the_bot_never_reported()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        Enqueue(0);
        _queue.NextOffers(T0);
        _queue.Accepted(Job(0), BotA, T0.AddSeconds(1));

        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0.AddSeconds(1) + Grace);

        _queue.FreeSlots.Should().Be(2);
    }

    [Fact]
    public void Check_in_keeps_an_outstanding_offer_whatever_its_age()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        Enqueue(0);
        _queue.NextOffers(T0);

        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0 + Grace + Grace);

        _queue.IsOffered(Job(0)).Should().BeTrue();
        _queue.FreeSlots.Should().Be(1);
    }

    [Fact]
    public void Check_in_takes_the_bots_new_capacity()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);

        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 6), [Job(10)], T0.AddSeconds(5));

        _queue.BotCount.Should().Be(1);
        _queue.FreeSlots.Should().Be(5);
    }

    [Fact]
    public void Removed_bot_gets_no_offers()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        _queue.RemoveBot(BotA);
        Enqueue(0);

        _queue.NextOffers(T0).Should().BeEmpty();
        _queue.BotCount.Should().Be(0);
        _queue.FreeSlots.Should().Be(0);
    }

    [Fact]
    public void Removing_a_lost_bot_returns_the_jobs_holding_its_slots_and_queues_its_offers_again()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 3), [Job(10)], T0, nodeUid: 77);
        Enqueue(0);
        _queue.NextOffers(T0).Should().ContainSingle(o => o.JobId == Job(0) && o.BotId == BotA);

        var held = _queue.RemoveBot(BotA);

        held.Should().BeEquivalentTo([Job(10), Job(0)]);
        _queue.IsOffered(Job(0)).Should().BeFalse();
        _queue.Pending.Should().Equal(Job(0));
        _queue.UpsertBot(BotB, AgentPathB, Capabilities(slots: 1), [], T0);
        _queue.NextOffers(T0).Should().ContainSingle(o => o.JobId == Job(0) && o.BotId == BotB);
    }

    [Fact]
    public void Known_bots_carry_their_node_incarnation_and_held_jobs()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [Job(10)], T0, nodeUid: 77);

        _queue.Bots.Should().ContainSingle().Which.Should().BeEquivalentTo(new KnownBot(BotA, AgentPathA, 77, [Job(10)]));
    }

    [Fact]
    public void An_unreachable_bot_gets_no_offers_until_it_is_reachable_again()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        Enqueue(0);

        _queue.SetReachable(BotA, false);

        _queue.NextOffers(T0).Should().BeEmpty();
        _queue.FreeSlots.Should().Be(0);

        _queue.SetReachable(BotA, true);

        _queue.NextOffers(T0).Should().ContainSingle(o => o.JobId == Job(0) && o.BotId == BotA);
    }

    [Fact]
    public void A_queued_or_offered_job_is_not_enqueued_again()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 1), [], T0);
        Enqueue(0, 1);
        _queue.NextOffers(T0);

        var offeredAgain = _queue.Enqueue(Job(0), EngineNames.LibFuzzer, T0.AddSeconds(10));
        var queuedAgain = _queue.Enqueue(Job(1), EngineNames.LibFuzzer, T0.AddSeconds(10));

        offeredAgain.Should().BeFalse();
        queuedAgain.Should().BeFalse();
        _queue.Pending.Should().Equal(Job(1));
    }

    [Fact]
    public void No_job_is_offered_twice()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        _queue.UpsertBot(BotB, AgentPathB, Capabilities(slots: 2), [], T0);
        Enqueue(0, 1, 2);

        var first = _queue.NextOffers(T0);
        _queue.Enqueue(Job(0), EngineNames.LibFuzzer, T0.AddSeconds(1));
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 8), [], T0.AddSeconds(1));
        var second = _queue.NextOffers(T0.AddSeconds(1));

        first.Select(o => o.JobId).Should().OnlyHaveUniqueItems().And.HaveCount(3);
        second.Should().BeEmpty();
    }

    [Fact]
    public void A_late_acceptance_of_an_expired_offer_takes_the_job_out_of_the_queue()
    {
        // The offer expires while the AssignJob is in flight; the job entity then accepts it. The job is assigned,
        // so the queue must neither list it as pending nor offer it again.
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 1), [], T0);
        _queue.UpsertBot(BotB, AgentPathB, Capabilities(slots: 1), [], T0);
        Enqueue(0);
        _queue.NextOffers(T0).Should().ContainSingle().Which.BotId.Should().Be(BotA);
        _queue.ExpireOffers(T0 + OfferTimeout, OfferTimeout).Should().Equal(Job(0));

        _queue.Accepted(Job(0), BotA, T0 + OfferTimeout + TimeSpan.FromSeconds(1));

        _queue.Pending.Should().BeEmpty();
        _queue.NextOffers(T0 + OfferTimeout + TimeSpan.FromSeconds(2)).Should().BeEmpty();
    }
}
