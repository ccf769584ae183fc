using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Domain.Tests.Fixtures;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Protocol.CampaignEvents;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Campaigns;

/// <summary>A campaign's priority: given at creation, changed while it runs, part of the spec it runs with, rebased or not.</summary>
public sealed class CampaignPriorityTests
{
    private static CampaignState Running(int priority = Protocol.CampaignSpec.DefaultPriority) =>
        CampaignState.Created(CampaignState.Create(Campaign, CampaignSpec(2) with { TargetName = "parser", Build = 1, Priority = priority }, T0));

    [Fact]
    public void A_running_campaigns_priority_changes_once_and_shows_in_its_spec()
    {
        var state = Running(priority: 3);
        state.CurrentSpec.Priority.Should().Be(3);

        var changed = state.SetPriority(7, T0.AddMinutes(1));

        changed.Events.Should().Equal(new CampaignPriorityChanged(Campaign, 7, T0.AddMinutes(1)));
        state = CampaignSteps.Apply(state, changed);
        state.CurrentSpec.Priority.Should().Be(7);
        state.Spec.Priority.Should().Be(3, "the spec it was created with stays as it was");
        state.SetPriority(7, T0.AddMinutes(2)).Should().BeEmpty("the same priority again changes nothing");
        state.Apply(new CampaignRebased(Campaign, 2, [new EngineTarget(EngineNames.LibFuzzer, BlobId.Of("build 2"u8))], [], T0.AddMinutes(3)))
            .CurrentSpec.Priority.Should().Be(7, "a rebase keeps the priority");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(Protocol.CampaignSpec.MaxPriority + 1)]
    public void A_priority_outside_1_to_1000_is_refused(int priority) =>
        Running().SetPriority(priority, T0).Rejection.Should().Contain("between 1 and 1000");

    [Fact]
    public void Only_a_running_campaigns_priority_changes()
    {
        var stopping = CampaignSteps.Apply(Running(), Running().Stop(T0));

        stopping.SetPriority(2, T0).Rejection.Should().Contain("stopping");
    }
}
