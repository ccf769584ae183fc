using System.Text.Json;
using System.Text.Json.Serialization;

namespace PandaFuzz.EndToEnd.Tests;

// The HTTP API's JSON shapes as these tests read them. Only the fields the tests use are typed;
// extra fields the node returns are ignored, so these records pin behaviour, not every field.

/// <summary>Body of <c>POST /api/v1/campaigns</c>; <c>seedCorpusId</c> (a <c>POST /api/v1/corpora</c> id) is sent only when set.</summary>
public sealed record CampaignRequest(
    string Name,
    string TargetId,
    string Engine = "libfuzzer",
    int Jobs = 1,
    int DurationSeconds = 120,
    int MemoryLimitMb = 2048,
    int TimeoutMs = 1000,
    string? Dictionary = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SeedCorpusId = null);

/// <summary>
/// Body of <c>POST /api/v1/campaigns</c> for an ensemble: <c>targets</c> maps each engine ("libfuzzer", "aflplusplus")
/// to its build of the target; jobs take the engines in turn (job 0 libfuzzer, job 1 aflplusplus, ...).
/// </summary>
public sealed record EnsembleCampaignRequest(
    string Name,
    IReadOnlyDictionary<string, string> Targets,
    int Jobs = 2,
    int DurationSeconds = 120,
    int MemoryLimitMb = 2048,
    int TimeoutMs = 1000,
    string? Dictionary = null);

/// <summary>Body of <c>POST /api/v1/campaigns</c> by target name: its newest build, or <c>build</c> pinned.</summary>
public sealed record NamedTargetCampaignRequest(
    string Name,
    string Target,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Build = null,
    string Engine = "libfuzzer",
    int Jobs = 1,
    int DurationSeconds = 120);

/// <summary>Reply of <c>POST /api/v1/targets</c> with its build (<c>newBuild</c>: false when the binary was already there).</summary>
public sealed record TargetBuildInfo(string Id, string Name, long Size, int Build, string Kind, string? Revision, bool NewBuild);

/// <summary>An item of <c>GET /api/v1/targets/{name}/builds</c>.</summary>
public sealed record TargetBuildSummary(int Number, string? Revision, DateTimeOffset CreatedAt, IReadOnlyList<TargetBinaryInfo> Binaries);

public sealed record TargetBinaryInfo(string Kind, string Id, long Size);

/// <summary>The engine names of the API.</summary>
public static class EngineNames
{
    public const string LibFuzzer = "libfuzzer";
    public const string AflPlusPlus = "aflplusplus";
}

/// <summary>Reply of <c>POST /api/v1/targets</c>.</summary>
public sealed record TargetInfo(string Id, string Name, long Size);

/// <summary>An item of <c>GET /api/v1/campaigns</c>.</summary>
public sealed record CampaignSummary(string Id, string Name, string? Status);

/// <summary><c>GET /api/v1/campaigns/{id}</c>.</summary>
public sealed record CampaignDetail(
    string Id,
    string Name,
    string TargetId,
    string Engine,
    string? Status,
    IReadOnlyList<JobSummary>? Jobs,
    JsonElement? Stats,
    IReadOnlyList<CrashSummary>? Crashes,
    IReadOnlyDictionary<string, string>? Targets = null,
    string? Dictionary = null,
    string? TargetName = null,
    int? Build = null,
    bool BuildPinned = false)
{
    /// <summary>The fuzzing jobs only: a found crash adds a crash minimization job to the campaign.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<JobSummary>? FuzzJobs => Jobs?.Where(j => j.Task is null || j.Task == JobTasks.Fuzz).ToList();
}

/// <summary>A job as listed in a campaign, and <c>GET /api/v1/jobs/{id}</c>.</summary>
public sealed record JobSummary(
    string Id,
    string? CampaignId,
    string State,
    string? BotId,
    int? Index = null,
    string? FailureReason = null,
    DateTimeOffset? AssignedAt = null,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? FinishedAt = null,
    JobStats? Stats = null,
    string? Engine = null,
    string? Task = null);

/// <summary>A job's live progress as its bot last reported it (libFuzzer's status lines, AFL++'s fuzzer_stats).</summary>
public sealed record JobStats(
    long Execs,
    long ExecsPerSecond,
    long Coverage,
    long CorpusUnits,
    DateTimeOffset? UpdatedAt,
    long TotalEdges = 0,
    double? Stability = null,
    long Crashes = 0,
    long Hangs = 0,
    long Imported = 0,
    DateTimeOffset? LastFindAt = null);

/// <summary>An item of <c>GET /api/v1/campaigns/{id}/crashes</c> (and of a campaign's "crashes").</summary>
public sealed record CrashSummary(
    string Id,
    string? CampaignId,
    string? JobId,
    string? BotId,
    string? Kind,
    string? Summary,
    DateTimeOffset? FoundAt,
    string? InputSha256,
    long? InputSize,
    string? Signature = null,
    string? State = null,
    bool? Security = null,
    bool? Reproducible = null,
    double? ReproducibleRate = null,
    long? Count = null,
    DateTimeOffset? FirstSeen = null,
    DateTimeOffset? LastSeen = null,
    CrashMinimization? Minimized = null,
    string? BugId = null,
    string? AccessSizes = null,
    string? Location = null);

