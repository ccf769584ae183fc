namespace PandaFuzz.Protocol;

/// <summary>One engine of a campaign with the build of the target for it.</summary>
public sealed record EngineTarget(string Engine, BlobId Target);

/// <summary>What a user asked for; <see cref="Engine"/> and <see cref="Target"/> name an ensemble's first engine.</summary>
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
    string? TargetName = null,
    int? Build = null,
    bool PinnedBuild = false,
    EngineOptions? Options = null,
    BlobId? Cmplog = null,
    int Priority = CampaignSpec.DefaultPriority,
    string? FuzzTarget = null)
{
    public const int DefaultPriority = 1;
    public const int MaxPriority = 1000;

    /// <summary>Records compare lists by reference, so the ensemble and the options are compared entry by entry.</summary>
    public bool SameAs(CampaignSpec other) =>
        this with { Ensemble = null, Options = null } == other with { Ensemble = null, Options = null } && Engines.SequenceEqual(other.Engines)
        && EngineOptions.Same(Options, other.Options);

    public IReadOnlyList<EngineTarget> Engines => Ensemble is { Count: > 0 } ensemble ? ensemble : [new EngineTarget(Engine, Target)];

    public JobSpec ToJobSpec(int index)
    {
        var position = index % Engines.Count;
        var engine = Engines[position];
        // Jobs take the engines in turn: job i is instance i / engines of its engine (0, the first, is AFL++'s main).
        var instances = Jobs / Engines.Count + (position < Jobs % Engines.Count ? 1 : 0);
        return new JobSpec(engine.Target, engine.Engine, DurationSeconds, MemoryLimitMb, TimeoutMs, Dictionary, TargetName: TargetName, Build: Build,
            Options: Options, CmplogTarget: engine.Engine == EngineNames.AflPlusPlus ? Cmplog : null, Instance: index / Engines.Count, FuzzTarget: FuzzTarget,
            Instances: instances);
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

/// <summary>A crash as the bot found and triaged it. <paramref name="State"/>: the top frames that hold the bug, one per
/// line; <paramref name="Location"/>: the crashing frame (<c>target.c:57</c>).</summary>
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
    /// <summary>Findings from before triage go by their input; an earlier release's signature over the kind with its access
    /// size is re-keyed to the one without it, so old journals do not split one crash by size.</summary>
    public string SignatureOrFallback =>
        Signature is null ? Input.Sha256[..16]
        : State is not null && CrashIdentity.AccessSize(Kind) is not null && Signature == CrashIdentity.SizedSignature(Kind, State)
            ? CrashIdentity.Signature(Kind, State)
            : Signature;

    public string? FormerSignature => Signature is { } sent && sent != SignatureOrFallback ? sent : null;

    public bool IsReproducible => Reproduced > 0;
}

/// <summary>A crash stored by its campaign.</summary>
public sealed record CrashRecord(CrashId Id, CampaignId CampaignId, JobId JobId, BotId BotId, CrashFinding Finding);

/// <summary>Every report with one signature, counted: the first in full, at most <c>crash-samples</c> inputs.</summary>
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

    public string Identity => CrashIdentity.WithoutSize(Kind);

    /// <summary>Crashes recorded before sizes were kept fall back to their kind's size.</summary>
    public IReadOnlyList<string> SizesSeen => AccessSizes ?? (CrashIdentity.AccessSize(Kind) is { } size ? [size] : []);

    public string? AccessSizeRange => CrashIdentity.SizeRange(SizesSeen);

    public double ReproducibleRate => ReproduceAttempts == 0 ? 0 : (double)Reproduced / ReproduceAttempts;
}

