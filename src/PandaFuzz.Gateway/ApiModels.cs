using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>
/// The body of <c>POST /api/v1/campaigns</c>. One engine: <c>engine</c> and <c>targetId</c>. An ensemble:
/// <c>targets</c> maps each engine to its build of the target (and <c>engines</c> may order them); jobs
/// take the engines in turn.
/// </summary>
public sealed record CreateCampaignRequest(
    string? Name,
    string? TargetId,
    string? Engine,
    int? Jobs,
    int? DurationSeconds,
    int? MemoryLimitMb,
    int? TimeoutMs,
    string? Dictionary,
    Dictionary<string, string>? Targets = null,
    IReadOnlyList<string>? Engines = null,
    string? SeedCorpusId = null);

/// <summary>An uploaded corpus archive (zip, tar or tar.gz), usable as a campaign's <c>seedCorpusId</c>.</summary>
public sealed record CorpusArchiveResponse(string Id, string Name, long Size, int Entries);

/// <summary>A campaign's corpus: its current version and the versions before it.</summary>
public sealed record CorpusResponse(string CampaignId, int Version, int Count, long Bytes, IReadOnlyList<CorpusVersionResponse> Versions)
{
    public static CorpusResponse From(CorpusQueries.CorpusSummary s) =>
        new(s.CorpusOf.Value, s.Version, s.Count, s.Bytes, [.. s.Versions.Select(v => new CorpusVersionResponse(v.Version, v.Count, v.Bytes, v.Reason, v.Since))]);
}

/// <summary>A corpus minimization under way: follow its job; the result is a new corpus version.</summary>
public sealed record MinimizationResponse(string CampaignId, string JobId);

public sealed record CorpusVersionResponse(int Version, int Count, long Bytes, string Reason, DateTimeOffset Since);

/// <summary>An uploaded target.</summary>
public sealed record TargetResponse(string Id, string Name, long Size);

/// <summary>Aggregated live progress of a campaign or one job. Coverage is libFuzzer's cov or AFL++'s edges found.</summary>
public sealed record StatsResponse(
    long Execs,
    long ExecsPerSecond,
    long Coverage,
    long Features,
    long CorpusUnits,
    long CorpusBytes,
    long RssMb,
    DateTimeOffset? UpdatedAt,
    long TotalEdges = 0,
    double? Stability = null,
    long Crashes = 0,
    long Hangs = 0,
    long Imported = 0,
    DateTimeOffset? LastFindAt = null)
{
    public static StatsResponse? From(FuzzerStats? s) =>
        s is null
            ? null
            : new(s.Execs, s.ExecsPerSecond, s.Coverage, s.Features, s.CorpusUnits, s.CorpusBytes, s.RssMb, s.At,
                s.TotalEdges, s.Stability, s.Crashes, s.Hangs, s.Imported, s.LastFindAt);

    /// <summary>Sums throughput and corpus over jobs; coverage is the best job's (jobs share no corpus yet).</summary>
    public static StatsResponse Aggregate(IEnumerable<FuzzerStats?> stats)
    {
        var all = stats.OfType<FuzzerStats>().ToList();
        return new StatsResponse(
            all.Sum(s => s.Execs),
            all.Sum(s => s.ExecsPerSecond),
            all.Select(s => s.Coverage).DefaultIfEmpty().Max(),
            all.Select(s => s.Features).DefaultIfEmpty().Max(),
            all.Sum(s => s.CorpusUnits),
            all.Sum(s => s.CorpusBytes),
            all.Select(s => s.RssMb).DefaultIfEmpty().Max(),
            all.Count == 0 ? null : all.Max(s => s.At),
            all.Select(s => s.TotalEdges).DefaultIfEmpty().Max(),
            all.Count == 0 ? null : all.Min(s => s.Stability),
            all.Sum(s => s.Crashes),
            all.Sum(s => s.Hangs),
            all.Sum(s => s.Imported),
            all.Max(s => s.LastFindAt));
    }
}

/// <summary>One job as the API shows it.</summary>
public sealed record JobResponse(
    string Id,
    string CampaignId,
    int Index,
    JobStatus State,
    string? BotId,
    string? FailureReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset? AssignedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    StatsResponse? Stats,
    string Engine,
    JobTask Task)
{
    public static JobResponse From(JobQueries.JobView v) =>
        new(v.Id.Value, v.CampaignId.Value, v.Index, v.Status, v.BotId?.Value, v.FailureReason, v.CreatedAt, v.AssignedAt, v.StartedAt, v.FinishedAt,
            StatsResponse.From(v.Stats), v.Engine, v.Task);

    /// <summary>A job from the read model: no live stats (they are not journaled), so <c>stats</c> is null.</summary>
    public static JobResponse From(JobRow r) =>
        new(r.Id.Value, r.CampaignId.Value, r.Index, r.Status, r.BotId?.Value, r.FailureReason, r.CreatedAt, r.AssignedAt, r.StartedAt, r.FinishedAt,
            null, r.Engine, r.Task);
}

