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
    IReadOnlyList<EngineTarget>? Ensemble = null,
    string? TargetName = null)
{
    /// <summary>Equal field by field, the ensemble by its entries (records compare lists by reference).</summary>
    public bool SameAs(CampaignSpec other) =>
        this with { Ensemble = null } == other with { Ensemble = null } && Engines.SequenceEqual(other.Engines);

    /// <summary>The engines and builds jobs take in turn.</summary>
    public IReadOnlyList<EngineTarget> Engines => Ensemble is { Count: > 0 } ensemble ? ensemble : [new EngineTarget(Engine, Target)];

    /// <summary>Job <paramref name="index"/> runs the engine at that position, round robin.</summary>
    public JobSpec ToJobSpec(int index)
    {
        var engine = Engines[index % Engines.Count];
        return new JobSpec(engine.Target, engine.Engine, DurationSeconds, MemoryLimitMb, TimeoutMs, Dictionary, TargetName: TargetName);
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

/// <summary>
/// A crash as the bot found and triaged it: the input's address, the kind users know (<c>Heap-buffer-overflow WRITE 4</c>),
/// the symbolized stack, the crash state (top frames that hold the bug, one per line), the security flag, the
/// signature (a hash of the kind without its access size and the state, <see cref="CrashIdentity"/>), how many of the
/// reproduction runs crashed again, and where the frame that crashed is (<paramref name="Location"/>, <c>target.c:57</c>).
/// </summary>
public sealed record CrashFinding(
    BlobId Input,
    long InputSize,
    string ArtifactName,
    string Kind,
    string Summary,
    IReadOnlyList<string> Stack,
    string Output,
    DateTimeOffset FoundAt,
    string? Signature = null,
    string? State = null,
    bool Security = false,
    int ReproduceAttempts = 0,
    int Reproduced = 0,
    string? Location = null)
{
    /// <summary>
    /// The signature the campaign counts this finding under. Findings from before triage existed go by their input; a
    /// finding of an earlier release whose signature still counts its access size is re-keyed to the signature without it.
    /// </summary>
    public string SignatureOrFallback =>
        Signature is null ? Input.Sha256[..16]
        : State is not null && CrashIdentity.AccessSize(Kind) is not null && Signature == CrashIdentity.SizedSignature(Kind, State)
            ? CrashIdentity.Signature(Kind, State)
            : Signature;

    /// <summary>The signature the finding was sent with, when the campaign counts it under another (an earlier release's).</summary>
    public string? FormerSignature => Signature is { } sent && sent != SignatureOrFallback ? sent : null;

    public bool IsReproducible => Reproduced > 0;
}

/// <summary>A crash stored by its campaign.</summary>
public sealed record CrashRecord(CrashId Id, CampaignId CampaignId, JobId JobId, BotId BotId, CrashFinding Finding);

/// <summary>
/// One bug of a campaign: every report with the same signature, counted, with the first report in full and a
/// bounded number of sample inputs.
/// </summary>
/// <param name="First">The first report, with its output and stack.</param>
/// <param name="Samples">Inputs kept (the first one first), at most the master's <c>crash-samples</c>.</param>
/// <param name="ReproduceAttempts">Reproduction runs of every report added up; <paramref name="Reproduced"/> of them crashed.</param>
public sealed record UniqueCrash(
    CrashId Id,
    string Signature,
    string Kind,
    string State,
    bool Security,
    long Count,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    IReadOnlyList<JobId> Jobs,
    IReadOnlyList<BotId> Bots,
    CrashRecord First,
    IReadOnlyList<BlobId> Samples,
    long ReproduceAttempts,
    long Reproduced,
    CrashMinimization? Minimization = null,
    IReadOnlyList<string>? AccessSizes = null,
    string? Location = null)
{
    public bool IsReproducible => Reproduced > 0;

    /// <summary>The kind without the access size: <c>Heap-buffer-overflow WRITE</c>.</summary>
    public string Identity => CrashIdentity.WithoutSize(Kind);

    /// <summary>The access sizes its reports named (crashes recorded before sizes were kept: its kind's).</summary>
    public IReadOnlyList<string> SizesSeen => AccessSizes ?? (CrashIdentity.AccessSize(Kind) is { } size ? [size] : []);

    /// <summary>The access sizes its reports named, as users read them (<c>2–16</c>), or null.</summary>
    public string? AccessSizeRange => CrashIdentity.SizeRange(SizesSeen);

    /// <summary>The share of reproduction runs that crashed again, 0 to 1.</summary>
    public double ReproducibleRate => ReproduceAttempts == 0 ? 0 : (double)Reproduced / ReproduceAttempts;
}

/// <summary>
/// One bug of a campaign: unique crashes that are the same bug (the same frame crashed, at the same line where
/// symbolized, with the same security flag and reproducibility), led by the first one seen. Counts and times are
/// those of all its members; its kind, state and samples are its leader's.
/// </summary>
/// <param name="Members">Every member, the leader first, then by first seen.</param>
public sealed record BugGroup(BugId Id, UniqueCrash Leader, IReadOnlyList<UniqueCrash> Members)
{
    public long Count => Members.Sum(m => m.Count);

    public DateTimeOffset FirstSeen => Members.Min(m => m.FirstSeen);

    public DateTimeOffset LastSeen => Members.Max(m => m.LastSeen);

    public bool Security => Leader.Security;

    public long ReproduceAttempts => Members.Sum(m => m.ReproduceAttempts);

    public long Reproduced => Members.Sum(m => m.Reproduced);

    /// <summary>False when no rerun of any of its inputs crashed again: kept, flagged, and grouped only with its like.</summary>
    public bool IsReproducible => Reproduced > 0;

    /// <summary>Reruns that crashed again, 0 to 1: under 1 is a flaky bug.</summary>
    public double ReproducibleRate => ReproduceAttempts == 0 ? 0 : (double)Reproduced / ReproduceAttempts;

    /// <summary>Every access size its reports named, as users read them (<c>2–16</c>), or null.</summary>
    public string? AccessSizeRange =>
        CrashIdentity.SizeRange(Members.SelectMany(m => m.SizesSeen));

    /// <summary>The minimization of the group: its leader's, else the first member's that succeeded.</summary>
    public CrashMinimization? Minimization =>
        Leader.Minimization is { Input: not null } lead ? lead
        : Members.Select(m => m.Minimization).FirstOrDefault(m => m is { Input: not null }) ?? Leader.Minimization;

    public IReadOnlyList<JobId> Jobs => [.. Members.SelectMany(m => m.Jobs).Distinct()];
}

/// <summary>
/// The outcome of minimizing a unique crash: the smaller input (with the signature it was checked to keep), or why
/// there is none.
/// </summary>
public sealed record CrashMinimization(JobId JobId, BlobId? Input, long? Size, string? Failure, DateTimeOffset At);

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

    /// <summary>
    /// Sent by a crash minimization job: <paramref name="Input"/> (null when minimization failed, with
    /// <paramref name="Failure"/>) reproduces the unique crash <paramref name="Signature"/>. The input is fetched
    /// from <paramref name="BlobSourcePath"/> before the outcome is persisted; answered with <see cref="Ack"/>.
    /// </summary>
    public sealed record ReportCrashMinimized(
        CampaignId CampaignId, JobId JobId, string Signature, BlobId? Input, long? Size, string? Failure, string BlobSourcePath) : IWithCampaignId;

    /// <summary>Adds a job that minimizes the campaign's corpus on a bot; answered with <see cref="JobAdded"/>.</summary>
    public sealed record MinimizeCorpus(CampaignId CampaignId, int TimeLimitSeconds) : IWithCampaignId;

    public sealed record JobAdded(CampaignId CampaignId, JobId JobId) : IWithCampaignId;

    /// <summary>
    /// Starts the entity after a master restart so that it wakes its unfinished jobs. With <paramref name="RetellJobs"/> a
    /// campaign already in memory tells its unfinished jobs again too: the scheduler restarted or moved, and queued jobs
    /// that left memory must announce themselves to it.
    /// </summary>
    public sealed record WakeCampaign(CampaignId CampaignId, bool RetellJobs = false) : IWithCampaignId;
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

    /// <summary>
    /// One crash report counted into its unique crash. <paramref name="Sampled"/>: its input was stored as a sample.
    /// Only the first report of a signature keeps its output and stack; later ones are stored without them.
    /// </summary>
    public sealed record CrashReported(CampaignId CampaignId, CrashRecord Crash, bool Sampled, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;

    public sealed record CrashMinimized(CampaignId CampaignId, string Signature, CrashMinimization Outcome, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;
}

/// <summary>Queries a campaign entity answers.</summary>
public static class CampaignQueries
{
    public sealed record GetCampaign(CampaignId CampaignId) : IWithCampaignId;

    /// <summary>The campaign's unique crashes, first seen first: <paramref name="Limit"/> of them after <paramref name="Offset"/> (all by default).</summary>
    public sealed record GetCampaignCrashes(CampaignId CampaignId, int Offset = 0, int Limit = int.MaxValue) : IWithCampaignId;

    public sealed record GetCrash(CampaignId CampaignId, CrashId CrashId) : IWithCampaignId;

    /// <summary>The campaign's bug groups, first seen first: <paramref name="Limit"/> of them after <paramref name="Offset"/>.</summary>
    public sealed record GetCampaignBugs(CampaignId CampaignId, int Offset = 0, int Limit = int.MaxValue) : IWithCampaignId;

    /// <summary>The bug group that holds the crash <paramref name="BugId"/> names (its leader, or a member it absorbed).</summary>
    public sealed record GetBug(CampaignId CampaignId, BugId BugId) : IWithCampaignId;

    public sealed record CampaignBugs(CampaignId CampaignId, IReadOnlyList<BugGroup> Bugs, int Total) : IProtocolMessage;

    public sealed record BugView(BugGroup Bug) : IProtocolMessage;

    /// <summary>Whether a crash input (by its sha256) was reported to the campaign and counted into a unique crash.</summary>
    public sealed record GetCrashInput(CampaignId CampaignId, BlobId Input) : IWithCampaignId;

    public sealed record CrashInputStatus(CampaignId CampaignId, BlobId Input, bool Counted) : IProtocolMessage;

    /// <summary>A campaign as its entity knows it (job states as last reported to it).</summary>
    public sealed record CampaignView(
        CampaignId Id,
        CampaignSpec Spec,
        CampaignStatus Status,
        IReadOnlyList<JobId> JobIds,
        int CrashCount,
        DateTimeOffset CreatedAt,
        DateTimeOffset? FinishedAt) : IProtocolMessage;

    /// <summary>The asked page of a campaign's unique crashes; <paramref name="Total"/> unique crashes in all, <paramref name="Reports"/> reports.</summary>
    /// <summary>A page of unique crashes; <paramref name="BugIds"/> holds the bug group of each, in the same order.</summary>
    public sealed record CampaignCrashes(CampaignId CampaignId, IReadOnlyList<UniqueCrash> Crashes, long Reports, int Total = 0, IReadOnlyList<BugId>? BugIds = null)
        : IProtocolMessage;

    /// <summary>One unique crash and the bug group it is part of.</summary>
    public sealed record CrashView(UniqueCrash Crash, BugId? BugId = null) : IProtocolMessage;
}