/// <summary>Unique crashes that are one bug (same crashing frame and line, security flag, reproducibility); counts and times
/// cover all <paramref name="Members"/>, the leader first; kind, state and samples are the leader's.</summary>
public sealed record BugGroup(
    BugId Id, UniqueCrash Leader, IReadOnlyList<UniqueCrash> Members, BugTriage? Triage = null, IReadOnlyList<BugBuildCheck>? Checks = null, int? FoundInBuild = null)
{
    /// <summary>Open until someone (or a fix verification) says otherwise.</summary>
    public BugStatus Status => Triage?.Status ?? BugStatus.Open;

    /// <summary>A fixed bug's range: the first build of the last run of builds where it no longer crashed, and the last build before it where it did.</summary>
    public (int? First, int? LastBefore) FixedRange => Status == BugStatus.Fixed ? TrailingRun(reproduces: false) : (null, null);

    /// <summary>A regressed bug's range: the first build of the last run of builds where it crashed again, and the last build before it where it did not.</summary>
    public (int? First, int? LastBefore) RegressedRange => Status == BugStatus.Regressed ? TrailingRun(reproduces: true) : (null, null);

    private (int? First, int? LastBefore) TrailingRun(bool reproduces)
    {
        // The build that found the bug counts as one where it crashed; a build checked twice counts its last verdict.
        var verdicts = (Checks ?? [])
            .Select(c => (c.Build, c.Reproduces, c.At))
            .Concat(FoundInBuild is { } found ? [(found, true, DateTimeOffset.MinValue)] : [])
            .GroupBy(v => v.Build)
            .Select(g => (Build: g.Key, Reproduces: g.MaxBy(v => v.At).Reproduces))
            .OrderBy(v => v.Build)
            .ToList();
        int? first = null;
        for (var i = verdicts.Count - 1; i >= 0; i--)
        {
            if (verdicts[i].Reproduces != reproduces)
            {
                return (first, verdicts[i].Build);
            }

            first = verdicts[i].Build;
        }

        return (first, null);
    }

    public long Count => Members.Sum(m => m.Count);

    public DateTimeOffset FirstSeen => Members.Min(m => m.FirstSeen);

    public DateTimeOffset LastSeen => Members.Max(m => m.LastSeen);

    public bool Security => Leader.Security;

    public long ReproduceAttempts => Members.Sum(m => m.ReproduceAttempts);

    public long Reproduced => Members.Sum(m => m.Reproduced);

    public bool IsReproducible => Reproduced > 0;

    public double ReproducibleRate => ReproduceAttempts == 0 ? 0 : (double)Reproduced / ReproduceAttempts;

    public string? AccessSizeRange =>
        CrashIdentity.SizeRange(Members.SelectMany(m => m.SizesSeen));

    public CrashMinimization? Minimization =>
        Leader.Minimization is { Input: not null } lead ? lead
        : Members.Select(m => m.Minimization).FirstOrDefault(m => m is { Input: not null }) ?? Leader.Minimization;

    public IReadOnlyList<JobId> Jobs => [.. Members.SelectMany(m => m.Jobs).Distinct()];
}

/// <summary>Where a bug stands.</summary>
public enum BugStatus
{
    Open,
    Fixed,
    Regressed,
    Wontfix,
    Duplicate,
}

/// <summary>What the user (or a fix verification) said of a bug: its status, a link to their tracker, a note.</summary>
public sealed record BugTriage(BugStatus Status, string? ExternalUrl, string? Note, DateTimeOffset UpdatedAt);

/// <summary>How an input of a target is rerun: the engine, the target's name, the arguments before the input, the sanitizer environment.</summary>
public sealed record ReproduceCommand(string Engine, string Target, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment);

/// <summary>A bug's sample input rerun on a build: whether it still crashed with the bug's signature.</summary>
public sealed record BugBuildCheck(int Build, bool Reproduces, int Attempts, int Reproduced, string? CrashedAs, DateTimeOffset At);

/// <summary>The outcome of minimizing a unique crash: the smaller input, or why there is none.</summary>
public sealed record CrashMinimization(JobId JobId, BlobId? Input, long? Size, string? Failure, DateTimeOffset At);

