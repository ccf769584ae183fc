using FluentAssertions;
using PandaFuzz.Domain;
using PandaFuzz.Domain.Jobs;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Testing.Samples;
using static PandaFuzz.Protocol.JobEvents;

namespace PandaFuzz.Domain.Tests.Jobs;

public sealed class JobStateTests
{
    private static readonly JobId Id = Job(2);

    private static JobState Pending() => JobState.Created(new JobCreated(Id, Campaign, 2, JobSpec(), T0));

    private static JobState Assigned(BotId? bot = null) => Pending().Apply(new JobAssigned(Id, bot ?? BotA, AgentPathA, T0.AddSeconds(1)));

    private static JobState Running(BotId? bot = null) => Assigned(bot).Apply(new JobStarted(Id, bot ?? BotA, T0.AddSeconds(2)));

    private static JobState ApplyAll(JobState state, Decision decision) => decision.Events.Aggregate(state, (s, e) => s.Apply(e));

    [Fact]
    public void Created_job_is_pending_with_no_bot_and_no_attempts()
    {
        var state = Pending();

        state.Should().Be(new JobState(Id, Campaign, 2, JobSpec(), JobStatus.Pending, null, null, null, 0, T0, null, null, null, null));
        state.IsTerminal.Should().BeFalse();
        state.HoldsBot.Should().BeFalse();
    }

    [Fact]
    public void Pending_job_accepts_an_assignment()
    {
        var now = T0.AddMinutes(1);

        var decision = Pending().Assign(BotA, AgentPathA, now);

        decision.Rejected.Should().BeFalse();
        decision.Events.Should().Equal(new JobAssigned(Id, BotA, AgentPathA, now));
    }

    [Fact]
    public void Assigned_job_refuses_a_second_assignment()
    {
        var decision = Assigned().Assign(BotB, AgentPathB, T0.AddMinutes(1));

        decision.Rejected.Should().BeTrue();
        decision.Rejection.Should().Contain("assigned").And.Contain("not pending");
        decision.Events.Should().BeEmpty();
    }

    [Fact]
    public void Running_and_finished_jobs_refuse_an_assignment()
    {
        var running = Running();
        var completed = ApplyAll(running, running.Finished(BotA, true, null, null, T0.AddHours(1)));
        var cancelled = ApplyAll(Pending(), Pending().Cancel("stopped by user", T0.AddHours(1)));

        foreach (var state in new[] { running, completed, cancelled })
        {
            var decision = state.Assign(BotB, AgentPathB, T0.AddHours(2));
            decision.Rejected.Should().BeTrue($"a {state.Status} job is not pending");
            decision.Events.Should().BeEmpty();
        }
    }

    [Fact]
    public void Start_confirmed_by_the_assigned_bot_is_accepted()
    {
        var now = T0.AddSeconds(3);

        var decision = Assigned().ConfirmStarted(BotA, now);

        decision.Rejected.Should().BeFalse();
        decision.Events.Should().Equal(new JobStarted(Id, BotA, now));
    }

    [Fact]
    public void Start_confirmed_by_another_bot_is_refused()
    {
        var decision = Assigned(BotA).ConfirmStarted(BotB, T0.AddSeconds(3));

        decision.Rejected.Should().BeTrue();
        decision.Rejection.Should().Contain(BotB.Value);
        decision.Events.Should().BeEmpty();
    }

    [Fact]
    public void Repeated_start_confirmation_from_the_running_bot_is_accepted_without_events()
    {
        var decision = Running(BotA).ConfirmStarted(BotA, T0.AddSeconds(30));

        decision.Rejected.Should().BeFalse();
        decision.Events.Should().BeEmpty();
    }

    [Fact]
    public void Start_confirmation_for_a_pending_job_is_refused()
    {
        var decision = Pending().ConfirmStarted(BotA, T0.AddSeconds(3));

        decision.Rejected.Should().BeTrue();
        decision.Events.Should().BeEmpty();
    }

    [Fact]
    public void Refusal_by_the_assigned_bot_requeues_the_job()
    {
        var now = T0.AddSeconds(3);

        var decision = Assigned(BotA).Refused(BotA, "no free slot", now);

        decision.Rejected.Should().BeFalse();
        var requeued = decision.Events.Should().ContainSingle().Which.Should().BeOfType<JobRequeued>().Subject;
        requeued.JobId.Should().Be(Id);
        requeued.At.Should().Be(now);
        requeued.Reason.Should().Contain(BotA.Value).And.Contain("no free slot");
        ApplyAll(Assigned(BotA), decision).Status.Should().Be(JobStatus.Pending);
    }

    [Fact]
    public void Refusal_by_a_bot_that_does_not_hold_the_job_changes_nothing()
    {
        var decision = Assigned(BotA).Refused(BotB, "no free slot", T0.AddSeconds(3));

        decision.Rejected.Should().BeFalse();
        decision.Events.Should().BeEmpty();
    }

