namespace PandaFuzz.Protocol;

/// <summary>One engine of a campaign with the build of the target for it.</summary>
public sealed record EngineTarget(string Engine, BlobId Target);

/// <summary>
/// What a user asked for when creating a campaign. <see cref="Engine"/> and <see cref="Target"/> name the
/// first engine; an ensemble lists every engine with its own build, and jobs take them in turn.
/// </summary>
public sealed record CampaignSpec(
    string Name,
    BlobId Target,
    string Engine,
    int Jobs,
    int DurationSeconds,
    int MemoryLimitMb,
    int TimeoutMs,
    string? Dictionary,
    IReadOnlyList<EngineTarget>? Ensemble = null)
{
    /// <summary>The engines and builds jobs take in turn.</summary>
    public IReadOnlyList<EngineTarget> Engines => Ensemble is { Count: > 0 } ensemble ? ensemble : [new EngineTarget(Engine, Target)];

    /// <summary>Job <paramref name="index"/> runs the engine at that position, round robin.</summary>
    public JobSpec ToJobSpec(int index)
    {
        var engine = Engines[index % Engines.Count];
        return new JobSpec(engine.Target, engine.Engine, DurationSeconds, MemoryLimitMb, TimeoutMs, Dictionary);
    }
}

/// <summary>Where a campaign is in its life.</summary>
public enum CampaignStatus
{
    Running,
    Stopping,
    Completed,
    Stopped,
}

/// <summary>A crash as the bot found it: the input's address and the engine's report.</summary>
public sealed record CrashFinding(
    BlobId Input,
    long InputSize,
    string ArtifactName,
    string Kind,
    string Summary,
    IReadOnlyList<string> Stack,
    string Output,
    DateTimeOffset FoundAt);

/// <summary>A crash stored by its campaign.</summary>
public sealed record CrashRecord(CrashId Id, CampaignId CampaignId, JobId JobId, BotId BotId, CrashFinding Finding);

/// <summary>Commands a campaign entity handles.</summary>
public static class CampaignCommands
{
    public sealed record CreateCampaign(CampaignId CampaignId, CampaignSpec Spec) : IWithCampaignId;

    public sealed record StopCampaign(CampaignId CampaignId) : IWithCampaignId;

    /// <summary>Sent by a job entity each time it reaches a terminal state; repeated until acknowledged.</summary>
    public sealed record ReportJobEnded(CampaignId CampaignId, JobId JobId, JobStatus Status, DateTimeOffset At) : IWithCampaignId;

    /// <summary>
    /// Sent by a bot for each crash; the input is fetched from <paramref name="BlobSourcePath"/> and stored
    /// before the crash is persisted and <see cref="CrashAccepted"/> is sent. Repeating it is harmless.
    /// </summary>
    public sealed record ReportCrash(CampaignId CampaignId, JobId JobId, BotId BotId, CrashFinding Finding, string BlobSourcePath)
        : IWithCampaignId;

    public sealed record CrashAccepted(CampaignId CampaignId, CrashId CrashId, BlobId Input) : IWithCampaignId;

    /// <summary>Adds a job that minimizes the campaign's corpus on a bot; answered with <see cref="JobAdded"/>.</summary>
    public sealed record MinimizeCorpus(CampaignId CampaignId, int TimeLimitSeconds) : IWithCampaignId;

    public sealed record JobAdded(CampaignId CampaignId, JobId JobId) : IWithCampaignId;

    /// <summary>Starts the entity after a master restart so that it wakes its unfinished jobs.</summary>
    public sealed record WakeCampaign(CampaignId CampaignId) : IWithCampaignId;
}

/// <summary>Events a campaign entity persists.</summary>
public static class CampaignEvents
{
    public sealed record CampaignCreated(CampaignId CampaignId, CampaignSpec Spec, IReadOnlyList<JobId> JobIds, DateTimeOffset At)
        : IWithCampaignId, IPersistedEvent;

    public sealed record CampaignStopRequested(CampaignId CampaignId, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;

    /// <summary>A job beyond the campaign's fuzzing jobs, such as a corpus minimization.</summary>
    public sealed record CampaignJobAdded(CampaignId CampaignId, JobId JobId, JobSpec Spec, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;

    public sealed record CampaignJobEnded(CampaignId CampaignId, JobId JobId, JobStatus Status, DateTimeOffset At)
        : IWithCampaignId, IPersistedEvent;

    public sealed record CampaignFinished(CampaignId CampaignId, CampaignStatus Status, DateTimeOffset At)
        : IWithCampaignId, IPersistedEvent;

    public sealed record CrashRecorded(CampaignId CampaignId, CrashRecord Crash, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;
}

/// <summary>Queries a campaign entity answers.</summary>
public static class CampaignQueries
{
    public sealed record GetCampaign(CampaignId CampaignId) : IWithCampaignId;

    public sealed record GetCampaignCrashes(CampaignId CampaignId) : IWithCampaignId;

    public sealed record GetCrash(CampaignId CampaignId, CrashId CrashId) : IWithCampaignId;

    /// <summary>A campaign as its entity knows it (job states as last reported to it).</summary>
    public sealed record CampaignView(
        CampaignId Id,
        CampaignSpec Spec,
        CampaignStatus Status,
        IReadOnlyList<JobId> JobIds,
        int CrashCount,
        DateTimeOffset CreatedAt,
        DateTimeOffset? FinishedAt) : IProtocolMessage;

    public sealed record CampaignCrashes(CampaignId CampaignId, IReadOnlyList<CrashRecord> Crashes) : IProtocolMessage;

    public sealed record CrashView(CrashRecord Crash) : IProtocolMessage;
}
