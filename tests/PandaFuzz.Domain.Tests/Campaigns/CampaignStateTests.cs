using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Testing.Samples;
using static PandaFuzz.Protocol.CampaignEvents;

namespace PandaFuzz.Domain.Tests.Campaigns;

public sealed class CampaignStateTests
{
    private static CampaignState Running(int jobs = 3) => CampaignState.Created(CampaignState.Create(Campaign, CampaignSpec(jobs), T0));

    private static CampaignState ApplyAll(CampaignState state, IEnumerable<IPersistedEvent> events) => events.Aggregate(state, (s, e) => s.Apply(e));

    [Fact]
    public void Create_names_the_jobs_by_campaign_and_index()
    {
        var created = CampaignState.Create(Campaign, CampaignSpec(jobs: 3), T0);

        created.CampaignId.Should().Be(Campaign);
        created.At.Should().Be(T0);
        created.JobIds.Should().Equal(new JobId("3f2a9c1b0d4e-0"), new JobId("3f2a9c1b0d4e-1"), new JobId("3f2a9c1b0d4e-2"));
    }

    [Fact]
    public void A_retried_create_names_the_same_jobs()
    {
        var first = CampaignState.Create(Campaign, CampaignSpec(jobs: 5), T0);
        var retry = CampaignState.Create(Campaign, CampaignSpec(jobs: 5), T0.AddSeconds(9));

        retry.JobIds.Should().Equal(first.JobIds);
    }

    [Fact]
    public void Created_campaign_is_running_with_every_job_unfinished()
    {
        var state = Running(jobs: 2);

        state.Status.Should().Be(CampaignStatus.Running);
        state.IsFinished.Should().BeFalse();
        state.UnfinishedJobs.Should().Equal(Job(0), Job(1));
        state.Crashes.Should().BeEmpty();
        state.CreatedAt.Should().Be(T0);
        state.FinishedAt.Should().BeNull();
    }

    [Fact]
    public void Stop_with_unfinished_jobs_only_requests_the_stop()
    {
        var now = T0.AddMinutes(10);

        var events = Running().Stop(now);

        events.Should().Equal(new CampaignStopRequested(Campaign, now));
        ApplyAll(Running(), events).Status.Should().Be(CampaignStatus.Stopping);
    }

    [Fact]
    public void Stop_with_every_job_ended_finishes_the_campaign_as_stopped()
    {
        var now = T0.AddMinutes(10);
        var state = ApplyAll(Running(jobs: 1), [new CampaignJobEnded(Campaign, Job(0), JobStatus.Failed, T0.AddMinutes(1))]);

        var events = state.Stop(now);

        events.Should().Equal(new CampaignStopRequested(Campaign, now), new CampaignFinished(Campaign, CampaignStatus.Stopped, now));
        var stopped = ApplyAll(state, events);
        stopped.Status.Should().Be(CampaignStatus.Stopped);
        stopped.FinishedAt.Should().Be(now);
        stopped.IsFinished.Should().BeTrue();
    }

    [Fact]
    public void Stop_of_a_campaign_that_is_not_running_changes_nothing()
    {
        var stopping = ApplyAll(Running(), Running().Stop(T0.AddMinutes(1)));

        stopping.Stop(T0.AddMinutes(2)).Should().BeEmpty();
    }

    [Fact]
    public void Each_job_end_is_recorded_once()
    {
        var now = T0.AddMinutes(3);
        var state = Running();

        var first = state.JobEnded(Job(1), JobStatus.Completed, now);
        state = ApplyAll(state, first);
        var repeated = state.JobEnded(Job(1), JobStatus.Completed, now.AddSeconds(3));

        first.Should().Equal(new CampaignJobEnded(Campaign, Job(1), JobStatus.Completed, now));
        repeated.Should().BeEmpty();
        state.EndedJobs.Should().Equal(new Dictionary<string, JobStatus> { [Job(1).Value] = JobStatus.Completed });
        state.UnfinishedJobs.Should().Equal(Job(0), Job(2));
    }