/// <summary>Commands a campaign entity handles.</summary>
public static class CampaignCommands
{
    public sealed record CreateCampaign(CampaignId CampaignId, CampaignSpec Spec) : IWithCampaignId;

    public sealed record StopCampaign(CampaignId CampaignId) : IWithCampaignId;

    /// <summary>Changes a running campaign's priority (1 to <see cref="CampaignSpec.MaxPriority"/>); answered with the view.</summary>
    public sealed record SetCampaignPriority(CampaignId CampaignId, int Priority) : IWithCampaignId;

    /// <summary>Sent by a job entity each time it reaches a terminal state; repeated until acknowledged.</summary>
    public sealed record ReportJobEnded(CampaignId CampaignId, JobId JobId, JobStatus Status, DateTimeOffset At) : IWithCampaignId;

    /// <summary>The input is fetched from <paramref name="BlobSourcePath"/> and stored before the crash is persisted; idempotent.</summary>
    public sealed record ReportCrash(CampaignId CampaignId, JobId JobId, BotId BotId, CrashFinding Finding, string BlobSourcePath)
        : IWithCampaignId;

    public sealed record CrashAccepted(CampaignId CampaignId, CrashId CrashId, BlobId Input) : IWithCampaignId;

    /// <summary><paramref name="Input"/>, null on failure, is fetched before the outcome is persisted; answered with <see cref="Ack"/>.</summary>
    public sealed record ReportCrashMinimized(
        CampaignId CampaignId, JobId JobId, string Signature, BlobId? Input, long? Size, string? Failure, string BlobSourcePath) : IWithCampaignId;

    /// <summary>Adds a job that minimizes the campaign's corpus on a bot; answered with <see cref="JobAdded"/>.</summary>
    public sealed record MinimizeCorpus(CampaignId CampaignId, int TimeLimitSeconds) : IWithCampaignId;

    public sealed record JobAdded(CampaignId CampaignId, JobId JobId) : IWithCampaignId;

    /// <summary>
    /// Sets a bug's status, tracker link and note; a null field keeps its value, an empty string clears the link or the
    /// note. Answered with <see cref="CampaignQueries.BugView"/>.
    /// </summary>
    public sealed record TriageBug(CampaignId CampaignId, BugId BugId, BugStatus? Status, string? ExternalUrl, string? Note) : IWithCampaignId;

    /// <summary>
    /// Reruns the sample input of every open, fixed or regressed bug on <paramref name="Build"/> (a job per bug, on a
    /// bot): a bug that no longer crashes with its signature is fixed in it, a fixed one that does again regressed. Bugs
    /// checked on that build already, or being checked, are left. Answered with <see cref="VerificationsAdded"/>.
    /// </summary>
    public sealed record VerifyBugs(CampaignId CampaignId, TargetBuild Build) : IWithCampaignId;

    public sealed record VerificationsAdded(CampaignId CampaignId, IReadOnlyList<JobId> Jobs) : IWithCampaignId;

    /// <summary>A bot's verdict on one bug's input on one build; answered with <see cref="Ack"/>, idempotent.</summary>
    public sealed record ReportBugVerified(CampaignId CampaignId, JobId JobId, string Signature, int Build, int Attempts, int Reproduced, string? CrashedAs)
        : IWithCampaignId;

    /// <summary>
    /// Adds a job that runs the campaign's corpus through <paramref name="CoverageBinary"/>, the coverage build of
    /// <paramref name="Build"/> (the build the campaign fuzzes), on a bot; answered with <see cref="JobAdded"/>, naming the
    /// coverage job under way when there is one.
    /// </summary>
    public sealed record MeasureCoverage(CampaignId CampaignId, int Build, BlobId CoverageBinary, int TimeLimitSeconds) : IWithCampaignId;

    /// <summary>
    /// Asks a campaign to measure its coverage if it is due (<c>pandafuzz.master.coverage</c>): answered with
    /// <see cref="CoverageChecked"/>, saying when to ask again.
    /// </summary>
    public sealed record CheckCoverage(CampaignId CampaignId) : IWithCampaignId;

