using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>
/// The body of <c>POST /api/v1/campaigns</c>. By name: <c>target</c> (its newest build, or <c>build</c> pinned) with
/// <c>engine</c> or <c>engines</c>. By binary: <c>engine</c> and <c>targetId</c>, or for an ensemble <c>targets</c>
/// mapping each engine to its binary (<c>engines</c> may order them). Jobs take the engines in turn.
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
    string? SeedCorpusId = null,
    string? Target = null,
    int? Build = null,
    Dictionary<string, Dictionary<string, System.Text.Json.JsonElement>>? EngineOptions = null,
    int? Priority = null,
    string? FuzzTarget = null);

/// <summary>The body of <c>PATCH /api/v1/campaigns/{id}</c>: what to change in a running campaign.</summary>
public sealed record UpdateCampaignRequest(int? Priority);

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
    /// <summary>The named target it fuzzes (null: a campaign from a binary uploaded without a name).</summary>
    public string? TargetName { get; init; }

    public static CampaignSummaryResponse From(CampaignQueries.CampaignView v) =>
        new(v.Id.Value, v.Spec.Name, v.Spec.Target.Sha256, v.Spec.Engine, v.Status, v.Spec.Jobs, v.CrashCount, v.CreatedAt, v.FinishedAt) { TargetName = v.Spec.TargetName };

    public static CampaignSummaryResponse From(CampaignRow r) =>
        new(r.Id.Value, r.Name, r.Target, r.Engine, r.Status, r.PlannedJobs, r.CrashCount, r.CreatedAt, r.FinishedAt) { TargetName = r.TargetName };
}

/// <summary>A campaign with a page of its jobs, its stats summed over its running and completed jobs, and its first unique crashes.</summary>
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
    /// <summary>Every job of the campaign; <c>jobs</c> holds the asked page.</summary>
    public int JobsTotal { get; init; }

    /// <summary>Every unique crash of the campaign; <c>crashes</c> holds the first 100 (all on its crashes route).</summary>
    public int CrashesTotal { get; init; }

    /// <summary>The campaign's bugs, first seen first: the first 100 (all on its bugs route), each with its crashes.</summary>
    public IReadOnlyList<BugResponse> Bugs { get; init; } = [];

    public int BugsTotal { get; init; }

    /// <summary>The target's name (null for a binary uploaded before targets had names).</summary>
    public string? TargetName { get; init; }

    /// <summary>The build of the target the campaign fuzzes (null: created from a binary, not a build).</summary>
    public int? Build { get; init; }

    /// <summary>True when the campaign was created on that build on purpose; else it took the newest build then.</summary>
    public bool BuildPinned { get; init; }

    /// <summary>The fuzz target it runs, by name, when its build is a bundle.</summary>
    public string? FuzzTarget { get; init; }

    /// <summary>The campaign this one was cloned from, in the answer to the clone request.</summary>
    public string? ClonedFrom { get; init; }

    /// <summary>Its share of free slots (1 to 1000, default 1): each free slot goes to the waiting campaign holding the fewest per unit of priority.</summary>
    public int Priority { get; init; } = CampaignSpec.DefaultPriority;

    /// <summary>The engine and sanitizer options its jobs run with, by section (each job shows its command line).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? EngineOptions { get; init; }
}

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

/// <summary>Stats over time of a job or a campaign, oldest first; <c>updatedAt</c> is each sample's time.</summary>
public sealed record StatsSeriesResponse(string Id, IReadOnlyList<StatsResponse> Points);