    [Fact]
    public void The_last_job_to_end_completes_the_campaign()
    {
        var state = ApplyAll(Running(), [
            new CampaignJobEnded(Campaign, Job(0), JobStatus.Completed, T0.AddHours(1)),
            new CampaignJobEnded(Campaign, Job(2), JobStatus.Failed, T0.AddHours(1)),
        ]);
        var now = T0.AddHours(2);

        var events = state.JobEnded(Job(1), JobStatus.Completed, now);

        events.Should().Equal(
            new CampaignJobEnded(Campaign, Job(1), JobStatus.Completed, now),
            new CampaignFinished(Campaign, CampaignStatus.Completed, now));
        var finished = ApplyAll(state, events);
        finished.Status.Should().Be(CampaignStatus.Completed);
        finished.FinishedAt.Should().Be(now);
        finished.UnfinishedJobs.Should().BeEmpty();
    }

    [Fact]
    public void A_job_end_that_is_not_the_last_does_not_finish_the_campaign()
    {
        var events = Running().JobEnded(Job(0), JobStatus.Completed, T0.AddHours(1));

        events.Should().ContainSingle().Which.Should().BeOfType<CampaignJobEnded>();
    }

    [Fact]
    public void The_last_job_to_end_while_stopping_finishes_the_campaign_as_stopped()
    {
        var state = ApplyAll(Running(jobs: 2), [
            new CampaignJobEnded(Campaign, Job(0), JobStatus.Completed, T0.AddMinutes(1)),
            new CampaignStopRequested(Campaign, T0.AddMinutes(2)),
        ]);
        var now = T0.AddMinutes(3);

        var events = state.JobEnded(Job(1), JobStatus.Cancelled, now);

        events.Should().Equal(
            new CampaignJobEnded(Campaign, Job(1), JobStatus.Cancelled, now),
            new CampaignFinished(Campaign, CampaignStatus.Stopped, now));
        ApplyAll(state, events).Status.Should().Be(CampaignStatus.Stopped);
    }

    [Fact]
    public void End_of_a_job_that_is_not_the_campaigns_is_ignored()
    {
        var foreignJob = JobId.For(new CampaignId("aaaaaaaaaaaa"), 0);

        Running().JobEnded(foreignJob, JobStatus.Completed, T0.AddHours(1)).Should().BeEmpty();
        Running(jobs: 3).JobEnded(Job(3), JobStatus.Completed, T0.AddHours(1)).Should().BeEmpty();
    }

    [Fact]
    public void A_first_report_becomes_a_unique_crash_named_by_campaign_and_signature()
    {
        var now = T0.AddMinutes(4);
        var finding = Finding(CrashInput, now);

        var events = Running().ReportCrash(Job(1), BotA, finding, sampled: true, now);
        var state = ApplyAll(Running(), events);

        var id = new CrashId($"{Campaign.Value}-{Signature}");
        events.Should().Equal(new CrashReported(Campaign, new CrashRecord(id, Campaign, Job(1), BotA, finding), true, now));
        var crash = state.FindCrash(id)!;
        crash.Should().BeEquivalentTo(new
        {
            Kind = "Heap-buffer-overflow READ 1", State = "parse_header", Security = true, Count = 1L, FirstSeen = now, LastSeen = now,
            Samples = new[] { CrashInput }, ReproduceAttempts = 3L, Reproduced = 2L,
        });
        crash.First.Finding.Output.Should().Be(finding.Output);
        crash.ReproducibleRate.Should().BeApproximately(2.0 / 3, 1e-9);
    }

    [Fact]
    public void Reports_of_one_signature_are_counted_into_one_crash_with_their_jobs_bots_and_reproductions()
    {
        var state = Running();
        state = ApplyAll(state, state.ReportCrash(Job(1), BotA, Finding(CrashInput, T0), true, T0));
        state = ApplyAll(state, state.ReportCrash(Job(2), BotB, Finding(OtherCrashInput, T0.AddMinutes(1)) with { Reproduced = 0 }, false, T0.AddMinutes(1)));

        var crash = state.Crashes.Should().ContainSingle().Which.Value;
        crash.Count.Should().Be(2);
        crash.LastSeen.Should().Be(T0.AddMinutes(1));
        crash.Jobs.Should().Equal(Job(1), Job(2));
        crash.Bots.Should().Equal(BotA, BotB);
        crash.Samples.Should().Equal(CrashInput);
        (crash.ReproduceAttempts, crash.Reproduced).Should().Be((6L, 2L));
        state.CrashReports.Should().Be(2);
    }