    /// <summary><paramref name="NextCheck"/>: when the campaign is next due a measurement; null: not by itself (finished, or no coverage schedule).</summary>
    public sealed record CoverageChecked(CampaignId CampaignId, DateTimeOffset? NextCheck) : IWithCampaignId;

    /// <summary>
    /// A coverage job's result: <paramref name="Report"/> (the zipped HTML report and llvm-cov's summary) is fetched from
    /// <paramref name="BlobSourcePath"/> and its summary read before it is journaled; answered with <see cref="Ack"/>, idempotent.
    /// </summary>
    public sealed record ReportCoverage(
        CampaignId CampaignId, JobId JobId, int CorpusVersion, int Inputs, BlobId Report, long ReportSize, DateTimeOffset MeasuredAt, string BlobSourcePath)
        : IWithCampaignId;

    /// <summary>
    /// Moves a running campaign to build <paramref name="Build"/> of its target, each engine to its binary there: its
    /// unfinished fuzzing jobs are cancelled and replaced by jobs on the new build for the time they had left (from
    /// <paramref name="StartedAt"/>, by job id, for jobs that have started); the corpus stays. Answered with the view.
    /// <paramref name="Cmplog"/>: the new build's CMPLOG binary, which its AFL++ jobs run as on the earlier build.
    /// </summary>
    public sealed record RebaseCampaign(CampaignId CampaignId, int Build, IReadOnlyList<EngineTarget> Engines, IReadOnlyDictionary<string, DateTimeOffset> StartedAt,
        BlobId? Cmplog = null)
        : IWithCampaignId;

    /// <summary>Wakes the unfinished jobs after a master restart. <paramref name="RetellJobs"/>: the scheduler restarted or
    /// moved, so queued jobs that left memory must announce themselves again.</summary>
    public sealed record WakeCampaign(CampaignId CampaignId, bool RetellJobs = false) : IWithCampaignId;
}

/// <summary>Events a campaign entity persists.</summary>
public static class CampaignEvents
{
    public sealed record CampaignCreated(CampaignId CampaignId, CampaignSpec Spec, IReadOnlyList<JobId> JobIds, DateTimeOffset At)
        : IWithCampaignId, IPersistedEvent;

