using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Domain.Tests.Samples;
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
    public void Crash_is_recorded_under_an_id_derived_from_the_campaign_and_the_input_sha()
    {
        var now = T0.AddMinutes(4);
        var finding = Finding(CrashInput, now);

        var events = Running().RecordCrash(Job(1), BotA, finding, now);

        var expectedId = new CrashId($"{Campaign.Value}-{CrashInput.Sha256[..16]}");
        events.Should().Equal(new CrashRecorded(Campaign, new CrashRecord(expectedId, Campaign, Job(1), BotA, finding), now));
        CrashId.For(Campaign, CrashInput).Should().Be(expectedId);
    }

    [Fact]
    public void The_same_input_is_recorded_once_even_from_another_job()
    {
        var finding = Finding(CrashInput, T0.AddMinutes(4));
        var state = ApplyAll(Running(), Running().RecordCrash(Job(1), BotA, finding, T0.AddMinutes(4)));

        var again = state.RecordCrash(Job(1), BotA, finding, T0.AddMinutes(5));
        var fromOtherJob = state.RecordCrash(Job(2), BotB, finding with { FoundAt = T0.AddMinutes(6) }, T0.AddMinutes(6));

        again.Should().BeEmpty();
        fromOtherJob.Should().BeEmpty();
        state.Crashes.Should().ContainSingle();
    }

    [Fact]
    public void A_different_input_is_another_crash()
    {
        var state = ApplyAll(Running(), Running().RecordCrash(Job(1), BotA, Finding(CrashInput, T0), T0));

        var events = state.RecordCrash(Job(1), BotA, Finding(OtherCrashInput, T0.AddMinutes(1)), T0.AddMinutes(1));
        state = ApplyAll(state, events);

        state.Crashes.Select(c => c.Id).Should().Equal(CrashId.For(Campaign, CrashInput), CrashId.For(Campaign, OtherCrashInput));
        state.FindCrash(CrashId.For(Campaign, OtherCrashInput))!.Finding.Input.Should().Be(OtherCrashInput);
    }

    [Fact]
    public void A_late_crash_of_a_finished_campaign_is_still_recorded()
    {
        var state = ApplyAll(Running(jobs: 1), Running(jobs: 1).JobEnded(Job(0), JobStatus.Completed, T0.AddHours(1)));

        var events = state.RecordCrash(Job(0), BotA, Finding(CrashInput, T0.AddHours(1)), T0.AddHours(1).AddSeconds(2));

        state.IsFinished.Should().BeTrue();
        events.Should().ContainSingle().Which.Should().BeOfType<CrashRecorded>();
    }

    [Fact]
    public void FindCrash_of_an_unknown_id_gives_null()
    {
        Running().FindCrash(CrashId.For(Campaign, CrashInput)).Should().BeNull();
    }

    [Fact]
    public void Apply_is_deterministic()
    {
        var created = CampaignState.Create(Campaign, CampaignSpec(jobs: 2), T0);
        IPersistedEvent[] events =
        [
            new CrashRecorded(Campaign, new CrashRecord(CrashId.For(Campaign, CrashInput), Campaign, Job(0), BotA, Finding(CrashInput, T0)), T0),
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