/// <summary>Stats over time of a job or a campaign, oldest first; <c>updatedAt</c> is each sample's time.</summary>
public sealed record StatsSeriesResponse(string Id, IReadOnlyList<StatsResponse> Points);

/// <summary>
/// A unique crash in lists: one signature (kind + crash state) with every report of it counted. <c>jobId</c>,
/// <c>botId</c>, <c>foundAt</c> and <c>inputSha256</c> are the first report's.
/// </summary>
public sealed record CrashSummaryResponse(
    string Id,
    string CampaignId,
    string JobId,
    string BotId,
    string Kind,
    string Summary,
    DateTimeOffset FoundAt,
    string InputSha256,
    long InputSize,
    string Signature,
    string State,
    bool Security,
    bool Reproducible,
    double ReproducibleRate,
    long Count,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    CrashMinimizationResponse? Minimized)
{
    /// <summary>The bug group the crash is part of (<c>GET /bugs/{bugId}</c>).</summary>
    public string? BugId { get; init; }

    /// <summary>Every access size its reports named (<c>2–16</c>); <c>kind</c> names the first report's.</summary>
    public string? AccessSizes { get; init; }

    /// <summary>The file name and line of the frame that crashed (<c>target.c:57</c>), when symbolized.</summary>
    public string? Location { get; init; }

    public static CrashSummaryResponse From(UniqueCrash c) => From(c, null);

    public static CrashSummaryResponse From(UniqueCrash c, BugId? bug)
    {
        var first = c.First.Finding;
        return new(c.Id.Value, c.First.CampaignId.Value, c.First.JobId.Value, c.First.BotId.Value, c.Kind, first.Summary, first.FoundAt,
            first.Input.Sha256, first.InputSize, c.Signature, c.State, c.Security, c.IsReproducible, Math.Round(c.ReproducibleRate, 4), c.Count,
            c.FirstSeen, c.LastSeen, CrashMinimizationResponse.From(c.Minimization))
        {
            BugId = bug?.Value,
            AccessSizes = c.AccessSizeRange,
            Location = Domain.Crashes.BugGrouping.LocationOf(c),
        };
    }

    public static CrashSummaryResponse From(CrashRow c) =>
        new(c.Id.Value, c.CampaignId.Value, c.FirstJobId.Value, c.FirstBotId.Value, c.Kind, c.Summary, c.FoundAt, c.FirstInput, c.FirstInputSize,
            c.Signature, c.State, c.Security, c.Reproduced > 0, Math.Round(c.ReproduceAttempts == 0 ? 0 : (double)c.Reproduced / c.ReproduceAttempts, 4),
            c.Count, c.FirstSeen, c.LastSeen, CrashMinimizationResponse.From(c.Minimization))
        {
            BugId = c.BugId?.Value,
            Location = c.Location,
        };
}

/// <summary>The minimized input of a unique crash (same signature, checked on the bot), or why there is none.</summary>
public sealed record CrashMinimizationResponse(string JobId, string? InputSha256, long? Size, string? Failure, DateTimeOffset At)
{
    public static CrashMinimizationResponse? From(CrashMinimization? m) =>
        m is null ? null : new(m.JobId.Value, m.Input?.Sha256, m.Size, m.Failure, m.At);
}