    [Fact]
    public void Successful_finish_completes_the_job_with_its_final_stats()
    {
        var now = T0.AddHours(1);
        var stats = Stats(now);

        var decision = Running(BotA).Finished(BotA, true, null, stats, now);

        decision.Rejected.Should().BeFalse();
        decision.Events.Should().Equal(new JobCompleted(Id, stats, now));
        var state = ApplyAll(Running(BotA), decision);
        state.Status.Should().Be(JobStatus.Completed);
        state.FinalStats.Should().Be(stats);
        state.FinishedAt.Should().Be(now);
        state.IsTerminal.Should().BeTrue();
    }

    [Fact]
    public void Failed_finish_fails_the_job_with_its_reason()
    {
        var now = T0.AddMinutes(7);

        var decision = Running(BotA).Finished(BotA, false, "target binary is not executable", null, now);

        decision.Events.Should().Equal(new JobFailed(Id, "target binary is not executable", null, now));
        var state = ApplyAll(Running(BotA), decision);
        state.Status.Should().Be(JobStatus.Failed);
        state.FailureReason.Should().Be("target binary is not executable");
        state.IsTerminal.Should().BeTrue();
    }

    [Fact]
    public void Failed_finish_without_a_reason_gets_a_default_reason()
    {
        var now = T0.AddMinutes(7);

        var decision = Running(BotA).Finished(BotA, false, null, null, now);

        decision.Events.Should().Equal(new JobFailed(Id, "the fuzzer failed", null, now));
    }

    [Fact]
    public void Finish_reported_by_a_bot_the_job_does_not_run_on_is_refused()
    {
        var decision = Running(BotA).Finished(BotB, true, null, null, T0.AddHours(1));

        decision.Rejected.Should().BeTrue();
        decision.Events.Should().BeEmpty();
    }

    [Fact]
    public void Finish_reported_for_a_pending_job_is_refused()
    {
        var decision = Pending().Finished(BotA, true, null, null, T0.AddHours(1));

        decision.Rejected.Should().BeTrue();
        decision.Events.Should().BeEmpty();
    }

    [Fact]
    public void Requeue_of_an_assigned_or_running_job_sends_it_back_to_pending()
    {
        var now = T0.AddMinutes(2);

        foreach (var state in new[] { Assigned(), Running() })
        {
            var decision = state.Requeue("bot went silent", now);

            decision.Events.Should().Equal(new JobRequeued(Id, "bot went silent", now));
        }
    }

    [Fact]
    public void Requeue_of_a_job_that_holds_no_bot_changes_nothing()
    {
        var completed = ApplyAll(Running(), Running().Finished(BotA, true, null, null, T0.AddHours(1)));

        foreach (var state in new[] { Pending(), completed })
        {
            var decision = state.Requeue("bot went silent", T0.AddHours(2));

            decision.Rejected.Should().BeFalse();
            decision.Events.Should().BeEmpty();
        }
    }

    [Fact]
    public void Requeue_clears_the_bot_and_the_assignment_times()
    {
        var state = Running(BotA).Apply(new JobRequeued(Id, "bot went silent", T0.AddMinutes(2)));

        state.Status.Should().Be(JobStatus.Pending);
        state.BotId.Should().BeNull();
        state.AgentPath.Should().BeNull();
        state.AssignedAt.Should().BeNull();
        state.StartedAt.Should().BeNull();
        state.HoldsBot.Should().BeFalse();
    }

    [Fact]
    public void Cancel_of_an_unfinished_job_cancels_it()
    {
        var now = T0.AddMinutes(5);

        var decision = Running().Cancel("campaign stopped", now);

        decision.Events.Should().Equal(new JobCancelled(Id, "campaign stopped", now));
        var state = ApplyAll(Running(), decision);
        state.Status.Should().Be(JobStatus.Cancelled);
        state.FailureReason.Should().Be("campaign stopped");
        state.FinishedAt.Should().Be(now);
    }

    [Fact]
    public void Cancel_of_a_terminal_job_is_accepted_without_events()
    {
        var completed = ApplyAll(Running(), Running().Finished(BotA, true, null, null, T0.AddHours(1)));
        var failed = ApplyAll(Running(), Running().Finished(BotA, false, "crashed on start", null, T0.AddHours(1)));
        var cancelled = ApplyAll(Pending(), Pending().Cancel("campaign stopped", T0.AddHours(1)));

        foreach (var state in new[] { completed, failed, cancelled })
        {
            var decision = state.Cancel("campaign stopped again", T0.AddHours(2));

            decision.Rejected.Should().BeFalse();
            decision.Events.Should().BeEmpty($"a {state.Status} job is already terminal");
        }
    }

    [Fact]
    public void Apply_walks_pending_assigned_running_completed()
    {
        var stats = Stats(T0.AddHours(1));
        var state = Pending();

        state = state.Apply(new JobAssigned(Id, BotA, AgentPathA, T0.AddSeconds(1)));
        state.Status.Should().Be(JobStatus.Assigned);
        state.BotId.Should().Be(BotA);
        state.AgentPath.Should().Be(AgentPathA);
        state.AssignedAt.Should().Be(T0.AddSeconds(1));
        state.HoldsBot.Should().BeTrue();

        state = state.Apply(new JobStarted(Id, BotA, T0.AddSeconds(2)));
        state.Status.Should().Be(JobStatus.Running);
        state.StartedAt.Should().Be(T0.AddSeconds(2));
        state.HoldsBot.Should().BeTrue();

        state = state.Apply(new JobCompleted(Id, stats, T0.AddHours(1)));
        state.Should().Be(new JobState(Id, Campaign, 2, JobSpec(), JobStatus.Completed, BotA, AgentPathA, null, 1, T0,
            T0.AddSeconds(1), T0.AddSeconds(2), T0.AddHours(1), stats));
    }

