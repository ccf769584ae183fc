using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>A unique crash in lists (kind + crash state); <c>jobId</c>, <c>botId</c>, <c>foundAt</c> and <c>inputSha256</c> are the first report's.</summary>
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
    public string? BugId { get; init; }

    /// <summary>How to rerun the crash's input on your machine, with the options the bot used (null: the finding job is not known).</summary>
    public ReproduceResponse? Reproduce { get; init; }

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
    public string? BugId { get; init; }

    /// <summary>How to rerun the crash's input on your machine, with the options the bot used (null: the finding job is not known).</summary>
    public ReproduceResponse? Reproduce { get; init; }

    /// <summary>Every access size its reports named (<c>2–16</c>); <c>kind</c> names the first report's.</summary>
    public string? AccessSizes { get; init; }

    /// <summary>The file name and line of the frame that crashed (<c>target.c:57</c>), when symbolized.</summary>
    public string? Location { get; init; }

    /// <summary>Positions in <c>stack</c> of frames the crash state skips (sanitizer runtime, libc, allocators, the engine's driver).</summary>
    public IReadOnlyList<int> IgnoredFrames { get; init; } = [];

    public static CrashResponse From(UniqueCrash c, BugId? bug = null, ReproduceCommand? reproduce = null)
    {
        var first = c.First.Finding;
        return new(c.Id.Value, c.First.CampaignId.Value, c.First.JobId.Value, c.First.BotId.Value, c.Kind, first.Summary, first.FoundAt,
            first.Input.Sha256, first.InputSize, first.ArtifactName, first.Stack, first.Output, c.Signature, c.State, c.Security,
            c.IsReproducible, Math.Round(c.ReproducibleRate, 4), c.ReproduceAttempts, c.Reproduced, c.Count, c.FirstSeen, c.LastSeen,
            [.. c.Jobs.Select(j => j.Value)], [.. c.Bots.Select(b => b.Value)], [.. c.Samples.Select(b => b.Sha256)],
            CrashMinimizationResponse.From(c.Minimization))
        {
            BugId = bug?.Value,
            Reproduce = ReproduceResponse.From(reproduce, c.Signature),
            AccessSizes = c.AccessSizeRange,
            Location = Domain.Crashes.BugGrouping.LocationOf(c),
            IgnoredFrames = Domain.Crashes.CrashAnalyzer.IgnoredFrames(first.Stack),
        };
    }
}

/// <summary>
/// Unique crashes that are one bug (same frame and line), led by the first seen. <c>kind</c> is the leader's without
/// the access size; <c>count</c> adds every member's reports. A bug no rerun reproduced is never grouped with
/// reproducible ones.
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
            CrashMinimizationResponse.From(bug.Minimization), [.. bug.Members.Select(m => CrashSummaryResponse.From(m, bug.Id))])
        {
            Status = bug.Status,
            ExternalUrl = bug.Triage?.ExternalUrl,
            Note = bug.Triage?.Note,
            StatusChangedAt = bug.Triage?.UpdatedAt,
            FoundInBuild = bug.FoundInBuild,
            Checks = [.. (bug.Checks ?? []).Select(c => new BugCheckResponse(c.Build, c.Reproduces, c.Attempts, c.Reproduced, c.CrashedAs, c.At))],
            FixedIn = bug.FixedRange.First,
            LastReproducedIn = bug.FixedRange.LastBefore,
            RegressedIn = bug.RegressedRange.First,
            LastFixedIn = bug.RegressedRange.LastBefore,
        };
    }

    /// <summary>How to rerun the bug's leading crash input on your machine, as in its crash's <c>reproduce</c>.</summary>
    public ReproduceResponse? Reproduce { get; init; }

    /// <summary>The build of the target the job that found the bug fuzzed (null: a campaign from a binary, not a build).</summary>
    public int? FoundInBuild { get; init; }

    /// <summary>Each rerun of the bug's input on a new build, oldest build first.</summary>
    public IReadOnlyList<BugCheckResponse> Checks { get; init; } = [];

    /// <summary>A fixed bug: the first build of the last run of builds where it does not crash, and the last build before it where it did.</summary>
    public int? FixedIn { get; init; }

    public int? LastReproducedIn { get; init; }

    /// <summary>A regressed bug: the first build of the last run of builds where it crashes again, and the last build before it where it did not.</summary>
    public int? RegressedIn { get; init; }

    public int? LastFixedIn { get; init; }

    /// <summary>open, fixed, regressed, wontfix or duplicate.</summary>
    public BugStatus Status { get; init; }

    /// <summary>A link to the bug in the user's tracker.</summary>
    public string? ExternalUrl { get; init; }

    public string? Note { get; init; }

    /// <summary>When the status, link or note last changed (null: never).</summary>
    public DateTimeOffset? StatusChangedAt { get; init; }
}

/// <summary>
/// The command that reruns a crash's input as the bot did: <c>commandLine</c> runs <c>./target</c> on <c>input</c> (the
/// sample's file name in the crash's bundle) with the sanitizer <c>environment</c> and the engine's <c>arguments</c>.
/// </summary>
public sealed record ReproduceResponse(string Engine, string Target, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment, string Input, string CommandLine)
{
    public static ReproduceResponse? From(ReproduceCommand? command, string signature)
    {
        if (command is null)
        {
            return null;
        }

        var input = Domain.Engines.Reproduction.InputName(signature);
        return new(command.Engine, command.Target, command.Arguments, command.Environment, input,
            Domain.Engines.Reproduction.CommandLine(command, "./" + command.Target, input));
    }
}

/// <summary>A rerun of a bug's input on a build: whether it crashed with the bug's signature (and with which, if any).</summary>
public sealed record BugCheckResponse(int Build, bool Reproduces, int Attempts, int Reproduced, string? CrashedAs, DateTimeOffset At);

/// <summary>The body of <c>PATCH /api/v1/bugs/{id}</c>: each field given is set, the others stay.</summary>
public sealed record BugTriageRequest(string? Status = null, string? ExternalUrl = null, string? Note = null)
{
    public const int MaxUrlLength = 2000;
    public const int MaxNoteLength = 4000;

    public BugStatus? ParsedStatus() => Status is null ? null : Enum.Parse<BugStatus>(Status, ignoreCase: true);

    public static Dictionary<string, string[]> Validate(BugTriageRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Status is null && request.ExternalUrl is null && request.Note is null)
        {
            errors["body"] = ["give at least one of status, externalUrl, note"];
        }

        if (request.Status is { } status && (status.Length == 0 || !char.IsLetter(status[0]) || !Enum.TryParse<BugStatus>(status, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed)))
        {
            errors["status"] = [$"status must be one of {string.Join(", ", Enum.GetNames<BugStatus>().Select(n => n.ToLowerInvariant()))}"];
        }

        if (request.ExternalUrl is { Length: > 0 } url
            && (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            errors["externalUrl"] = [$"externalUrl must be an absolute http or https URL of at most {MaxUrlLength} characters (or empty, to clear it)"];
        }

        if (request.Note is { Length: > MaxNoteLength })
        {
            errors["note"] = [$"note must be at most {MaxNoteLength} characters"];
        }

        return errors;
    }
}

/// <summary>A crash input the campaign counted (<c>GET /api/v1/campaigns/{id}/crash-inputs/{sha256}</c>).</summary>
public sealed record CrashInputResponse(string Sha256, bool Counted);
