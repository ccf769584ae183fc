using FluentAssertions;
using PandaFuzz.Bot.Runner;
using Xunit;

namespace PandaFuzz.Bot.Tests.Runner;

/// <summary>When a failed engine is started again, and when the job gives up.</summary>
public sealed class EngineRestartPolicyTests
{
    private static readonly EngineRestartPolicy Policy = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), 5, TimeSpan.FromSeconds(60));
    private static readonly EngineRun Failed = new(false, false, TimeSpan.FromSeconds(1));

    [Fact]
    public void Failures_in_a_row_double_the_delay_up_to_the_cap_then_give_up()
    {
        var decisions = new List<EngineRestartDecision>();
        var failures = 0;
        for (var i = 0; i < 5; i++)
        {
            var decision = Policy.After(failures, Failed);
            decisions.Add(decision);
            failures = decision.ConsecutiveFailures;
        }

        decisions.Select(d => d.RestartAfter).Should().Equal(
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5), null);
        decisions[^1].ConsecutiveFailures.Should().Be(5);
    }

    [Fact]
    public void A_finding_resets_the_count()
    {
        Policy.After(4, new EngineRun(true, false, TimeSpan.FromMilliseconds(100))).Should().Be(new EngineRestartDecision(0, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void A_long_run_resets_the_count_but_a_long_hang_does_not()
    {
        Policy.After(4, new EngineRun(false, false, TimeSpan.FromMinutes(5))).Should().Be(new EngineRestartDecision(0, TimeSpan.FromSeconds(1)));
        Policy.After(3, new EngineRun(false, true, TimeSpan.FromMinutes(5))).Should().Be(new EngineRestartDecision(4, TimeSpan.FromSeconds(5)));
        Policy.After(4, new EngineRun(false, true, TimeSpan.FromMinutes(5))).RestartAfter.Should().BeNull();
    }

    [Fact]
    public void One_allowed_failure_gives_up_at_once()
    {
        (Policy with { MaxFailures = 1 }).After(0, Failed).Should().Be(new EngineRestartDecision(1, null));
    }
}
