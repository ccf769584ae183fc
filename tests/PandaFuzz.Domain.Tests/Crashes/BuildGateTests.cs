using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Protocol.CampaignEvents;
using static PandaFuzz.Domain.Tests.Fixtures.CampaignSteps;
using static PandaFuzz.Domain.Tests.Fixtures.Findings;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Crashes;

/// <summary>
/// A CI gate's verdict: what a short campaign on a new build found, against the target's known bugs after their reruns
/// on that build. New and regressed bugs fail it; known open ones are listed.
/// </summary>
public sealed class BuildGateTests
{
    private static readonly CampaignId Gate = CampaignId.New();

    private static CampaignState Found(CampaignId id, int build, params CrashFinding[] findings)
    {
        var state = CampaignState.Created(CampaignState.Create(id, CampaignSpec(1) with { TargetName = "parser", Build = build }, T0));
        return findings.Aggregate(state, (s, f) => Apply(s, s.ReportCrash(JobId.For(id, 0), BotA, f, sampled: true, T0)));
    }

    private static CrashFinding Overflow() => Report("Heap-buffer-overflow WRITE 4", "handle_record\nparse", "p.c:57");

    private static CrashFinding UseAfterFree() => Report("Heap-use-after-free READ 8", "free_session\nparse", "p.c:90");

    /// <summary>The target's nightly campaign after build <paramref name="build"/>'s reruns: the overflow crashes or not, the use-after-free does.</summary>
    private static CampaignState Known(int build, bool overflowCrashes)
    {
        var state = Found(Campaign, 1, Overflow(), UseAfterFree());
        var decision = state.VerifyBuild(Build(build), T0.AddHours(1));
        var jobs = decision.Events.Cast<CampaignJobAdded>().ToDictionary(a => a.Spec.CrashSignature!, a => a.JobId);
        state = Apply(state, decision);
        state.VerifyingBuilds.Should().Equal(build);
        var useAfterFree = state.Bugs().Single(b => b.Leader.State.StartsWith("free_session", StringComparison.Ordinal)).Leader.Signature;
        foreach (var (signature, job) in jobs)
        {
            var crashes = signature == useAfterFree || overflowCrashes;
            state = Apply(state, state.RecordVerification(job, 3, crashes ? 3 : 0, crashes ? signature : null, T0.AddHours(1)));
            state = Apply(state, state.JobEnded(job, JobStatus.Completed, T0.AddHours(1)));
        }

        state.VerifyingBuilds.Should().BeEmpty("every verification job ended");
        return state;
    }

    private static IReadOnlyList<BuildGate.CampaignBug> Bugs(CampaignState state) => [.. state.Bugs().Select(b => new BuildGate.CampaignBug(state.Id, b))];

    [Fact]
    public void A_bug_the_target_never_had_fails_the_gate_and_a_known_one_is_listed()
    {
        var known = Known(2, overflowCrashes: false);
        var gate = Found(Gate, 2, UseAfterFree(), Report("SEGV on unknown address", "read_header\nparse", "p.c:12", security: false));

        var verdict = BuildGate.Judge(2, Bugs(gate), Bugs(known));

        verdict.Passed.Should().BeFalse();
        verdict.New.Select(l => l.Bug.Bug.Leader.State).Should().Equal("read_header\nparse");
        verdict.Known.Select(l => l.Bug.Bug.Leader.State).Should().Equal("free_session\nparse");
        verdict.Fixed.Select(l => l.Bug.Bug.Leader.State).Should().Equal("handle_record\nparse");
        verdict.Regressed.Should().BeEmpty();
    }

    [Fact]
    public void Only_known_bugs_pass_the_gate_and_a_bug_two_campaigns_know_is_listed_once()
    {
        var known = Known(2, overflowCrashes: true);
        var other = Found(CampaignId.New(), 1, UseAfterFree());
        var gate = Found(Gate, 2, UseAfterFree());

        var verdict = BuildGate.Judge(2, Bugs(gate), [.. Bugs(known), .. Bugs(other)]);

        verdict.Passed.Should().BeTrue();
        verdict.Known.Select(l => (l.Bug.Campaign, l.Bug.Bug.Leader.State)).Should().BeEquivalentTo([(Campaign, "handle_record\nparse"), (Campaign, "free_session\nparse")]);
    }

    [Fact]
    public void A_fixed_bug_that_crashes_again_fails_as_regressed_whether_its_rerun_or_the_gate_finds_it()
    {
        // Its sample crashes again on build 3: the rerun says so.
        var fixedIn2 = Known(2, overflowCrashes: false);
        var decision = fixedIn2.VerifyBuild(Build(3), T0.AddHours(3));
        var onBuild3 = Apply(fixedIn2, decision);
        var overflow = fixedIn2.Bugs().Single(b => b.Status == BugStatus.Fixed);
        var job = decision.Events.Cast<CampaignJobAdded>().Single(a => a.Spec.CrashSignature == overflow.Leader.Signature).JobId;
        onBuild3 = Apply(onBuild3, onBuild3.RecordVerification(job, 3, 3, overflow.Leader.Signature, T0.AddHours(3)));

        var rerun = BuildGate.Judge(3, [], Bugs(onBuild3));
        rerun.Regressed.Should().ContainSingle().Which.Bug.Bug.Status.Should().Be(BugStatus.Regressed);
        rerun.Passed.Should().BeFalse();

        // Its sample does not crash on build 2, but the gate found another input that does.
        var gate = Found(Gate, 2, Overflow());
        var found = BuildGate.Judge(2, Bugs(gate), Bugs(fixedIn2));
        found.Regressed.Should().ContainSingle().Which.Known!.Bug.Id.Should().Be(overflow.Id);
        found.Fixed.Should().BeEmpty("the fix did not hold");
        found.New.Should().BeEmpty();
    }

    [Fact]
    public void A_bug_marked_wontfix_is_neither_new_nor_listed()
    {
        var known = Found(Campaign, 1, UseAfterFree());
        known = Apply(known, known.TriageBug(known.Bugs()[0].Id, BugStatus.Wontfix, null, null, T0));

        var verdict = BuildGate.Judge(2, Bugs(Found(Gate, 2, UseAfterFree())), Bugs(known));

        verdict.Passed.Should().BeTrue();
        verdict.Known.Should().BeEmpty();
    }
}
