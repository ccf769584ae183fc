using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Protocol.CampaignEvents;
using static PandaFuzz.Domain.Tests.Fixtures.CampaignSteps;
using static PandaFuzz.Domain.Tests.Fixtures.Findings;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Crashes;

/// <summary>
/// A new build's check of a campaign's bugs: a job per open, fixed or regressed bug reruns its input there; a bug that no
/// longer crashes is fixed in that build, a fixed one that crashes again regressed, with the ranges of builds between.
/// </summary>
public sealed class BugVerificationTests
{
    /// <summary>A campaign on build 1 of "parser" with two bugs found by job 0.</summary>
    private static CampaignState TwoBugs()
    {
        var state = CampaignState.Created(CampaignState.Create(Campaign, CampaignSpec(1) with { TargetName = "parser", Build = 1 }, T0));
        foreach (var finding in new[] { Report("Heap-buffer-overflow WRITE 4", "handle_record\nparse", "p.c:57"), Report("Heap-use-after-free READ 8", "free_session\nparse", "p.c:90") })
        {
            state = Apply(state, state.ReportCrash(Job(0), BotA, finding, sampled: true, T0));
        }

        return state;
    }

    private static (CampaignState State, Dictionary<string, JobId> Jobs) Verify(CampaignState state, int build)
    {
        var decision = state.VerifyBuild(Build(build), T0.AddHours(build));
        var jobs = decision.Events.Cast<CampaignJobAdded>().ToDictionary(a => a.Spec.CrashSignature!, a => a.JobId);
        return (Apply(state, decision), jobs);
    }

    [Fact]
    public void A_build_that_fixes_one_bug_marks_it_fixed_and_one_that_brings_it_back_regressed_with_the_ranges()
    {
        var state = TwoBugs();
        var (overflow, useAfterFree) = (state.Bugs()[0], state.Bugs()[1]);
        overflow.FoundInBuild.Should().Be(1);

        // Build 2: a job per bug, on the build's binary, rerunning the leader's sample.
        var (onBuild2, jobs2) = Verify(state, 2);
        jobs2.Should().HaveCount(2);
        var spec = onBuild2.SpecOf(jobs2[overflow.Leader.Signature]);
        spec.Task.Should().Be(JobTask.VerifyBug);
        spec.Build.Should().Be(2);
        spec.Target.Should().Be(Build(2).Binaries[0].Binary);
        spec.CrashInput.Should().Be(overflow.Leader.Samples[0]);
        onBuild2.VerifyBuild(Build(2), T0).Should().BeEmpty("the bugs are being checked on build 2 already");

        // The overflow no longer crashes on build 2; the use-after-free does.
        onBuild2 = Apply(onBuild2, onBuild2.RecordVerification(jobs2[overflow.Leader.Signature], 3, 0, null, T0.AddHours(2)));
        onBuild2 = Apply(onBuild2, onBuild2.RecordVerification(jobs2[useAfterFree.Leader.Signature], 3, 3, useAfterFree.Leader.Signature, T0.AddHours(2)));
        var fixedBug = onBuild2.Bugs()[0];
        fixedBug.Status.Should().Be(BugStatus.Fixed);
        fixedBug.FixedRange.Should().Be((2, 1), "fixed in build 2, last reproduced in build 1");
        onBuild2.Bugs()[1].Status.Should().Be(BugStatus.Open);
        onBuild2.RecordVerification(jobs2[overflow.Leader.Signature], 3, 0, null, T0).Should().BeEmpty("a verdict delivered twice counts once");

        // Build 3 brings the overflow back.
        var (onBuild3, jobs3) = Verify(onBuild2, 3);
        onBuild3 = Apply(onBuild3, onBuild3.RecordVerification(jobs3[overflow.Leader.Signature], 3, 2, overflow.Leader.Signature, T0.AddHours(3)));
        var regressed = onBuild3.Bugs()[0];
        regressed.Status.Should().Be(BugStatus.Regressed);
        regressed.RegressedRange.Should().Be((3, 2), "regressed in build 3, last fixed in build 2");
        regressed.Checks!.Select(c => (c.Build, c.Reproduces)).Should().Equal((2, false), (3, true));
    }

    [Fact]
    public void A_wontfix_bug_is_not_checked_and_a_crash_of_another_bug_is_no_reproduction()
    {
        var state = TwoBugs();
        var (overflow, useAfterFree) = (state.Bugs()[0], state.Bugs()[1]);
        state = Apply(state, state.TriageBug(useAfterFree.Id, BugStatus.Wontfix, null, null, T0));

        var (onBuild2, jobs) = Verify(state, 2);
        jobs.Keys.Should().Equal(overflow.Leader.Signature);

        // The input now crashes somewhere else: the overflow itself is gone.
        onBuild2 = Apply(onBuild2, onBuild2.RecordVerification(jobs[overflow.Leader.Signature], 3, 3, "ffffffffffffffff", T0.AddHours(2)));
        var bug = onBuild2.Bugs()[0];
        bug.Status.Should().Be(BugStatus.Fixed);
        bug.Checks!.Single().CrashedAs.Should().Be("ffffffffffffffff");
        onBuild2.RecordVerification(Job(0), 3, 0, null, T0).Rejection.Should().Contain("verifies no bug");
    }
}
