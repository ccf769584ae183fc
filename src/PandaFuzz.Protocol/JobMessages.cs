namespace PandaFuzz.Protocol;

/// <summary>What a job does: fuzz, minimize its campaign's corpus once, minimize one unique crash's input, rerun a bug's input
/// on a build, or measure the source coverage of its campaign's corpus with a coverage build.</summary>
public enum JobTask
{
    Fuzz,
    MinimizeCorpus,
    MinimizeCrash,
    VerifyBug,
    Coverage,
}

/// <summary>What one job runs; copied from its campaign.</summary>
public sealed record JobSpec(
    BlobId Target,
    string Engine,
    int DurationSeconds,
    int MemoryLimitMb,
    int TimeoutMs,
    string? Dictionary,
    JobTask Task = JobTask.Fuzz,
    string? TargetName = null,
    BlobId? CrashInput = null,
    string? CrashSignature = null,
    int? Build = null,
    string? CrashKind = null,
    EngineOptions? Options = null,
    BlobId? CmplogTarget = null,
    int Instance = 0,
    string? FuzzTarget = null,
    int Instances = 0)
{
    // FuzzTarget: with a build bundle as Target, the path inside it of the fuzz target the job runs.
    /// <summary>
    /// <paramref name="Instance"/>: which of its campaign's jobs on this engine it is, from 0 (AFL++'s main instance);
    /// <paramref name="CmplogTarget"/>: the build's CMPLOG binary, which some AFL++ secondaries run beside the target (<c>-c</c>);
    /// <paramref name="Instances"/>: how many jobs of its campaign run its engine (0: not known, a job of an older release).
    /// </summary>
    public bool IsMainInstance => Instance == 0;

    /// <summary>The name crash states of timeouts and OOMs take: the uploaded target's name, else its id's start.</summary>
    public string TargetLabel => TargetName ?? "target-" + Target.Sha256[..12];
}

/// <summary>A job's lifecycle: pending → assigned → running → completed | failed | cancelled.</summary>
public enum JobStatus
{
    Pending,
    Assigned,
    Running,
    Completed,
    Failed,
    Cancelled,
}

/// <summary>Commands a job entity handles.</summary>
public static class JobCommands
{
    /// <summary>Sent by the campaign; repeated on campaign recovery, so it is idempotent.</summary>
    public sealed record CreateJob(JobId JobId, CampaignId CampaignId, int Index, JobSpec Spec) : IWithJobId;

    /// <summary>The scheduler offers the job to a bot; the job accepts only while pending.</summary>
    public sealed record AssignJob(JobId JobId, BotId BotId, string AgentPath) : IWithJobId;

    public sealed record ConfirmJobStarted(JobId JobId, BotId BotId, DateTimeOffset At) : IWithJobId;

    public sealed record RefuseJob(JobId JobId, BotId BotId, string Reason) : IWithJobId;

    /// <summary><paramref name="CommandLine"/>: how the bot runs the engine now (environment, program, arguments), for <c>GET /jobs/{id}</c>.</summary>
    public sealed record ReportJobStats(JobId JobId, BotId BotId, FuzzerStats Stats, string? CommandLine = null) : IWithJobId;

    /// <summary>The bot reports that the job ended: completed when its duration ran out, failed otherwise.</summary>
    /// <summary><paramref name="CrashInputs"/>: the inputs of the crashes the job reported (its latest 256), so the master
    /// can tell when the last of them, delivered on their own, reached the campaign (a CI gate waits for them).</summary>
    public sealed record ReportJobFinished(JobId JobId, BotId BotId, bool Succeeded, string? FailureReason, FuzzerStats? FinalStats,
        IReadOnlyList<BlobId>? CrashInputs = null)
        : IWithJobId;

    public sealed record CancelJob(JobId JobId, string Reason) : IWithJobId;

    /// <summary>The bot the job runs on is gone from the cluster: the job goes back to pending at once.</summary>
    public sealed record BotLost(JobId JobId, BotId BotId, string Reason) : IWithJobId;

    /// <summary>The scheduler brings a queued job that left memory back before its turn comes: it announces itself again.</summary>
    public sealed record WakeJob(JobId JobId) : IWithJobId;

    /// <summary>The job's answer to <see cref="CreateJob"/> and <see cref="CancelJob"/>.</summary>
    public sealed record JobCommandAccepted(JobId JobId) : IWithJobId;

    public sealed record JobEndAcknowledged(JobId JobId) : IWithJobId;
}

/// <summary>Events a job entity persists.</summary>
public static class JobEvents
{
    public sealed record JobCreated(JobId JobId, CampaignId CampaignId, int Index, JobSpec Spec, DateTimeOffset At) : IWithJobId, IPersistedEvent;

    public sealed record JobAssigned(JobId JobId, BotId BotId, string AgentPath, DateTimeOffset At) : IWithJobId, IPersistedEvent;

    public sealed record JobStarted(JobId JobId, BotId BotId, DateTimeOffset At) : IWithJobId, IPersistedEvent;

    public sealed record JobRequeued(JobId JobId, string Reason, DateTimeOffset At) : IWithJobId, IPersistedEvent;

    /// <summary>The command line the bot runs the job's engine with: journaled when it changes (a new run, another bot).</summary>
    public sealed record JobLaunched(JobId JobId, string CommandLine, DateTimeOffset At) : IWithJobId, IPersistedEvent;

    public sealed record JobCompleted(JobId JobId, FuzzerStats? FinalStats, DateTimeOffset At, IReadOnlyList<BlobId>? CrashInputs = null)
        : IWithJobId, IPersistedEvent;

    public sealed record JobFailed(JobId JobId, string Reason, FuzzerStats? FinalStats, DateTimeOffset At, IReadOnlyList<BlobId>? CrashInputs = null)
        : IWithJobId, IPersistedEvent;

    public sealed record JobCancelled(JobId JobId, string Reason, DateTimeOffset At, FuzzerStats? FinalStats = null) : IWithJobId, IPersistedEvent;
}

/// <summary>Queries a job entity answers.</summary>
public static class JobQueries
{
    public sealed record GetJob(JobId JobId) : IWithJobId;

    public sealed record GetJobStatsSeries(JobId JobId) : IWithJobId;

    public sealed record JobStatsSeries(JobId JobId, IReadOnlyList<FuzzerStats> Points) : IProtocolMessage;

    public sealed record JobView(
        JobId Id,
        CampaignId CampaignId,
        int Index,
        JobStatus Status,
        BotId? BotId,
        string? FailureReason,
        DateTimeOffset CreatedAt,
        DateTimeOffset? AssignedAt,
        DateTimeOffset? StartedAt,
        DateTimeOffset? FinishedAt,
        FuzzerStats? Stats,
        string Engine = EngineNames.LibFuzzer,
        JobTask Task = JobTask.Fuzz,
        IReadOnlyList<BlobId>? CrashInputs = null,
        string? CommandLine = null,
        EngineOptions? Options = null) : IProtocolMessage;
}
