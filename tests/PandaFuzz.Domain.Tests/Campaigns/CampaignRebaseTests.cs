using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Protocol.CampaignEvents;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Campaigns;

/// <summary>A campaign moved to a new build of its target: its unfinished fuzzing jobs go on there for the time they had left.</summary>
public sealed class CampaignRebaseTests
{
    private static readonly BlobId Build2 = BlobId.Of("build 2"u8);
    private static readonly IReadOnlyList<EngineTarget> OnBuild2 = [new(EngineNames.LibFuzzer, Build2)];

    private static CampaignState Running(int jobs = 3) =>
        CampaignState.Created(CampaignState.Create(Campaign, CampaignSpec(jobs) with { TargetName = "parser", Build = 1, DurationSeconds = 3600 }, T0));

    private static CampaignState ApplyAll(CampaignState state, IEnumerable<IPersistedEvent> events) => events.Aggregate(state, (s, e) => s.Apply(e));

    [Fact]
    public void Unfinished_fuzzing_jobs_are_replaced_on_the_new_build_for_the_time_they_had_left()
    {
        var state = ApplyAll(Running(3), [new CampaignJobEnded(Campaign, Job(0), JobStatus.Completed, T0.AddHours(1))]);
        var now = T0.AddMinutes(70);

        // Job 1 started 20 minutes ago; job 2 has not started.
        var decision = state.Rebase(2, OnBuild2, new Dictionary<string, DateTimeOffset> { [Job(1).Value] = now.AddMinutes(-20) }, now);

        decision.Rejected.Should().BeFalse();
        var rebased = decision.Events[0].Should().BeOfType<CampaignRebased>().Subject;
        rebased.Replaced.Should().Equal(Job(1), Job(2));
        var added = decision.Events.Skip(1).Cast<CampaignJobAdded>().ToList();
        added.Select(a => a.JobId).Should().Equal(Job(3), Job(4));
        added.Select(a => a.Spec.DurationSeconds).Should().Equal(2400, 3600);
        added.Should().OnlyContain(a => a.Spec.Target == Build2 && a.Spec.Engine == EngineNames.LibFuzzer && a.Spec.TargetName == "parser");

        var after = ApplyAll(state, decision);
        after.CurrentSpec.Build.Should().Be(2);
        after.CurrentSpec.Target.Should().Be(Build2);
        after.Spec.Build.Should().Be(1, "the spec the campaign was created with stays, so a retried create still matches it");
        after.IsReplaced(Job(1)).Should().BeTrue();
        after.IsReplaced(Job(3)).Should().BeFalse();
        after.UnfinishedJobs.Should().Equal(Job(1), Job(2), Job(3), Job(4));

        // The replaced jobs end (cancelled); the campaign goes on with the new ones.
        var ended = ApplyAll(after, [.. after.JobEnded(Job(1), JobStatus.Cancelled, now), .. after.JobEnded(Job(2), JobStatus.Cancelled, now)]);
        ended.Status.Should().Be(CampaignStatus.Running);
        ended.UnfinishedJobs.Should().Equal(Job(3), Job(4));
    }

    [Fact]
    public void The_same_build_again_changes_nothing_and_a_job_past_its_time_is_left_to_end()
    {
        var state = Running(2);
        var now = T0.AddHours(2);

        // Job 0 ran its hour already: it is ending on its own and is not replaced.
        var decision = state.Rebase(2, OnBuild2, new Dictionary<string, DateTimeOffset> { [Job(0).Value] = T0 }, now);
        decision.Events[0].Should().BeOfType<CampaignRebased>().Which.Replaced.Should().Equal(Job(1));
        var after = ApplyAll(state, decision);

        after.Rebase(2, OnBuild2, new Dictionary<string, DateTimeOffset>(), now).Should().BeEmpty();
        after.AddMinimization(600, now).Events.Single().Should().BeOfType<CampaignJobAdded>().Which.Spec.Target.Should().Be(Build2,
            "a corpus minimization runs the build the campaign fuzzes now");
    }

    [Fact]
    public void An_afl_campaign_moved_to_a_build_with_a_cmplog_binary_runs_it_with_the_same_instances_and_without_one_runs_none()
    {
        var afl1 = BlobId.Of("afl build 1"u8);
        var cmplog1 = BlobId.Of("cmplog build 1"u8);
        var cmplog2 = BlobId.Of("cmplog build 2"u8);
        var state = CampaignState.Created(CampaignState.Create(Campaign,
            new CampaignSpec("parser", afl1, EngineNames.AflPlusPlus, 3, 3600, 2048, 1000, null) { TargetName = "parser", Build = 1, Cmplog = cmplog1 }, T0));
        IReadOnlyList<EngineTarget> onBuild2 = [new(EngineNames.AflPlusPlus, Build2)];
        state.SpecOf(Job(1)).CmplogTarget.Should().Be(cmplog1);

        var decision = state.Rebase(2, onBuild2, new Dictionary<string, DateTimeOffset>(), T0.AddMinutes(5), cmplog2);
        var after = ApplyAll(state, decision);

        decision.Events[0].Should().BeOfType<CampaignRebased>().Which.Cmplog.Should().Be(cmplog2);
        var added = decision.Events.Skip(1).Cast<CampaignJobAdded>().Select(a => a.Spec).ToList();
        added.Select(s => (s.Instance, s.Instances, s.CmplogTarget)).Should().Equal((0, 3, cmplog2), (1, 3, cmplog2), (2, 3, cmplog2));
        after.CurrentSpec.Cmplog.Should().Be(cmplog2);
        after.Rebase(2, onBuild2, new Dictionary<string, DateTimeOffset>(), T0.AddMinutes(6), cmplog2).Should().BeEmpty();

        // Build 3 has no CMPLOG binary: its jobs run none, and the campaign's later jobs neither.
        var build3 = ApplyAll(after, after.Rebase(3, [new(EngineNames.AflPlusPlus, BlobId.Of("build 3"u8))], new Dictionary<string, DateTimeOffset>(), T0.AddMinutes(7)));
        build3.CurrentSpec.Cmplog.Should().BeNull();
        build3.UnfinishedJobs.Where(j => !build3.IsReplaced(j)).Select(j => build3.SpecOf(j).CmplogTarget).Should().OnlyContain(c => c == null);
    }

    [Fact]
    public void Only_a_running_campaign_moves()
    {
        var stopping = ApplyAll(Running(1), Running(1).Stop(T0.AddMinutes(1)));

        stopping.Rebase(2, OnBuild2, new Dictionary<string, DateTimeOffset>(), T0.AddMinutes(2)).Rejection.Should().Contain("only a running campaign");
    }
}
