using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using PandaFuzz.Domain.Coverage;
using PandaFuzz.Protocol;
using static PandaFuzz.Gateway.ApiPlumbing;

namespace PandaFuzz.Gateway;

/// <summary>
/// The HTTP API's source coverage: a campaign's corpus measured on a bot with its build's coverage binary, the latest
/// report's totals and history, its files, and its HTML pages.
/// </summary>
public static class CoverageApi
{
    /// <summary>The report's pages run no script and load nothing but their own styles and images.</summary>
    public const string ReportPolicy = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

    public static RouteGroupBuilder MapCoverageApi(this RouteGroupBuilder v1)
    {
        var coverage = v1.MapGroup("").WithTags("coverage");
        Describe(coverage.MapPost("/campaigns/{id}/coverage", MeasureCoverage), "measureCoverage",
            "Measure a campaign's source coverage on a bot, with its build's coverage binary", 400, 404, 409);
        Describe(coverage.MapGet("/campaigns/{id}/coverage", GetCoverage), "getCoverage", "A campaign's latest source coverage and the totals before it", 404);
        Describe(coverage.MapGet("/campaigns/{id}/coverage/files", ListCoverageFiles), "listCoverageFiles",
            "The files of a campaign's latest coverage report, most uncovered lines first", 400, 404).Paged();
        Describe(coverage.MapGet("/campaigns/{id}/coverage/report/{*path}", GetReportFile), "getCoverageReportFile",
                "A file of a campaign's latest HTML coverage report (index.html without a path)", 404)
            .BinaryAnswer("The file: HTML, CSS or an image, served with a Content-Security-Policy that runs no script", "text/html");
        return v1;
    }

    private static async Task<Results<Accepted<CoverageJobResponse>, ProblemHttpResult>> MeasureCoverage(
        string id, int? timeLimitSeconds, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (timeLimitSeconds is < 10 or > 24 * 3600)
        {
            return Problems.Invalid("timeLimitSeconds", "timeLimitSeconds must be between 10 and 86400");
        }

        var reply = await Ask(api, new CampaignQueries.GetCampaign(campaignId));
        if (reply is not CampaignQueries.CampaignView { Spec: var spec })
        {
            return Problems.From(reply, "campaign", id);
        }

        if (spec.TargetName is not { } name || spec.Build is not { } number)
        {
            return ApiErrors.Result(ApiErrorKind.Conflict,
                $"campaign {id} fuzzes a binary of no named target's build: create it by target name, and upload the build's coverage binary with kind=coverage");
        }

        var build = (await TargetsApi.Builds(name, api))?.Find(number);
        if (build?.BinaryOf(TargetBinaryKinds.Coverage) is not { } coverage)
        {
            return ApiErrors.Result(ApiErrorKind.Conflict,
                $"build {number} of target {name} has no coverage binary: upload one with POST /api/v1/targets?name={Uri.EscapeDataString(name)}&kind=coverage&build={number}");
        }

        var added = await Ask(api, new CampaignCommands.MeasureCoverage(campaignId, number, coverage.Binary, timeLimitSeconds ?? 600));
        return added is CampaignCommands.JobAdded job
            ? TypedResults.Accepted($"/api/v1/jobs/{job.JobId}", new CoverageJobResponse(job.CampaignId.Value, job.JobId.Value, number))
            : Problems.From(added, "campaign", id);
    }

    private static async Task<Results<Ok<CoverageResponse>, ProblemHttpResult>> GetCoverage(string id, [AsParameters] ApiServices api)
    {
        var view = await Coverage(id, api);
        if (view is CampaignQueries.CoverageView { Latest: null, Measuring: { } measuring })
        {
            // No report yet, but one on its way: the 404 names the job to follow.
            var pending = Problems.NotFound("coverage report of campaign", id);
            pending.ProblemDetails.Extensions["measuringJobId"] = measuring.Value;
            return pending;
        }

        if (view is not CampaignQueries.CoverageView { Latest: { } latest } coverage)
        {
            return view as ProblemHttpResult ?? Problems.NotFound("coverage report of campaign", id);
        }

        var build = await MeasuredBuildAsync(coverage.CampaignId, latest, api);
        return TypedResults.Ok(CoverageResponse.From(coverage.CampaignId, latest, coverage.History, coverage.Measuring, build?.SourceRoot));
    }