/// <summary>A bug: <c>GET /api/v1/campaigns/{id}/bugs</c> and <c>GET /api/v1/bugs/{id}</c>.</summary>
public sealed record BugSummary(
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
    string LeaderCrashId,
    CrashMinimization? Minimized,
    IReadOnlyList<CrashSummary> Crashes,
    IReadOnlyList<string>? Jobs = null,
    string Status = "open",
    string? ExternalUrl = null,
    string? Note = null,
    int? FoundInBuild = null,
    IReadOnlyList<BugCheck>? Checks = null,
    int? FixedIn = null,
    int? LastReproducedIn = null,
    int? RegressedIn = null,
    int? LastFixedIn = null)
{
    public IReadOnlyList<BugCheck> Checks { get; init; } = Checks ?? [];
}

/// <summary>A rerun of a bug's input on a build.</summary>
public sealed record BugCheck(int Build, bool Reproduces, int Attempts, int Reproduced, string? CrashedAs);

/// <summary>The <c>minimized</c> field of a crash.</summary>
public sealed record CrashMinimization(string JobId, string? InputSha256, long? Size, string? Failure);

/// <summary><c>GET /api/v1/crashes/{id}</c>.</summary>
public sealed record CrashDetail(
    string Id,
    string CampaignId,
    string? JobId,
    string? BotId,
    string? Kind,
    string? Summary,
    DateTimeOffset? FoundAt,
    string? InputSha256,
    long? InputSize,
    IReadOnlyList<string>? Stack,
    string? Output,
    string? Signature = null,
    string? State = null,
    long? ReproduceAttempts = null,
    long? Reproduced = null,
    long? Count = null,
    IReadOnlyList<string>? Samples = null,
    CrashMinimization? Minimized = null,
    string? BugId = null,
    string? AccessSizes = null,
    ReproduceInfo? Reproduce = null);

/// <summary>A crash's <c>reproduce</c>: how to rerun its input as the bot did.</summary>
public sealed record ReproduceInfo(string Engine, string Target, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment, string Input, string CommandLine);

/// <summary>An item of <c>GET /api/v1/bots</c>.</summary>
public sealed record BotInfo(
    string Id,
    string? Address,
    string? Hostname,
    string State,
    BotCapabilities? Capabilities,
    JsonElement? CurrentJobs,
    string? OfflineReason = null,
    DateTimeOffset? OfflineSince = null,
    SandboxInfo? Sandbox = null,
    bool? Draining = null);

/// <summary>What a bot's sandbox enforces on its machine, one entry per measure.</summary>
public sealed record SandboxInfo(bool Enabled, IReadOnlyList<SandboxMeasureInfo> Measures, bool Isolated = false, bool AllowUnisolated = false, string? RefusesJobs = null);

public sealed record SandboxMeasureInfo(string Name, string Mode, bool Enforced, string Detail);

/// <summary>What a bot says it can run.</summary>
public sealed record BotCapabilities(IReadOnlyList<EngineInfo>? Engines, int? Slots, long? MemoryMb);

/// <summary>A fuzzing engine a bot has, with its version.</summary>
public sealed record EngineInfo(string Name, string? Version);

/// <summary>Reply of <c>POST /api/v1/corpora</c>: the archive's id (usable as <c>seedCorpusId</c>) and how many inputs it holds.</summary>
public sealed record CorpusArchiveInfo(string Id, string Name, long Size, int Entries);

/// <summary><c>GET /api/v1/campaigns/{id}/corpus</c>: the current version and every version so far.</summary>
public sealed record CorpusInfo(string CampaignId, int Version, int Count, long Bytes, IReadOnlyList<CorpusVersionInfo> Versions);

/// <summary>One version of a campaign's corpus; <c>reason</c> says where it came from (e.g. "minimized by job …").</summary>
public sealed record CorpusVersionInfo(int Version, int Count, long Bytes, string? Reason, DateTimeOffset? Since);

/// <summary>Reply of <c>POST /api/v1/campaigns/{id}/corpus/minimize</c>: the job that minimizes.</summary>
public sealed record MinimizationInfo(string CampaignId, string JobId);

/// <summary><c>GET /api/v1/jobs/{id}/stats</c> and <c>GET /api/v1/campaigns/{id}/stats</c>: samples over time, oldest first.</summary>
public sealed record StatsSeries(string Id, IReadOnlyList<JobStats> Points);

/// <summary>The job tasks of the API.</summary>
public static class JobTasks
{
    public const string Fuzz = "fuzz";
    public const string MinimizeCorpus = "minimizeCorpus";
    public const string MinimizeCrash = "minimizeCrash";
}

/// <summary>A reply read without interpretation, for the tests of error answers.</summary>
public sealed record RawResponse(int StatusCode, string? MediaType, string Body, Uri? Location);

/// <summary>Job and bot states, compared without regard to case.</summary>
public static class States
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Cancelled = "cancelled";
    public const string Online = "online";
    public const string Offline = "offline";
    public const string Pending = "pending";
    public const string Failed = "failed";

    public static bool Is(string? actual, string expected) =>
        string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase);
}