/// <summary>A unique crash with its report: the first report's stack and output, counts, sample inputs, minimization.</summary>
public sealed record CrashResponse(
    string Id,
    string CampaignId,
    string JobId,
    string BotId,
    string Kind,
    string Summary,
    DateTimeOffset FoundAt,
    string InputSha256,
    long InputSize,
    string ArtifactName,
    IReadOnlyList<string> Stack,
    string Output,
    string Signature,
    string State,
    bool Security,
    bool Reproducible,
    double ReproducibleRate,
    long ReproduceAttempts,
    long Reproduced,
    long Count,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    IReadOnlyList<string> Jobs,
    IReadOnlyList<string> Bots,
    IReadOnlyList<string> Samples,
    CrashMinimizationResponse? Minimized)
{
    /// <summary>The bug group the crash is part of (<c>GET /bugs/{bugId}</c>).</summary>
    public string? BugId { get; init; }

    /// <summary>Every access size its reports named (<c>2–16</c>); <c>kind</c> names the first report's.</summary>
    public string? AccessSizes { get; init; }

    /// <summary>The file name and line of the frame that crashed (<c>target.c:57</c>), when symbolized.</summary>
    public string? Location { get; init; }

    public static CrashResponse From(UniqueCrash c, BugId? bug = null)
    {
        var first = c.First.Finding;
        return new(c.Id.Value, c.First.CampaignId.Value, c.First.JobId.Value, c.First.BotId.Value, c.Kind, first.Summary, first.FoundAt,
            first.Input.Sha256, first.InputSize, first.ArtifactName, first.Stack, first.Output, c.Signature, c.State, c.Security,
            c.IsReproducible, Math.Round(c.ReproducibleRate, 4), c.ReproduceAttempts, c.Reproduced, c.Count, c.FirstSeen, c.LastSeen,
            [.. c.Jobs.Select(j => j.Value)], [.. c.Bots.Select(b => b.Value)], [.. c.Samples.Select(b => b.Sha256)],
            CrashMinimizationResponse.From(c.Minimization))
        {
            BugId = bug?.Value,
            AccessSizes = c.AccessSizeRange,
            Location = Domain.Crashes.BugGrouping.LocationOf(c),
        };
    }
}

/// <summary>
/// A bug: unique crashes that are one bug (the same frame crashed, at the same line), led by the first seen. <c>kind</c>
/// is the leader's without the access size (<c>Heap-buffer-overflow WRITE</c>), <c>accessSizes</c> every size its reports
/// named (<c>2–16</c>); <c>count</c> adds up every report of every member; <c>crashes</c> lists the members, leader first.
/// A bug no rerun reproduced has <c>reproducible: false</c> and is never grouped with reproducible ones.
/// </summary>
public sealed record BugResponse(
    string Id,
    string CampaignId,
    string Kind,
    string? AccessSizes,
    string State,
    string? Location,
    bool Security,
    bool Reproducible,
    double ReproducibleRate,
    long ReproduceAttempts,
    long Reproduced,
    long Count,
    int CrashCount,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    string LeaderCrashId,
    string Summary,
    IReadOnlyList<string> Jobs,
    CrashMinimizationResponse? Minimized,
    IReadOnlyList<CrashSummaryResponse> Crashes)
{
    public static BugResponse From(BugGroup bug)
    {
        var leader = bug.Leader;
        return new(bug.Id.Value, leader.First.CampaignId.Value, leader.Identity, bug.AccessSizeRange, leader.State, Domain.Crashes.BugGrouping.LocationOf(leader),
            bug.Security, bug.IsReproducible, Math.Round(bug.ReproducibleRate, 4), bug.ReproduceAttempts, bug.Reproduced, bug.Count, bug.Members.Count,
            bug.FirstSeen, bug.LastSeen, leader.Id.Value, leader.First.Finding.Summary, [.. bug.Jobs.Select(j => j.Value)],
            CrashMinimizationResponse.From(bug.Minimization), [.. bug.Members.Select(m => CrashSummaryResponse.From(m, bug.Id))]);
    }
}

/// <summary>A campaign in lists.</summary>
public sealed record CampaignSummaryResponse(
    string Id,
    string Name,
    string TargetId,
    string Engine,
    CampaignStatus Status,
    int JobCount,
    int CrashCount,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt)
{
    public static CampaignSummaryResponse From(CampaignQueries.CampaignView v) =>
        new(v.Id.Value, v.Spec.Name, v.Spec.Target.Sha256, v.Spec.Engine, v.Status, v.Spec.Jobs, v.CrashCount, v.CreatedAt, v.FinishedAt);

    public static CampaignSummaryResponse From(CampaignRow r) =>
        new(r.Id.Value, r.Name, r.Target, r.Engine, r.Status, r.PlannedJobs, r.CrashCount, r.CreatedAt, r.FinishedAt);
}

/// <summary>
/// A campaign with a page of its jobs (<c>jobsTotal</c> in all), its stats summed over its running and completed jobs,
/// and its first unique crashes (<c>crashesTotal</c> in all).
/// </summary>
public sealed record CampaignResponse(
    string Id,
    string Name,
    string TargetId,
    string Engine,
    IReadOnlyDictionary<string, string> Targets,
    int JobCount,
    int DurationSeconds,
    int MemoryLimitMb,
    int TimeoutMs,
    string? Dictionary,
    CampaignStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<JobResponse> Jobs,
    StatsResponse Stats,
    IReadOnlyList<CrashSummaryResponse> Crashes)
{
    /// <summary>Every job of the campaign; <c>jobs</c> holds the asked page of them (<c>jobsLimit</c>, <c>jobsOffset</c>).</summary>
    public int JobsTotal { get; init; }

    /// <summary>Every unique crash of the campaign; <c>crashes</c> holds the first 100 (all on its crashes route).</summary>
    public int CrashesTotal { get; init; }

    /// <summary>The campaign's bugs, first seen first: the first 100 (all on its bugs route), each with its crashes.</summary>
    public IReadOnlyList<BugResponse> Bugs { get; init; } = [];

    /// <summary>Every bug of the campaign.</summary>
    public int BugsTotal { get; init; }
}