    [Fact]
    public void A_later_report_of_a_known_bug_is_stored_without_its_output()
    {
        var state = ApplyAll(Running(), Running().ReportCrash(Job(1), BotA, Finding(CrashInput, T0), true, T0));

        var events = state.ReportCrash(Job(1), BotA, Finding(OtherCrashInput, T0), false, T0);

        var reported = events.Should().ContainSingle().Which.Should().BeOfType<CrashReported>().Subject;
        reported.Crash.Finding.Output.Should().BeEmpty();
        reported.Crash.Finding.Stack.Should().BeEmpty();
    }

    [Fact]
    public void A_redelivered_input_is_not_counted_again_even_from_another_job()
    {
        var finding = Finding(CrashInput, T0.AddMinutes(4));
        var state = ApplyAll(Running(), Running().ReportCrash(Job(1), BotA, finding, true, T0.AddMinutes(4)));

        state.HasCounted(CrashInput).Should().BeTrue();
        state.ReportCrash(Job(1), BotA, finding, true, T0.AddMinutes(5)).Should().BeEmpty();
        state.ReportCrash(Job(2), BotB, finding with { FoundAt = T0.AddMinutes(6) }, false, T0.AddMinutes(6)).Should().BeEmpty();
    }

    [Fact]
    public void Another_signature_is_another_crash()
    {
        var state = ApplyAll(Running(), Running().ReportCrash(Job(1), BotA, Finding(CrashInput, T0), true, T0));

        state = ApplyAll(state, state.ReportCrash(Job(1), BotA, Finding(OtherCrashInput, T0.AddMinutes(1), OtherSignature), true, T0.AddMinutes(1)));

        state.UniqueCrashes.Select(c => c.Id).Should().Equal(CrashId.ForSignature(Campaign, Signature), CrashId.ForSignature(Campaign, OtherSignature));
    }

    [Fact]
    public void Samples_are_wanted_until_the_limit_counting_those_on_their_way()
    {
        var state = ApplyAll(Running(), Running().ReportCrash(Job(1), BotA, Finding(CrashInput, T0), true, T0));

        state.WantsSample(OtherSignature, maxSamples: 2, samplesOnTheirWay: 0).Should().BeTrue("a new bug always keeps its input");
        state.WantsSample(Signature, maxSamples: 2, samplesOnTheirWay: 0).Should().BeTrue();
        state.WantsSample(Signature, maxSamples: 2, samplesOnTheirWay: 1).Should().BeFalse();
        state.WantsSample(Signature, maxSamples: 1, samplesOnTheirWay: 0).Should().BeFalse();
    }

    [Fact]
    public void A_new_unique_crash_gets_one_minimization_job_on_the_engine_that_found_it()
    {
        var state = ApplyAll(Running(jobs: 2), Running(jobs: 2).ReportCrash(Job(1), BotA, Finding(CrashInput, T0), true, T0));

        var events = state.AddCrashMinimization(Signature, 120, T0);
        state = ApplyAll(state, events);

        var added = events.Should().ContainSingle().Which.Should().BeOfType<CampaignJobAdded>().Subject;
        added.JobId.Should().Be(Job(2));
        added.Spec.Should().BeEquivalentTo(state.Spec.ToJobSpec(1) with
        {
            DurationSeconds = 120, Dictionary = null, Task = JobTask.MinimizeCrash, CrashInput = CrashInput, CrashSignature = Signature,
        });
        state.AddCrashMinimization(Signature, 120, T0).Should().BeEmpty("one minimization per unique crash");
        state.UnfinishedJobs.Should().Contain(Job(2));
    }

    [Fact]
    public void A_crash_reported_after_the_campaign_was_stopped_is_counted_but_not_minimized()
    {
        var stopped = ApplyAll(Running(jobs: 1), Running(jobs: 1).Stop(T0));
        stopped = ApplyAll(stopped, stopped.JobEnded(Job(0), JobStatus.Cancelled, T0));
        stopped.Status.Should().Be(CampaignStatus.Stopped);

        var state = ApplyAll(stopped, stopped.ReportCrash(Job(0), BotA, Finding(CrashInput, T0.AddSeconds(5)), true, T0.AddSeconds(5)));

        state.UniqueCrashes.Should().ContainSingle("a late finding still counts");
        state.AddCrashMinimization(Signature, 120, T0.AddSeconds(5)).Should().BeEmpty("the user stopped the campaign");
    }