    private static async Task<Results<Ok<List<CoverageFileResponse>>, ProblemHttpResult>> ListCoverageFiles(
        HttpContext context, string id, string? sort, string? limit, string? offset, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        CoverageFileOrder order;
        switch (sort)
        {
            case null or "uncovered":
                order = CoverageFileOrder.Uncovered;
                break;
            case "name":
                order = CoverageFileOrder.Name;
                break;
            default:
                return Problems.Invalid("sort", "sort must be uncovered (most uncovered lines first, the default) or name");
        }

        if (ListParameters.TryPage(limit, offset, out var page) is { } problem)
        {
            return problem;
        }

        var reply = await Ask(api, new CampaignQueries.GetCoverageFiles(campaignId, order, page.Offset, page.Limit));
        if (reply is not CampaignQueries.CoverageFiles files)
        {
            return Problems.From(reply, "coverage report of campaign", id);
        }

        var build = await Coverage(id, api) is CampaignQueries.CoverageView { Latest: { } latest } ? await MeasuredBuildAsync(campaignId, latest, api) : null;
        PageHeaders(context, page, files.Files.Count, files.Total);
        return TypedResults.Ok(files.Files.Select(f => CoverageFileResponse.From(f, build)).ToList());
    }

    /// <summary>
    /// A page of the report from its zip in the blob store. Only the report's own files are served: a path that climbs
    /// out, or names the summary beside the pages, is a 404; what is served is rendered, never run.
    /// </summary>
    private static async Task<IResult> GetReportFile(HttpContext context, string id, string? path, [AsParameters] ApiServices api)
    {
        if (CoverageArchive.HtmlEntry(path) is not { } name)
        {
            return Problems.NotFound("coverage report file", path ?? "");
        }

        // The pages link each other relatively: the index is read at report/, never at report.
        if (string.IsNullOrEmpty(path) && !context.Request.Path.Value!.EndsWith('/'))
        {
            return TypedResults.Redirect(context.Request.PathBase + context.Request.Path + "/" + context.Request.QueryString);
        }

        var view = await Coverage(id, api);
        if (view is not CampaignQueries.CoverageView { Latest: { } latest })
        {
            return view as ProblemHttpResult ?? Problems.NotFound("coverage report of campaign", id);
        }

        if (!api.Blobs.Contains(latest.Report))
        {
            return Problems.NotFound("coverage report", latest.Report.Sha256);
        }

        byte[] bytes;
        await using (var blob = api.Blobs.OpenRead(latest.Report))
        {
            using var zip = new ZipArchive(blob, ZipArchiveMode.Read);
            if (zip.GetEntry(name) is not { Length: <= CoverageArchive.MaxPageBytes } entry)
            {
                return Problems.NotFound("coverage report file", path ?? "");
            }

            await using var stream = entry.Open();
            using var copy = new MemoryStream((int)entry.Length);
            await stream.CopyToAsync(copy, api.Cancellation);
            bytes = copy.ToArray();
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ReportPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        return TypedResults.Bytes(bytes, CoverageArchive.ContentType(name));
    }

    /// <summary>The build a report measured, for its source root.</summary>
    private static async Task<TargetBuild?> MeasuredBuildAsync(CampaignId campaign, CoverageSummary latest, ApiServices api) =>
        await Ask(api, new CampaignQueries.GetCampaign(campaign)) is CampaignQueries.CampaignView view ? await TargetsApi.BuildOf(view.Spec, api, latest.Build) : null;

    /// <summary>The campaign's coverage view, or the problem (an unknown campaign).</summary>
    private static async Task<object> Coverage(string id, ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        var reply = await Ask(api, new CampaignQueries.GetCoverage(campaignId));
        return reply is CampaignQueries.CoverageView ? reply : Problems.From(reply, "campaign", id);
    }
}
