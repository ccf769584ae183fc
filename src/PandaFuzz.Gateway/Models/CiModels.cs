using PandaFuzz.Domain.Crashes;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>Where a CI gate stands: still running, passed (no new or regressed bug), failed (one or more), or error (nothing fuzzed).</summary>
public enum CiGateStatus
{
    Running,
    Passed,
    Failed,
    Error,
}

/// <summary>
/// A CI gate on a build of a target: a short campaign on the build from the target's corpus, and the reruns of the
/// target's known bugs on it. <c>newBugs</c> and <c>regressedBugs</c> fail it; <c>knownBugs</c> (still open) and
/// <c>fixedBugs</c> (fixed in this build) are listed. Until <c>status</c> is no longer running, the lists are what is known so far.
/// </summary>
public sealed record CiGateResponse(
    string Target,
    int Build,
    string? Revision,
    string CampaignId,
    CiGateStatus Status,
    int DurationSeconds,
    IReadOnlyList<CiBugResponse> NewBugs,
    IReadOnlyList<CiBugResponse> RegressedBugs,
    IReadOnlyList<CiBugResponse> KnownBugs,
    IReadOnlyList<CiBugResponse> FixedBugs)
{
    /// <summary>Whether the upload made a new build (false: this binary was the build already).</summary>
    public bool? NewBuild { get; init; }

    /// <summary>The gate's fuzzing jobs not ended yet (waiting for a bot, or fuzzing).</summary>
    public int FuzzingJobs { get; init; }

    /// <summary>The target's campaigns still rerunning their bugs on this build.</summary>
    public int VerifyingCampaigns { get; init; }

    /// <summary>Crashes the gate's jobs reported that have not reached its campaign yet.</summary>
    public int CrashReportsInFlight { get; init; }

    /// <summary>Why the gate could not judge the build (status error).</summary>
    public string? Error { get; init; }

    /// <summary>The gate's SARIF (new, regressed and known bugs): add sourceRoot=PATH for paths relative to the checkout.</summary>
    public string SarifUrl => $"/api/v1/targets/{Uri.EscapeDataString(Target)}/ci/{CampaignId}/sarif";
}

/// <summary>One bug of a gate's verdict, with how to rerun it.</summary>
public sealed record CiBugResponse(
    string BugId,
    string CampaignId,
    string Kind,
    string CrashState,
    bool Security,
    BugStatus Status,
    ReproduceResponse? Reproduce)
{
    /// <summary>For a bug the gate found that the target had (a regression): the known bug's id.</summary>
    public string? KnownAs { get; init; }

    /// <summary>The bug's first crash: <c>pandafuzz-cmd crash repro CRASH --target ./fuzzer</c> reruns it on a local build.</summary>
    public string? CrashId { get; init; }

    public int? FixedIn { get; init; }

    public int? RegressedIn { get; init; }

    public string Url => $"/api/v1/bugs/{BugId}";

    public static CiBugResponse From(BuildGate.Line line, ReproduceCommand? reproduce)
    {
        var bug = line.Bug.Bug;
        var kind = bug.AccessSizeRange is { } sizes ? $"{bug.Leader.Identity} {sizes}" : bug.Leader.Identity;
        return new CiBugResponse(bug.Id.Value, line.Bug.Campaign.Value, kind, bug.Leader.State, bug.Security, bug.Status,
            ReproduceResponse.From(reproduce, bug.Leader.Signature))
        {
            KnownAs = line.Known?.Bug.Id.Value,
            CrashId = bug.Leader.Id.Value,
            FixedIn = bug.FixedRange.First,
            RegressedIn = bug.RegressedRange.First,
        };
    }
}