    [Fact]
    public void A_crash_without_a_stored_sample_waits_for_one_before_it_is_minimized()
    {
        var state = ApplyAll(Running(), Running().ReportCrash(Job(1), BotA, Finding(CrashInput, T0), sampled: false, T0));

        state.AddCrashMinimization(Signature, 120, T0).Should().BeEmpty("there is no input to minimize yet");

        state = ApplyAll(state, state.ReportCrash(Job(1), BotA, Finding(OtherCrashInput, T0), sampled: true, T0));
        var added = state.AddCrashMinimization(Signature, 120, T0).Should().ContainSingle().Which.Should().BeOfType<CampaignJobAdded>().Subject;
        added.Spec.CrashInput.Should().Be(OtherCrashInput);
    }

    [Fact]
    public void A_minimization_outcome_is_kept_with_its_crash()
    {
        var state = ApplyAll(Running(), Running().ReportCrash(Job(1), BotA, Finding(CrashInput, T0), true, T0));
        var outcome = new CrashMinimization(Job(3), OtherCrashInput, 2, null, T0.AddMinutes(2));

        state = state.Apply(new CrashMinimized(Campaign, Signature, outcome, T0.AddMinutes(2)));

        state.Crashes[Signature].Minimization.Should().Be(outcome);
    }

    [Fact]
    public void A_late_crash_of_a_finished_campaign_is_still_counted()
    {
        var state = ApplyAll(Running(jobs: 1), Running(jobs: 1).JobEnded(Job(0), JobStatus.Completed, T0.AddHours(1)));

        var events = state.ReportCrash(Job(0), BotA, Finding(CrashInput, T0.AddHours(1)), true, T0.AddHours(1).AddSeconds(2));

        state.IsFinished.Should().BeTrue();
        events.Should().ContainSingle().Which.Should().BeOfType<CrashReported>();
    }

    [Fact]
    public void A_report_from_before_triage_has_no_signature_and_is_grouped_by_its_input()
    {
        var record = new CrashRecord(CrashId.For(Campaign, CrashInput), Campaign, Job(0), BotA, Finding(CrashInput, T0) with { Signature = null });

        var state = Running().Apply(new CrashReported(Campaign, record, Sampled: true, T0));

        var crash = state.Crashes.Should().ContainSingle().Which.Value;
        crash.Signature.Should().Be(CrashInput.Sha256[..16]);
        crash.Samples.Should().Equal(CrashInput);
    }

    [Fact]
    public void FindCrash_of_an_unknown_id_gives_null()
    {
        Running().FindCrash(CrashId.ForSignature(Campaign, Signature)).Should().BeNull();
    }

    [Fact]
    public void Apply_is_deterministic()
    {
        var created = CampaignState.Create(Campaign, CampaignSpec(jobs: 2), T0);
        IPersistedEvent[] events =
        [
            new CrashReported(Campaign, new CrashRecord(CrashId.ForSignature(Campaign, Signature), Campaign, Job(0), BotA, Finding(CrashInput, T0)), true, T0),
            new CampaignJobEnded(Campaign, Job(0), JobStatus.Completed, T0.AddHours(1)),
            new CampaignStopRequested(Campaign, T0.AddHours(1)),
            new CampaignJobEnded(Campaign, Job(1), JobStatus.Cancelled, T0.AddHours(2)),
            new CampaignFinished(Campaign, CampaignStatus.Stopped, T0.AddHours(2)),
        ];

        var first = ApplyAll(CampaignState.Created(created), events);
        var second = ApplyAll(CampaignState.Created(created), events);

        second.Should().BeEquivalentTo(first);
        first.Status.Should().Be(CampaignStatus.Stopped);
        first.FinishedAt.Should().Be(T0.AddHours(2));
    }

    [Fact]
    public void Apply_of_another_entity_event_throws()
    {
        var act = () => Running().Apply(new JobEvents.JobStarted(Job(0), BotA, T0));

        act.Should().Throw<ArgumentException>().WithMessage("*JobStarted*");
    }
}