    [Fact]
    public void Attempts_count_every_assignment()
    {
        var state = Pending()
            .Apply(new JobAssigned(Id, BotA, AgentPathA, T0.AddSeconds(1)))
            .Apply(new JobRequeued(Id, "refused by bot", T0.AddSeconds(2)))
            .Apply(new JobAssigned(Id, BotB, AgentPathB, T0.AddSeconds(3)))
            .Apply(new JobRequeued(Id, "bot went silent", T0.AddSeconds(4)))
            .Apply(new JobAssigned(Id, BotA, AgentPathA, T0.AddSeconds(5)));

        state.Attempts.Should().Be(3);
        state.BotId.Should().Be(BotA);
    }

    [Fact]
    public void A_reassignment_after_a_requeue_forgets_the_previous_start()
    {
        var state = Running(BotA)
            .Apply(new JobRequeued(Id, "bot went silent", T0.AddMinutes(2)))
            .Apply(new JobAssigned(Id, BotB, AgentPathB, T0.AddMinutes(3)));

        state.BotId.Should().Be(BotB);
        state.AgentPath.Should().Be(AgentPathB);
        state.StartedAt.Should().BeNull();
    }

    [Fact]
    public void Apply_is_deterministic()
    {
        var created = new JobCreated(Id, Campaign, 2, JobSpec(), T0);
        IPersistedEvent[] events =
        [
            new JobAssigned(Id, BotA, AgentPathA, T0.AddSeconds(1)),
            new JobRequeued(Id, "refused", T0.AddSeconds(2)),
            new JobAssigned(Id, BotB, AgentPathB, T0.AddSeconds(3)),
            new JobStarted(Id, BotB, T0.AddSeconds(4)),
            new JobFailed(Id, "crashed on start", Stats(T0.AddSeconds(5)), T0.AddSeconds(5)),
        ];

        var first = events.Aggregate(JobState.Created(created), (s, e) => s.Apply(e));
        var second = events.Aggregate(JobState.Created(created), (s, e) => s.Apply(e));

        second.Should().Be(first);
        first.FinishedAt.Should().Be(T0.AddSeconds(5));
    }

    [Fact]
    public void Apply_of_another_entity_event_throws()
    {
        var act = () => Pending().Apply(new CampaignEvents.CampaignStopRequested(Campaign, T0));

        act.Should().Throw<ArgumentException>().WithMessage("*CampaignStopRequested*");
    }

    [Fact]
    public void A_job_that_loses_its_bot_goes_back_to_pending_while_attempts_remain()
    {
        var now = T0.AddMinutes(3);

        var decision = Running().RequeueOrFail("no word from bot", maxAttempts: 2, now);

        decision.Events.Should().Equal(new JobRequeued(Id, "no word from bot", now));
    }

    [Fact]
    public void A_job_that_lost_its_bot_on_its_last_attempt_fails_with_the_reason()
    {
        var now = T0.AddMinutes(3);

        var decision = Running().RequeueOrFail("no word from bot", maxAttempts: 1, now);

        decision.Events.Should().ContainSingle().Which.Should().BeOfType<JobFailed>()
            .Which.Reason.Should().Be("no word from bot; gave up after 1 attempts");
    }

    [Fact]
    public void A_lost_bot_moves_only_the_jobs_it_holds()
    {
        var now = T0.AddMinutes(3);

        Running(BotA).BotLost(BotA, "node downed", 5, now).Events.Should().Equal(new JobRequeued(Id, "node downed", now));
        Running(BotB).BotLost(BotA, "node downed", 5, now).Events.Should().BeEmpty();
        Assigned(BotA).BotLost(BotA, "node downed", 5, now).Events.Should().Equal(new JobRequeued(Id, "node downed", now));
        Pending().BotLost(BotA, "node downed", 5, now).Events.Should().BeEmpty();
    }

    [Fact]
    public void A_running_job_has_a_deadline_of_start_plus_duration_plus_grace()
    {
        var grace = TimeSpan.FromMinutes(3);

        Running().Deadline(grace).Should().Be(T0.AddSeconds(2) + TimeSpan.FromSeconds(JobSpec().DurationSeconds) + grace);
        Assigned().Deadline(grace).Should().BeNull();
        Pending().Deadline(grace).Should().BeNull();
    }

    [Fact]
    public void An_overdue_running_job_completes_with_its_last_stats()
    {
        var now = T0.AddHours(2);
        var stats = FuzzerStats.Empty(now);

        Running().Overdue(stats, now).Events.Should().Equal(new JobCompleted(Id, stats, now));
        Pending().Overdue(stats, now).Events.Should().BeEmpty();
    }
}
