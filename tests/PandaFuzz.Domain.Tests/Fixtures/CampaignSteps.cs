using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Protocol;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Fixtures;

/// <summary>Steps the campaign tests share: a numbered build of a target, and a decision applied to a state.</summary>
public static class CampaignSteps
{
    /// <summary>Build <paramref name="number"/> with one fuzzing binary of its own.</summary>
    public static TargetBuild Build(int number) =>
        new(number, $"r{number}", T0, T0, [new TargetBinary(TargetBinaryKinds.Fuzzer, BlobId.Of(System.Text.Encoding.UTF8.GetBytes($"build {number}")), 10)]);

    /// <summary>The state after an accepted decision's events.</summary>
    public static CampaignState Apply(CampaignState state, Decision decision)
    {
        decision.Rejected.Should().BeFalse(decision.Rejection);
        return decision.Aggregate(state, (s, e) => s.Apply(e));
    }
}