/// <summary>A bot as the API shows it.</summary>
public sealed record BotResponse(
    string Id,
    string Address,
    string Hostname,
    BotStatus State,
    CapabilitiesResponse Capabilities,
    IReadOnlyList<string> CurrentJobs,
    DateTimeOffset RegisteredAt,
    DateTimeOffset? LastSeenAt,
    string? OfflineReason,
    DateTimeOffset? OfflineSince,
    bool Draining,
    SandboxResponse? Sandbox = null)
{
    public static BotResponse From(BotQueries.BotView v) =>
        new(v.Id.Value, v.Address, v.Hostname, v.Status,
            new CapabilitiesResponse([.. v.Capabilities.Engines.Select(e => new EngineResponse(e.Name, e.Version))], v.Capabilities.Slots, v.Capabilities.MemoryMb),
            [.. v.CurrentJobs.Select(j => j.Value)], v.RegisteredAt, v.LastSeenAt, v.OfflineReason, v.OfflineSince, v.Draining,
            SandboxResponse.From(v.Capabilities.Sandbox));

    /// <summary>
    /// A bot from the read model. <c>lastSeenAt</c> is its last journaled check-in (the latest registration): routine
    /// check-ins are not journaled, so the read model cannot know the later ones.
    /// </summary>
    public static BotResponse From(BotRow r) =>
        new(r.Id.Value, r.Address, r.Hostname, r.Status,
            new CapabilitiesResponse([.. r.Engines.Select(e => new EngineResponse(e.Name, e.Version))], r.Slots, r.MemoryMb),
            [.. r.CurrentJobs.Select(j => j.Value)], r.RegisteredAt, r.CheckedInAt, r.OfflineReason, r.OfflineSince, r.Draining);
}

/// <summary>
/// <c>GET /api/v1/queue</c>: pending jobs in the order the scheduler offers them. <c>eta</c> estimates when a slot
/// frees up for the job (now, or the planned end of a running job); null when more jobs wait than run.
/// </summary>
/// <summary>A page of the queue (<c>limit</c>, <c>offset</c>); <c>total</c> counts every pending job (also <c>X-Total-Count</c>).</summary>
public sealed record QueueResponse(IReadOnlyList<QueueEntryResponse> Pending, int BotsKnown, int FreeSlots, int Total);

public sealed record QueueEntryResponse(int Position, string JobId, string? CampaignId, string? Engine, DateTimeOffset? WaitingSince, DateTimeOffset? Eta);

public sealed record CapabilitiesResponse(IReadOnlyList<EngineResponse> Engines, int Slots, long MemoryMb);

/// <summary>
/// What the bot's sandbox enforces on its machine, as the bot probed it at start: one entry per measure (user, session, rlimits,
/// memory, network, filesystem) with its configured mode, whether it holds there, and how or why not. Null for a bot that
/// did not report one (an older bot, or a bot known only from the read model). <c>isolated</c>: network and filesystem
/// isolation both hold; <c>allowUnisolated</c>: the operator let the bot run targets without them; <c>refusesJobs</c>: why
/// the bot takes no job at all (it cannot isolate and has no opt-out), else null.
/// </summary>
public sealed record SandboxResponse(bool Enabled, IReadOnlyList<SandboxMeasureResponse> Measures, bool Isolated = false, bool AllowUnisolated = false, string? RefusesJobs = null)
{
    public static SandboxResponse? From(SandboxReport? report) =>
        report is null
            ? null
            : new(report.Enabled, [.. report.Measures.Select(m => new SandboxMeasureResponse(m.Name, m.Mode, m.Enforced, m.Detail))],
                report.Isolated, report.AllowUnisolated, report.RefusesJobs);
}

public sealed record SandboxMeasureResponse(string Name, string Mode, bool Enforced, string Detail);

public sealed record EngineResponse(string Name, string Version);

/// <summary>A crash input the campaign counted (<c>GET /api/v1/campaigns/{id}/crash-inputs/{sha256}</c>).</summary>
public sealed record CrashInputResponse(string Sha256, bool Counted);
