using FluentAssertions;
using PandaFuzz.Domain.Scheduling;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Scheduling;

/// <summary>Campaign weights (pandafuzz.master.scheduler.campaign-weights): free slots shared in proportion to weight.</summary>
public sealed class CampaignWeightsTests
{
    private static readonly CampaignId Heavy = new("aaaaaaaaaaaa");
    private static readonly CampaignId Light = new("bbbbbbbbbbbb");

    private readonly AssignmentQueue _queue = new(TimeSpan.FromSeconds(35));

    // Light's jobs arrive first: first come, first served would give it every slot.
    private void EnqueueBoth(int jobsEach)
    {
        for (var i = 0; i < jobsEach; i++)
        {
            _queue.Enqueue(JobId.For(Light, i), EngineNames.LibFuzzer, T0.AddSeconds(i));
        }

        for (var i = 0; i < jobsEach; i++)
        {
            _queue.Enqueue(JobId.For(Heavy, i), EngineNames.LibFuzzer, T0.AddSeconds(100 + i));
        }
    }

    private int OffersTo(IEnumerable<Offer> offers, CampaignId campaign) =>
        offers.Count(o => AssignmentQueue.CampaignOf(o.JobId) == campaign.Value);

    [Fact]
    public void Without_weights_the_oldest_jobs_take_every_slot()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 4), [], T0);
        EnqueueBoth(jobsEach: 8);

        var offers = _queue.NextOffers(T0.AddSeconds(200));

        OffersTo(offers, Light).Should().Be(4);
    }

    [Fact]
    public void Slots_are_shared_in_proportion_to_the_weights()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 8), [], T0);
        EnqueueBoth(jobsEach: 8);
        _queue.SetWeights(new Dictionary<string, int> { [Heavy.Value] = 3 });

        var offers = _queue.NextOffers(T0.AddSeconds(200));

        OffersTo(offers, Heavy).Should().Be(6);
        OffersTo(offers, Light).Should().Be(2);
        offers.Where(o => AssignmentQueue.CampaignOf(o.JobId) == Heavy.Value).Select(o => o.JobId)
            .Should().Equal(Enumerable.Range(0, 6).Select(i => JobId.For(Heavy, i)), "within a campaign the oldest job goes first");
    }

    [Fact]
    public void Slots_already_held_count_towards_a_campaigns_share()
    {
        // Light already runs two jobs on bot A; four new slots on bot B with equal weights go to Heavy first.
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [JobId.For(Light, 90), JobId.For(Light, 91)], T0);
        _queue.UpsertBot(BotB, AgentPathB, Capabilities(slots: 4), [], T0);
        EnqueueBoth(jobsEach: 4);
        _queue.SetWeights(new Dictionary<string, int> { [Light.Value] = 1 });

        var offers = _queue.NextOffers(T0.AddSeconds(200));

        OffersTo(offers, Heavy).Should().Be(3);
        OffersTo(offers, Light).Should().Be(1);
    }

    [Fact]
    public void Clearing_the_weights_goes_back_to_first_come_first_served()
    {
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 4), [], T0);
        EnqueueBoth(jobsEach: 8);
        _queue.SetWeights(new Dictionary<string, int> { [Heavy.Value] = 3 });
        _queue.SetWeights(new Dictionary<string, int>());

        OffersTo(_queue.NextOffers(T0.AddSeconds(200)), Light).Should().Be(4);
    }

    [Fact]
    public void Among_campaigns_holding_the_same_share_the_higher_priority_gets_a_free_slot_first()
    {
        // Light waited longer; with nothing held by either, one free slot goes to the heavier campaign.
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 1), [], T0);
        EnqueueBoth(jobsEach: 2);
        _queue.SetWeights(new Dictionary<string, int> { [Heavy.Value] = 5 });

        _queue.NextOffers(T0.AddSeconds(200)).Select(o => o.JobId).Should().Equal(JobId.For(Heavy, 0));
    }

    [Fact]
    public void The_queue_lists_jobs_in_the_order_free_slots_would_go_to_them()
    {
        EnqueueBoth(jobsEach: 3);
        _queue.PendingInOfferOrder().Should().Equal(_queue.Pending, "without weights, arrival order");

        _queue.SetWeights(new Dictionary<string, int> { [Heavy.Value] = 2 });

        // Heavy first (same share, higher weight), then Light (0 per 1 < 1 per 2), then Heavy's second (1 per 2 < 1 per 1), …
        _queue.PendingInOfferOrder().Should().Equal(
            JobId.For(Heavy, 0), JobId.For(Light, 0), JobId.For(Heavy, 1), JobId.For(Heavy, 2), JobId.For(Light, 1), JobId.For(Light, 2));
        _queue.UpsertBot(BotA, AgentPathA, Capabilities(slots: 2), [], T0);
        _queue.NextOffers(T0.AddSeconds(200)).Select(o => o.JobId).Should().Equal([JobId.For(Heavy, 0), JobId.For(Light, 0)], "the offers follow the listed order");
    }
}
