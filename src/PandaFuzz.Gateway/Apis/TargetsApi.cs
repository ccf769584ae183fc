using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using PandaFuzz.Domain.Targets;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Bundles;
using PandaFuzz.Protocol;
using static PandaFuzz.Gateway.ApiPlumbing;

namespace PandaFuzz.Gateway;

/// <summary>
/// The HTTP API's targets: a named target has numbered builds, each with its binaries by kind (a fuzzing binary for
/// any engine or for one, a coverage or CMPLOG build), stored by their sha256.
/// </summary>
public static class TargetsApi
{
    public static RouteGroupBuilder MapTargetsApi(this RouteGroupBuilder v1)
    {
        var targets = v1.MapGroup("/targets").WithTags("targets");
        Describe(targets.MapPost("", UploadTarget), "uploadTarget",
                "Upload a target binary or a build bundle (zip or tar.gz of fuzz targets, shared libraries, .options, seed corpora, dictionaries): a new build of the named target, or another binary of one",
                400, 404, 409, 413)
            .BinaryBody("The target binary as built, or a build bundle (zip or tar.gz)", Binary, Archive, "application/gzip");
        Describe(targets.MapGet("/{name}/builds", ListBuilds), "listTargetBuilds", "List a target's builds, oldest first", 404);
        Describe(targets.MapGet("/{name}/builds/{build}", GetBuild), "getTargetBuild", "Get one build of a target, with what its bundle holds", 404);
        Describe(targets.MapPost("/{name}/builds/{build}/verify", VerifyBuild), "verifyTargetBuild",
            "Rerun the open, fixed and regressed bugs of every campaign on the target against a build", 404);
        return v1;
    }

    private static async Task<Results<Created<TargetResponse>, ProblemHttpResult>> UploadTarget(
        HttpRequest request, string? name, string? kind, string? revision, string? createdAt, string? build, string? sourceRoot, [AsParameters] ApiServices api)
    {
        var (added, stored, problem) = await AddBinaryAsync(request, name, kind, revision, createdAt, build, sourceRoot, api);
        if (added is null)
        {
            return problem!;
        }

        // 201 whether the build is new or not (newBuild says), as before builds: scripts check for it.
        return TypedResults.Created($"/api/v1/targets/{Uri.EscapeDataString(name!)}/builds/{added.Build.Number}",
            TargetResponse.From(name!, added.Build, stored!) with { NewBuild = added.Created });
    }

