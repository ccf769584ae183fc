using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.JobEvents;

namespace PandaFuzz.Domain.Jobs;

/// <summary>A job's persisted state and the rules that change it; no actor code, no clock.</summary>
public sealed record JobState(
    JobId Id,
    CampaignId CampaignId,
    int Index,
    JobSpec Spec,
    JobStatus Status,
    BotId? BotId,
    string? AgentPath,
    string? FailureReason,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? AssignedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    FuzzerStats? FinalStats,
    IReadOnlyList<BlobId>? CrashInputs = null,
    string? CommandLine = null)
{
    public bool IsTerminal => Status is JobStatus.Completed or JobStatus.Failed or JobStatus.Cancelled;

    public bool HoldsBot => Status is JobStatus.Assigned or JobStatus.Running;

    public static JobState Created(JobCreated e) =>
        new(e.JobId, e.CampaignId, e.Index, e.Spec, JobStatus.Pending, null, null, null, 0, e.At, null, null, null, null);

    public JobState Apply(IPersistedEvent e) => e switch
    {
        JobAssigned a => this with
        {
            Status = JobStatus.Assigned, BotId = a.BotId, AgentPath = a.AgentPath, AssignedAt = a.At, StartedAt = null,
            Attempts = Attempts + 1,
        },
        JobStarted s => this with { Status = JobStatus.Running, BotId = s.BotId, StartedAt = s.At },
        JobRequeued => this with { Status = JobStatus.Pending, BotId = null, AgentPath = null, AssignedAt = null, StartedAt = null },
        JobCompleted c => this with { Status = JobStatus.Completed, FinishedAt = c.At, FinalStats = c.FinalStats, CrashInputs = c.CrashInputs },
        JobFailed f => this with { Status = JobStatus.Failed, FailureReason = f.Reason, FinishedAt = f.At, FinalStats = f.FinalStats, CrashInputs = f.CrashInputs },
        JobCancelled c => this with { Status = JobStatus.Cancelled, FailureReason = c.Reason, FinishedAt = c.At, FinalStats = c.FinalStats ?? FinalStats },
        JobLaunched l => this with { CommandLine = l.CommandLine },
        JobCreated => this,
        _ => throw new ArgumentException($"Not a job event: {e.GetType().Name}", nameof(e)),
    };

    public Decision Assign(BotId bot, string agentPath, DateTimeOffset now) =>
        Status == JobStatus.Pending
            ? Decision.Accept(new JobAssigned(Id, bot, agentPath, now))
            : Decision.Reject($"job {Id} is {Status.ToString().ToLowerInvariant()}, not pending");

    public Decision ConfirmStarted(BotId bot, DateTimeOffset now) => Status switch
    {
        JobStatus.Assigned when bot == BotId => Decision.Accept(new JobStarted(Id, bot, now)),
        JobStatus.Running when bot == BotId => Decision.Accept(),
        _ => Decision.Reject($"job {Id} does not run on {bot}"),
    };

    /// <summary>The bot that holds the job runs its engine with <paramref name="commandLine"/>: journaled when it is a new one.</summary>
    public Decision Launched(BotId bot, string commandLine, DateTimeOffset now) =>
        HoldsBot && bot == BotId && commandLine != CommandLine ? Decision.Accept(new JobLaunched(Id, commandLine, now)) : Decision.Accept();

    public Decision Refused(BotId bot, string reason, DateTimeOffset now) =>
        HoldsBot && bot == BotId
            ? Decision.Accept(new JobRequeued(Id, $"refused by {bot}: {reason}", now))
            : Decision.Accept();

    public Decision Finished(BotId bot, bool succeeded, string? reason, FuzzerStats? stats, DateTimeOffset now, IReadOnlyList<BlobId>? crashInputs = null)
    {
        if (!HoldsBot || bot != BotId)
        {
            return Decision.Reject($"job {Id} does not run on {bot}");
        }

        return succeeded
            ? Decision.Accept(new JobCompleted(Id, stats, now, crashInputs))
            : Decision.Accept(new JobFailed(Id, reason ?? "the fuzzer failed", stats, now, crashInputs));
    }

    /// <summary>A job that held a bot too long without word from it goes back to pending.</summary>
    public Decision Requeue(string reason, DateTimeOffset now) =>
        HoldsBot ? Decision.Accept(new JobRequeued(Id, reason, now)) : Decision.Accept();

    /// <summary>Back to pending, unless it has had <paramref name="maxAttempts"/> bots already: then it fails with the last reason.</summary>
    public Decision RequeueOrFail(string reason, int maxAttempts, DateTimeOffset now)
    {
        if (!HoldsBot)
        {
            return Decision.Accept();
        }

        return Attempts >= maxAttempts
            ? Decision.Accept(new JobFailed(Id, $"{reason}; gave up after {Attempts} attempts", FinalStats, now))
            : Decision.Accept(new JobRequeued(Id, reason, now));
    }

    public Decision BotLost(BotId bot, string reason, int maxAttempts, DateTimeOffset now) =>
        HoldsBot && BotId == bot ? RequeueOrFail(reason, maxAttempts, now) : Decision.Accept();

    /// <summary>Its start plus its duration, and a grace for the last deliveries.</summary>
    public DateTimeOffset? Deadline(TimeSpan grace) =>
        Status == JobStatus.Running && StartedAt is { } started ? started + TimeSpan.FromSeconds(Spec.DurationSeconds) + grace : null;

    /// <summary>The master ends a job still running past its deadline (its bot is told to stop).</summary>
    public Decision Overdue(FuzzerStats? stats, DateTimeOffset now) =>
        Status == JobStatus.Running ? Decision.Accept(new JobCompleted(Id, stats, now)) : Decision.Accept();

    /// <summary>Cancels the job, keeping <paramref name="stats"/>, the last figures its bot sent, as its final ones.</summary>
    public Decision Cancel(string reason, DateTimeOffset now, FuzzerStats? stats = null) =>
        IsTerminal ? Decision.Accept() : Decision.Accept(new JobCancelled(Id, reason, now, stats));
}