    public sealed record CampaignStopRequested(CampaignId CampaignId, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;

    public sealed record CampaignPriorityChanged(CampaignId CampaignId, int Priority, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;

    /// <summary>A job beyond the campaign's fuzzing jobs, such as a corpus minimization.</summary>
    public sealed record CampaignJobAdded(CampaignId CampaignId, JobId JobId, JobSpec Spec, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;

    public sealed record CampaignJobEnded(CampaignId CampaignId, JobId JobId, JobStatus Status, DateTimeOffset At)
        : IWithCampaignId, IPersistedEvent;

    public sealed record CampaignFinished(CampaignId CampaignId, CampaignStatus Status, DateTimeOffset At)
        : IWithCampaignId, IPersistedEvent;

    /// <summary>The bug with <paramref name="Signature"/> among its crashes was rerun on a build.</summary>
    public sealed record BugVerified(CampaignId CampaignId, string Signature, JobId JobId, BugBuildCheck Check, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;

    /// <summary>The bug whose leader is <paramref name="Signature"/> now has <paramref name="Triage"/> (all of it, not a change).</summary>
    public sealed record BugTriaged(CampaignId CampaignId, string Signature, BugTriage Triage, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;

    /// <summary>The campaign fuzzes <paramref name="Build"/> from now on; <paramref name="Replaced"/> jobs are cancelled (jobs added with it replace them).</summary>
    public sealed record CampaignRebased(CampaignId CampaignId, int Build, IReadOnlyList<EngineTarget> Engines, IReadOnlyList<JobId> Replaced, DateTimeOffset At,
        BlobId? Cmplog = null)
        : IWithCampaignId, IPersistedEvent;

    /// <summary>Only a signature's first report keeps its output and stack; <paramref name="Sampled"/>: its input was kept.</summary>
    public sealed record CrashReported(CampaignId CampaignId, CrashRecord Crash, bool Sampled, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;

    public sealed record CrashMinimized(CampaignId CampaignId, string Signature, CrashMinimization Outcome, DateTimeOffset At) : IWithCampaignId, IPersistedEvent;

    /// <summary>A coverage job measured the campaign's corpus: the summary and each source file's counts.</summary>
    public sealed record CoverageMeasured(CampaignId CampaignId, CoverageSummary Summary, IReadOnlyList<CoverageFile> Files, DateTimeOffset At)
        : IWithCampaignId, IPersistedEvent;
}

/// <summary>Queries a campaign entity answers.</summary>
public static class CampaignQueries
{
    public sealed record GetCampaign(CampaignId CampaignId) : IWithCampaignId;

    public sealed record GetCampaignCrashes(CampaignId CampaignId, int Offset = 0, int Limit = int.MaxValue) : IWithCampaignId;

    public sealed record GetCrash(CampaignId CampaignId, CrashId CrashId) : IWithCampaignId;

    /// <summary>A page of the campaign's bugs; with <paramref name="Status"/>, only the bugs in it.</summary>
    public sealed record GetCampaignBugs(CampaignId CampaignId, int Offset = 0, int Limit = int.MaxValue, BugStatus? Status = null) : IWithCampaignId;

    /// <summary>A member's signature in <paramref name="BugId"/> finds the group that absorbed it.</summary>
    public sealed record GetBug(CampaignId CampaignId, BugId BugId) : IWithCampaignId;

    public sealed record CampaignBugs(CampaignId CampaignId, IReadOnlyList<BugGroup> Bugs, int Total) : IProtocolMessage;

    public sealed record BugView(BugGroup Bug, ReproduceCommand? Reproduce = null) : IProtocolMessage;

    public sealed record GetCrashInput(CampaignId CampaignId, BlobId Input) : IWithCampaignId;

    public sealed record CrashInputStatus(CampaignId CampaignId, BlobId Input, bool Counted) : IProtocolMessage;

    public sealed record CampaignView(
        CampaignId Id,
        CampaignSpec Spec,
        CampaignStatus Status,
        IReadOnlyList<JobId> JobIds,
        int CrashCount,
        DateTimeOffset CreatedAt,
        DateTimeOffset? FinishedAt,
        IReadOnlyList<int>? VerifyingBuilds = null) : IProtocolMessage;

    /// <summary>A page of unique crashes; <paramref name="BugIds"/> holds each one's bug group, in the same order.</summary>
    public sealed record CampaignCrashes(CampaignId CampaignId, IReadOnlyList<UniqueCrash> Crashes, long Reports, int Total = 0, IReadOnlyList<BugId>? BugIds = null)
        : IProtocolMessage;

    public sealed record CrashView(UniqueCrash Crash, BugId? BugId = null, ReproduceCommand? Reproduce = null) : IProtocolMessage;

    public sealed record GetCoverage(CampaignId CampaignId) : IWithCampaignId;

    /// <summary>The latest coverage measurement (null before the first), the measurements so far oldest first, and the coverage job under way.</summary>
    public sealed record CoverageView(CampaignId CampaignId, CoverageSummary? Latest, IReadOnlyList<CoverageSummary> History, JobId? Measuring) : IProtocolMessage;

    /// <summary>A page of the latest coverage report's files; a campaign without one answers not found.</summary>
    public sealed record GetCoverageFiles(CampaignId CampaignId, CoverageFileOrder Order, int Offset = 0, int Limit = int.MaxValue) : IWithCampaignId;

    public sealed record CoverageFiles(CampaignId CampaignId, IReadOnlyList<CoverageFile> Files, int Total) : IProtocolMessage;
}