    /// <summary>
    /// Stores the body as a binary of <paramref name="kind"/> of the named target (a new build, or <paramref name="build"/>):
    /// without a kind, a zip or tar.gz body is a build bundle (checked and indexed first) and anything else a fuzzing
    /// binary. Asks the target's campaigns to rerun their known bugs on a new fuzzing binary (fixed, still open, regressed).
    /// </summary>
    internal static async Task<(TargetCommands.TargetBinaryAdded? Added, string? Kind, ProblemHttpResult? Problem)> AddBinaryAsync(
        HttpRequest request, string? name, string? kind, string? revision, string? createdAt, string? build, string? sourceRoot, ApiServices api)
    {
        if (!CampaignRequestValidator.IsValidTargetName(name))
        {
            return (null, kind, Problems.Invalid("name", "the query parameter name is required: 1-100 characters of letters, digits, space, '.', '_' or '-'"));
        }

        if (kind is not null && !TargetBinaryKinds.Known.Contains(kind))
        {
            return (null, kind, Problems.Invalid("kind", $"kind must be one of: {string.Join(", ", TargetBinaryKinds.Known)}"));
        }

        if (revision is not null && !IsRevision(revision))
        {
            return (null, kind, Problems.Invalid("revision", "revision must be 1-200 visible ASCII characters (a git commit, a tag, a version)"));
        }

        if (sourceRoot is not null && !CrashSarif.IsSourceRoot(sourceRoot))
        {
            return (null, kind, Problems.Invalid("sourceRoot", CrashSarif.SourceRootRule));
        }

        if (ListParameters.TryTime("createdAt", createdAt, out var builtAt) is { } badTime)
        {
            return (null, kind, badTime);
        }

        int? buildNumber = null;
        if (build is not null)
        {
            if (!int.TryParse(build, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1)
            {
                return (null, kind, Problems.Invalid("build", "build must be the number of an existing build of the target: a whole number, 1 or more"));
            }

            buildNumber = number;
        }

        // A file of this request's own, checked whole before anything is stored: a refused bundle leaves no blob and no build.
        var received = await ReceiveBody(request, api.Blobs, api.Settings.MaxTargetBytes, api.Cancellation);
        if (received is not (string temp, long _))
        {
            return (null, kind, (ProblemHttpResult)received);
        }

        BlobId id;
        long size;
        BundleIndex? index = null;
        try
        {
            var bundle = BundleArchive.IsBundle(temp);
            if (bundle && kind is not (null or TargetBinaryKinds.Bundle))
            {
                return (null, kind, Problems.Invalid("kind", $"a zip or tar.gz body is a build bundle: upload it without kind or with kind={TargetBinaryKinds.Bundle}"));
            }

            if (!bundle && kind == TargetBinaryKinds.Bundle)
            {
                return (null, kind, Problems.Invalid("body", $"kind={TargetBinaryKinds.Bundle} takes a zip or tar.gz: {BundleIndexer.Holds}"));
            }

            kind ??= bundle ? TargetBinaryKinds.Bundle : TargetBinaryKinds.Fuzzer;
            if (bundle)
            {
                try
                {
                    index = await BundleArchive.IndexAsync(temp, BundleArchive.Limits(api.Settings.MaxTargetBytes), api.Cancellation);
                }
                catch (InvalidDataException e)
                {
                    return (null, kind, Problems.Invalid("body", $"the bundle is refused: {e.Message}"));
                }
            }

            await using var body = File.OpenRead(temp);
            (id, size) = await api.Blobs.PutAsync(body, api.Settings.MaxTargetBytes, api.Cancellation);
        }
        finally
        {
            File.Delete(temp);
        }

        TargetNames.Remember(api.Blobs, id, name!);
        var reply = await Ask(api, new TargetCommands.AddTargetBinary(name!, new TargetBinary(kind, id, size) { Index = index }, revision, builtAt, buildNumber, sourceRoot));
        if (reply is not TargetCommands.TargetBinaryAdded added)
        {
            return (null, kind, Problems.From(reply));
        }

        // A new fuzzing binary: the target's known bugs are rerun on it (fixed, still open, regressed).
        if (added.Build.BinaryOf(kind) is { } stored && stored.Binary == id && kind is not (TargetBinaryKinds.Coverage or TargetBinaryKinds.Cmplog))
        {
            await Verify(name!, added.Build, api);
        }

        return (added, kind, null);
    }

    private static async Task<Results<Ok<List<TargetBuildResponse>>, ProblemHttpResult>> ListBuilds(string name, [AsParameters] ApiServices api)
    {
        if (await Builds(name, api) is not { Builds.Count: > 0 } builds)
        {
            return Problems.NotFound("target", name);
        }

        return TypedResults.Ok(builds.Builds.Select(TargetBuildResponse.From).ToList());
    }

    private static async Task<Results<Ok<TargetBuildResponse>, ProblemHttpResult>> GetBuild(string name, string build, [AsParameters] ApiServices api)
    {
        if (!int.TryParse(build, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || await Builds(name, api) is not { } builds || builds.Find(number) is not { } found)
        {
            return Problems.NotFound("build", $"{name}/{build}");
        }

        return TypedResults.Ok(TargetBuildResponse.From(found));
    }

    private static async Task<Results<Accepted<BuildVerificationResponse>, ProblemHttpResult>> VerifyBuild(string name, string build, [AsParameters] ApiServices api)
    {
        if (!int.TryParse(build, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || await Builds(name, api) is not { } builds || builds.Find(number) is not { } found)
        {
            return Problems.NotFound("build", $"{name}/{build}");
        }

        return TypedResults.Accepted($"/api/v1/targets/{Uri.EscapeDataString(name)}/builds/{number}", await Verify(name, found, api));
    }

    /// <summary>
    /// Asks each campaign on the target (from the read model, about a second behind) to rerun its bugs on the build;
    /// a campaign that already checked them there adds no job.
    /// </summary>
    internal static async Task<BuildVerificationResponse> Verify(string name, TargetBuild build, ApiServices api)
    {
        var campaigns = new List<CampaignVerificationResponse>();
        IReadOnlyList<CampaignId> onTarget;
        try
        {
            onTarget = api.Queries.CampaignsOfTarget(name);
        }
        catch (System.Data.Common.DbException)
        {
            // The read model cannot be read: the upload stands; POST …/verify checks the bugs later.
            return new BuildVerificationResponse(name, build.Number, []);
        }

        foreach (var campaign in onTarget)
        {
            var reply = await Ask(api, new CampaignCommands.VerifyBugs(campaign, build));
            campaigns.Add(reply is CampaignCommands.VerificationsAdded added
                ? new CampaignVerificationResponse(campaign.Value, [.. added.Jobs.Select(j => j.Value)], null)
                : new CampaignVerificationResponse(campaign.Value, [], reply is CommandRejected r ? r.Reason : "the campaign did not answer"));
        }

        return new BuildVerificationResponse(name, build.Number, campaigns);
    }

    /// <summary>The target's builds; null for a name no target can have (nothing to ask).</summary>
    /// <summary>The build <paramref name="number"/> of the campaign's target (by default the one it fuzzes), if it fuzzes a named target's build.</summary>
    internal static async Task<TargetBuild?> BuildOf(CampaignSpec spec, ApiServices api, int? number = null) =>
        spec is { TargetName: { } name, Build: { } current } ? (await Builds(name, api))?.Find(number ?? current) : null;

    internal static async Task<TargetQueries.TargetBuilds?> Builds(string name, ApiServices api) =>
        CampaignRequestValidator.IsValidTargetName(name) && await Ask(api, new TargetQueries.GetTargetBuilds(name)) is TargetQueries.TargetBuilds builds
            ? builds
            : null;

    private static bool IsRevision(string revision) => revision.Length is >= 1 and <= 200 && revision.All(c => c is >= '!' and <= '~');
}
