using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using PandaFuzz.Master;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;
using static PandaFuzz.Gateway.ApiPlumbing;

namespace PandaFuzz.Gateway;

/// <summary>The HTTP API's campaigns: create (with Idempotency-Key), list, one campaign with a page of its jobs, stop, stats.</summary>
public static class CampaignsApi
{
    public static RouteGroupBuilder MapCampaignsApi(this RouteGroupBuilder v1)
    {
        var campaigns = v1.MapGroup("").WithTags("campaigns");
        Describe(campaigns.MapPost("/campaigns", CreateCampaign), "createCampaign", "Create a campaign and queue its jobs (Idempotency-Key makes retries safe)", 400, 404, 409, 413)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = IdempotencyKeyHeader,
                    In = ParameterLocation.Header,
                    Required = false,
                    Description = "1-200 visible ASCII characters, e.g. a UUID: a retry with the same key and request answers the campaign the first made (Idempotent-Replayed: true); with another request, 409",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 200 },
                });
                return Task.CompletedTask;
            })
            .JsonBody<CreateCampaignRequest>(
                "The campaign: a target by name (its newest build, or build), or by binary (targetId from uploadTarget, or targets by engine for an ensemble); jobs, a duration and limits",
                new JsonObject
                {
                    ["name"] = "parser nightly", ["targetId"] = ExampleSha256, ["engine"] = "libfuzzer", ["jobs"] = 2, ["durationSeconds"] = 3600,
                    ["memoryLimitMb"] = 2048, ["timeoutMs"] = 1000,
                });
        Describe(campaigns.MapGet("/campaigns", ListCampaigns), "listCampaigns", "List campaigns (read model, paged)", 400)
            .Paged()
            .AnswerExample(StatusCodes.Status200OK, new JsonArray(new JsonObject
            {
                ["id"] = ExampleCampaignId, ["name"] = "parser nightly", ["targetId"] = ExampleSha256, ["engine"] = "libfuzzer",
                ["status"] = "running", ["jobCount"] = 2, ["crashCount"] = 1, ["createdAt"] = "2026-11-26T10:00:00+00:00", ["finishedAt"] = null,
            }));
        Describe(campaigns.MapGet("/campaigns/{id}", GetCampaign), "getCampaign", "A campaign with its jobs, stats and unique crashes", 404);
        Describe(campaigns.MapPost("/campaigns/{id}/stop", StopCampaign), "stopCampaign", "Stop a campaign", 404, 409);
        Describe(campaigns.MapPatch("/campaigns/{id}", UpdateCampaign), "updateCampaign", "Change a running campaign's priority", 400, 404, 409, 413)
            .JsonBody<UpdateCampaignRequest>("What to change: priority, 1 to 1000 (its share of free slots)", new JsonObject { ["priority"] = 5 });
        Describe(campaigns.MapPost("/campaigns/{id}/rebase", RebaseCampaign), "rebaseCampaign",
            "Move a running campaign to its target's newest build, keeping its corpus", 404, 409);
        Describe(campaigns.MapGet("/campaigns/{id}/stats", GetCampaignStats), "getCampaignStats", "A campaign's stats over time, summed over its jobs, kept after it ends", 400, 404);
        return v1;
    }

    private const string IdempotencyKeyHeader = "Idempotency-Key";

    private const string ExampleSha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    private const string ExampleCampaignId = "572ec13ff7b8";

    /// <summary>How many unique crashes a campaign's own answer lists; its crashes route pages through all of them.</summary>
    private const int DetailCrashes = 100;

    private static async Task<Results<Created<CampaignResponse>, ProblemHttpResult, ValidationProblem>> CreateCampaign(
        HttpRequest request, [AsParameters] ApiServices api)
    {
        // Idempotency-Key: the same key names the same campaign (CampaignId.ForIdempotencyKey), so a retried submit
        // gets that campaign again (201, Idempotent-Replayed: true), never a second one; the key with another request is a 409.
        string? idempotencyKey = null;
        if (request.Headers.TryGetValue(IdempotencyKeyHeader, out var keys))
        {
            idempotencyKey = keys.Count == 1 ? keys[0] : null;
            if (idempotencyKey is null || !IsIdempotencyKey(idempotencyKey))
            {
                return Problems.Invalid(IdempotencyKeyHeader, "the Idempotency-Key header must be one value of 1-200 visible ASCII characters (a UUID, say)");
            }
        }

        var (body, unreadable) = await ReadJsonAsync<CreateCampaignRequest>(request, api, "campaign request");
        if (unreadable is not null)
        {
            return unreadable;
        }

        if (body is null)
        {
            return Problems.Invalid("body", "the body must be a JSON object");
        }

        TargetBuild? build = null;
        if (body.Target is not null || body.Build is not null)
        {
            var (resolved, buildErrors) = CampaignRequestValidator.ForBuild(body, body.Target is null ? null : await TargetsApi.Builds(body.Target, api));
            if (resolved is null)
            {
                return TypedResults.ValidationProblem(buildErrors, title: "The campaign request is invalid", type: Problems.InvalidType);
            }

            (body, build) = resolved.Value;
        }

        var fuzzTarget = BundleCampaigns.TargetOf(body, build);
        if (fuzzTarget is not null)
        {
            body = await BundleCampaigns.WithDefaultsAsync(body, build!, fuzzTarget, api);
        }

        var (spec, errors) = CampaignRequestValidator.Validate(body, api.Blobs.Contains);
        if (spec is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The campaign request is invalid", type: Problems.InvalidType);
        }

        if (build is null && TargetNames.Find(api.Blobs, spec.Target) is { } targetName)
        {
            // By binary: the build that holds it, if it is one of the named target's (its bugs are then checked on later builds).
            var holder = (await TargetsApi.Builds(targetName, api))?.Builds.LastOrDefault(b => b.Binaries.Any(x => x.Binary == spec.Target));
            if (holder?.BinaryOf(TargetBinaryKinds.Bundle)?.Binary == spec.Target)
            {
                return Problems.Invalid("targetId", $"{spec.Target.Sha256} is a build bundle: name the target and its fuzz target (target, fuzzTarget) instead");
            }

            spec = spec with { TargetName = targetName, Build = holder?.Number, PinnedBuild = holder is not null, Cmplog = CmplogOf(spec, holder) };
        }
        else if (build is not null)
        {
            spec = spec with { TargetName = body.Target, Build = build.Number, PinnedBuild = body.Build is not null, Cmplog = CmplogOf(spec, build) };
            if (fuzzTarget is not null)
            {
                spec = BundleCampaigns.Runs(spec, fuzzTarget);
            }
        }

        if (await BundleCampaigns.BundleDictionariesProblemAsync(spec, build, fuzzTarget, api) is { } dictionaries)
        {
            return Problems.Invalid("engineOptions.aflplusplus.x", dictionaries);
        }

        var id = idempotencyKey is null ? CampaignId.New() : CampaignId.ForIdempotencyKey(idempotencyKey);
        if (idempotencyKey is not null && await Ask(api, new CampaignQueries.GetCampaign(id)) is CampaignQueries.CampaignView)
        {
            // A retry: the campaign answers for itself (its spec must be this request's); nothing is seeded twice.
            var again = await Ask(api, new CampaignCommands.CreateCampaign(id, spec));
            if (again is not CampaignQueries.CampaignView existing)
            {
                return again is CommandRejected { Kind: RejectionKind.Conflict }
                    ? ApiErrors.Result(ApiErrorKind.Conflict, $"the Idempotency-Key was used for another campaign request (campaign {id})",
                        errors: new Dictionary<string, string[]> { [IdempotencyKeyHeader] = ["used for another campaign request"] })
                    : Problems.From(again);
            }

            request.HttpContext.Response.Headers["Idempotent-Replayed"] = "true";
            return TypedResults.Created($"/api/v1/campaigns/{id}", await DescribeCampaign(api, existing, new Page()));
        }

        if (body.SeedCorpusId is { } seedCorpus)
        {
            // The seeds are in the campaign's corpus before its first job starts.
            if (!BlobId.TryParse(seedCorpus, out var archive) || !api.Blobs.Contains(archive))
            {
                return Problems.Invalid("seedCorpusId", $"no corpus archive {seedCorpus} has been uploaded (POST /api/v1/corpora)");
            }

            var seeded = await CorporaApi.ImportArchive(api.Blobs.PathOf(archive), id, "seed corpus", api);
            if (seeded is not CorpusCommands.CorpusChanged)
            {
                return seeded as ProblemHttpResult ?? Problems.From(seeded);
            }
        }

        // A bundle's fuzz target brings its seed corpus zip: in the corpus before the first job too.
        if (fuzzTarget is not null && await BundleCampaigns.SeedAsync(id, build!, fuzzTarget, api) is { } unseeded)
        {
            return unseeded as ProblemHttpResult ?? Problems.From(unseeded);
        }

        var reply = await Ask(api, new CampaignCommands.CreateCampaign(id, spec));
        if (reply is not CampaignQueries.CampaignView view)
        {
            return idempotencyKey is not null && reply is CommandRejected { Kind: RejectionKind.Conflict }
                ? ApiErrors.Result(ApiErrorKind.Conflict, $"the Idempotency-Key was used for another campaign request (campaign {id})",
                    errors: new Dictionary<string, string[]> { [IdempotencyKeyHeader] = ["used for another campaign request"] })
                : Problems.From(reply);
        }

        var campaign = await DescribeCampaign(api, view, new Page());
        return TypedResults.Created($"/api/v1/campaigns/{id}", campaign);
    }

    private static bool IsIdempotencyKey(string key) => key.Length is >= 1 and <= 200 && key.All(c => c is >= '!' and <= '~');

    /// <summary>From the read model (about a second behind the entities), oldest first.</summary>
    private static Results<Ok<List<CampaignSummaryResponse>>, ProblemHttpResult> ListCampaigns(
        HttpContext context, [AsParameters] ApiServices api, string? status, string? engine, string? since, string? target, string? limit, string? offset)
    {
        if (target is not null && !CampaignRequestValidator.IsValidTargetName(target))
        {
            return Problems.Invalid("target", "target must be a target's name: 1-100 characters of letters, digits, space, '.', '_' or '-'");
        }

        var problem = ListParameters.First(
            ListParameters.TryStatus<CampaignStatus>(status, out var byStatus),
            ListParameters.TryEngine(engine, out var byEngine),
            ListParameters.TrySince(since, out var bySince),
            ListParameters.TryPage(limit, offset, out var page));
        if (problem is not null)
        {
            return problem;
        }

        return ReadList(context, page, () => api.Queries.Campaigns(new CampaignFilter(byStatus, byEngine, bySince, target), page), CampaignSummaryResponse.From);
    }

    /// <summary>
    /// A campaign with a page of its jobs, its first <see cref="DetailCrashes"/> unique crashes (the rest on its crashes
    /// route) and its stats summed over every job that ran (the last figures of ended ones).
    /// </summary>
    private static async Task<Results<Ok<CampaignResponse>, ProblemHttpResult>> GetCampaign(
        string id, [AsParameters] ApiServices api, string? jobsLimit, string? jobsOffset)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (ListParameters.TryPage(jobsLimit, jobsOffset, out var jobsPage, limitName: "jobsLimit", offsetName: "jobsOffset") is { } problem)
        {
            return problem;
        }

        var reply = await Ask(api, new CampaignQueries.GetCampaign(campaignId));
        return reply is CampaignQueries.CampaignView view ? TypedResults.Ok(await DescribeCampaign(api, view, jobsPage)) : Problems.From(reply);
    }

    private static async Task<Results<Accepted<CampaignSummaryResponse>, ProblemHttpResult>> StopCampaign(string id, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        var reply = await Ask(api, new CampaignCommands.StopCampaign(campaignId));
        return reply is CampaignQueries.CampaignView view
            ? TypedResults.Accepted($"/api/v1/campaigns/{id}", CampaignSummaryResponse.From(view))
            : Problems.From(reply);
    }

    /// <summary>A running campaign's priority: the scheduler's next offers and the queue's order follow it at once.</summary>
    private static async Task<Results<Ok<CampaignResponse>, ProblemHttpResult, ValidationProblem>> UpdateCampaign(
        string id, HttpRequest request, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        var (body, unreadable) = await ReadJsonAsync<UpdateCampaignRequest>(request, api, "campaign change");
        if (unreadable is not null)
        {
            return unreadable;
        }

        if (body?.Priority is not (>= 1 and <= CampaignSpec.MaxPriority) || body.Priority is not { } priority)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["priority"] = [$"priority is required: a whole number from 1 to {CampaignSpec.MaxPriority}"] },
                title: "The campaign change is invalid", type: Problems.InvalidType);
        }

        var reply = await Ask(api, new CampaignCommands.SetCampaignPriority(campaignId, priority));
        return reply is CampaignQueries.CampaignView view ? TypedResults.Ok(await DescribeCampaign(api, view, new Page())) : Problems.From(reply, "campaign", id);
    }

    /// <summary>
    /// Moves a running campaign to its target's newest build: each engine takes its binary there, the unfinished fuzzing
    /// jobs are replaced by jobs on the new build for the time they had left, and the corpus stays.
    /// </summary>
    private static async Task<Results<Ok<CampaignResponse>, ProblemHttpResult>> RebaseCampaign(string id, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (await Ask(api, new CampaignQueries.GetCampaign(campaignId)) is not CampaignQueries.CampaignView view)
        {
            return Problems.NotFound("campaign", id);
        }

        var name = view.Spec.TargetName;
        if (name is null || await TargetsApi.Builds(name, api) is not { Newest: { } newest })
        {
            return ApiErrors.Result(ApiErrorKind.Conflict, $"campaign {id} fuzzes a binary without a named target's builds: nothing to move it to");
        }

        var engines = new List<EngineTarget>();
        foreach (var engine in view.Spec.Engines.Select(e => e.Engine).Distinct())
        {
            if (newest.FuzzingBinaryFor(engine) is not { } binary)
            {
                return ApiErrors.Result(ApiErrorKind.Conflict, $"build {newest.Number} of target {name} has no binary for {engine}, which the campaign runs");
            }

            // A campaign on a bundle's fuzz target moves only to a bundle that holds it at the same place, and a campaign on a
            // plain binary only to a plain binary: its jobs would otherwise run what is not there.
            var isBundle = binary.Kind == TargetBinaryKinds.Bundle;
            if (view.Spec.FuzzTarget is { } fuzzTarget && (!isBundle || binary.Index?.Targets.Any(t => t.Path == fuzzTarget) != true))
            {
                return ApiErrors.Result(ApiErrorKind.Conflict, $"build {newest.Number} of target {name} holds no fuzz target at '{fuzzTarget}', which the campaign runs");
            }

            if (view.Spec.FuzzTarget is null && isBundle)
            {
                return ApiErrors.Result(ApiErrorKind.Conflict,
                    $"build {newest.Number} of target {name} is a bundle and the campaign runs a plain binary: start a campaign on one of its fuzz targets (fuzzTarget) instead");
            }

            engines.Add(new EngineTarget(engine, binary.Binary));
        }

        var jobs = await Task.WhenAll(view.JobIds.Select(j => Ask(api, new JobQueries.GetJob(j))));
        var started = jobs.OfType<JobQueries.JobView>()
            .Where(j => j.StartedAt is not null && j.Status is JobStatus.Running or JobStatus.Assigned)
            .ToDictionary(j => j.Id.Value, j => j.StartedAt!.Value);
        var reply = await Ask(api, new CampaignCommands.RebaseCampaign(campaignId, newest.Number, engines, started, CmplogOf(view.Spec, newest)));
        return reply is CampaignQueries.CampaignView rebased ? TypedResults.Ok(await DescribeCampaign(api, rebased, new Page())) : Problems.From(reply);
    }

    /// <summary>
    /// The campaign's jobs' series summed per step, from the stats store: the same for a running campaign, a finished
    /// one and after a restart. Without a read model (an in-memory journal), the jobs' recent samples in memory.
    /// </summary>
    private static async Task<Results<Ok<StatsSeriesResponse>, ProblemHttpResult>> GetCampaignStats(
        string id, string? from, string? to, int? step, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (await Ask(api, new CampaignQueries.GetCampaign(campaignId)) is not CampaignQueries.CampaignView view)
        {
            return Problems.NotFound("campaign", id);
        }

        if (ListParameters.TryStatsRange(from, to, step, view.CreatedAt, view.FinishedAt ?? DateTimeOffset.UtcNow, api.Settings, out var range) is { } problem)
        {
            return problem;
        }

        try
        {
            var steps = api.Queries.Stats.Campaign(campaignId, range.From, range.To, range.Step);
            return TypedResults.Ok(new StatsSeriesResponse(id, [.. steps.Select(s => StatsResponse.Aggregate(s.Jobs.Select(j => j.Stats)) with { UpdatedAt = s.At })]));
        }
        catch (System.Data.Common.DbException)
        {
        }

        var replies = await Task.WhenAll(view.JobIds.Select(j => Ask(api, new JobQueries.GetJobStatsSeries(j))));
        var bucket = api.Settings.StatsSeriesInterval.Ticks;
        var points = replies.OfType<JobQueries.JobStatsSeries>()
            .SelectMany(s => s.Points)
            .GroupBy(p => p.At.UtcTicks / bucket)
            .OrderBy(g => g.Key)
            .Select(g => StatsResponse.Aggregate(g) with { UpdatedAt = new DateTimeOffset(g.Key * bucket, TimeSpan.Zero) })
            .ToList();
        return TypedResults.Ok(new StatsSeriesResponse(id, points));
    }

    /// <summary>
    /// Jobs are read from the read model in one query; only those not pending, or not there yet, are asked of their
    /// entities for live state, so a campaign whose jobs wait in a long queue costs no ask per waiting job.
    /// </summary>
    internal static async Task<CampaignResponse> DescribeCampaign(
        ApiServices api, CampaignQueries.CampaignView view, Page jobsPage)
    {
        var pageIds = view.JobIds.Skip(jobsPage.Offset).Take(jobsPage.Limit).ToList();
        var onPage = pageIds.ToHashSet();
        var rows = new Dictionary<JobId, JobRow>();
        try
        {
            foreach (var chunk in view.JobIds.Chunk(Page.MaxLimit))
            {
                foreach (var (job, row) in api.Queries.JobsById(chunk))
                {
                    rows[job] = row;
                }
            }
        }
        catch (System.Data.Common.DbException)
        {
            // The read model cannot be read: the page's jobs are asked of their entities, as a job it lacks is.
        }

        var toAsk = view.JobIds.Where(j => rows.TryGetValue(j, out var row) ? row.Status != JobStatus.Pending : onPage.Contains(j)).ToList();
        var jobsTask = Task.WhenAll(toAsk.Select(j => Ask(api, new JobQueries.GetJob(j))));
        var crashesTask = Ask(api, new CampaignQueries.GetCampaignCrashes(view.Id, 0, DetailCrashes));
        var bugsTask = Ask(api, new CampaignQueries.GetCampaignBugs(view.Id, 0, DetailCrashes));
        var views = (await jobsTask).OfType<JobQueries.JobView>().ToDictionary(v => v.Id);
        var crashes = await crashesTask as CampaignQueries.CampaignCrashes;
        var bugs = await bugsTask as CampaignQueries.CampaignBugs;
        var jobs = pageIds
            .Select(j => views.TryGetValue(j, out var live) ? JobResponse.From(live) : rows.TryGetValue(j, out var row) ? JobResponse.From(row) : null)
            .OfType<JobResponse>()
            .ToList();
        var spec = view.Spec;
        return new CampaignResponse(view.Id.Value, spec.Name, spec.Target.Sha256, spec.Engine,
            spec.Engines.ToDictionary(e => e.Engine, e => e.Target.Sha256), spec.Jobs, spec.DurationSeconds, spec.MemoryLimitMb,
            spec.TimeoutMs, spec.Dictionary, view.Status, view.CreatedAt, view.FinishedAt,
            jobs,
            // Every job that ran counts its last figures: a stopped campaign's cancelled jobs too, not 0.
            StatsResponse.Aggregate(views.Values.Where(j => j.Status is not (JobStatus.Pending or JobStatus.Assigned)).Select(j => j.Stats)),
            crashes is null ? [] : [.. crashes.Crashes.Select((c, i) => CrashSummaryResponse.From(c, crashes.BugIds?[i]))])
        {
            JobsTotal = view.JobIds.Count,
            CrashesTotal = crashes?.Total ?? 0,
            Bugs = [.. (bugs?.Bugs ?? []).Select(BugResponse.From)],
            BugsTotal = bugs?.Total ?? 0,
            TargetName = spec.TargetName,
            Build = spec.Build,
            BuildPinned = spec.PinnedBuild,
            EngineOptions = EngineOptionsModel.ToSections(spec.Options),
            Priority = spec.Priority,
            FuzzTarget = spec.FuzzTarget is { } fuzzTarget ? Path.GetFileName(fuzzTarget) : null,
        };
    }

    /// <summary>The build's CMPLOG binary, for a campaign with AFL++ jobs (some of its secondaries run it).</summary>
    internal static BlobId? CmplogOf(CampaignSpec spec, TargetBuild? build) =>
        spec.Engines.Any(e => e.Engine == EngineNames.AflPlusPlus) ? build?.BinaryOf(TargetBinaryKinds.Cmplog)?.Binary : null;
}
