using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using PandaFuzz.Gateway.Access;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>The HTTP API, version 1: minimal APIs that validate, ask the gateway actor, and shape the answer.</summary>
public static class ApiEndpoints
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Request bodies as the document describes them: numbers are numbers ("3" is refused, not read as 3).</summary>
    private static readonly JsonSerializerOptions StrictJson = new(JsonSerializerOptions.Web) { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict };

    public static IEndpointRouteBuilder MapPandaFuzzApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi();
        var access = app.ServiceProvider.GetRequiredService<ApiAccess>();
        var api = app.MapGroup("/api/v1").ProducesProblem(StatusCodes.Status503ServiceUnavailable).RequireApiToken(access);
        const string Binary = "application/octet-stream";
        const string Archive = "application/zip";

        Describe(api.MapPost("/targets", UploadTarget), "uploadTarget", "Upload a target binary", "targets", 400, 413)
            .BinaryBody("The target binary, as built", Binary);
        Describe(api.MapPost("/campaigns", CreateCampaign), "createCampaign", "Create a campaign and queue its jobs (Idempotency-Key makes retries safe)", "campaigns", 400, 404, 409, 413)
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
            });
        Describe(api.MapGet("/campaigns", ListCampaigns), "listCampaigns", "List campaigns (read model, paged)", "campaigns", 400);
        Describe(api.MapGet("/campaigns/{id}", GetCampaign), "getCampaign", "A campaign with its jobs, stats and unique crashes", "campaigns", 404);
        Describe(api.MapPost("/campaigns/{id}/stop", StopCampaign), "stopCampaign", "Stop a campaign", "campaigns", 404, 409);
        Describe(api.MapGet("/campaigns/{id}/crashes", ListCrashes), "listCampaignCrashes", "A campaign's unique crashes", "crashes", 404);
        Describe(api.MapGet("/campaigns/{id}/crashes.sarif", ExportCrashesAsSarif), "exportCampaignCrashesAsSarif", "A campaign's unique crashes as SARIF 2.1.0", "crashes", 404)
            .Produces(StatusCodes.Status200OK, contentType: CrashSarif.MediaType);
        Describe(api.MapGet("/campaigns/{id}/crash-inputs/{sha256}", GetCrashInputStatus), "getCrashInputStatus", "Whether a campaign counted a crash input", "crashes", 404);
        Describe(api.MapGet("/crashes", ListAllCrashes), "listCrashes", "List unique crashes of every campaign (read model, paged)", "crashes", 400);
        Describe(api.MapGet("/crashes/{id}", GetCrash), "getCrash", "A unique crash in full", "crashes", 404);
        Describe(api.MapGet("/crashes/{id}/input", (string id, IRequiredActor<GatewayActor> gateway, ContentAddressedStore blobs, CancellationToken ct) =>
            GetCrashInput(id, minimized: false, gateway, blobs, ct)), "getCrashInput", "The first sample input's bytes", "crashes", 404)
            .Produces(StatusCodes.Status200OK, contentType: Binary);
        Describe(api.MapGet("/crashes/{id}/input/minimized", (string id, IRequiredActor<GatewayActor> gateway, ContentAddressedStore blobs, CancellationToken ct) =>
            GetCrashInput(id, minimized: true, gateway, blobs, ct)), "getMinimizedCrashInput", "The minimized input's bytes", "crashes", 404)
            .Produces(StatusCodes.Status200OK, contentType: Binary);
        Describe(api.MapGet("/jobs", ListJobs), "listJobs", "List jobs (read model, paged)", "jobs", 400);
        Describe(api.MapGet("/jobs/{id}", GetJob), "getJob", "A job with its live stats", "jobs", 404);
        Describe(api.MapGet("/jobs/{id}/stats", GetJobStats), "getJobStats", "A job's stats over time", "jobs", 404);
        Describe(api.MapPost("/jobs/{id}/cancel", CancelJob), "cancelJob", "Cancel a job", "jobs", 404, 409);
        Describe(api.MapGet("/campaigns/{id}/stats", GetCampaignStats), "getCampaignStats", "A campaign's stats over time, summed over its jobs", "campaigns", 404);
        Describe(api.MapGet("/bots", ListBots), "listBots", "List bots (read model, live fields from each bot)", "bots", 400);
        Describe(api.MapGet("/bots/{id}", GetBot), "getBot", "One bot", "bots", 404);
        Describe(api.MapPost("/bots/{id}/drain", (string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct) => SetDraining(id, true, gateway, ct)),
            "drainBot", "Drain a bot: no new job, its running jobs finish", "bots", 404);
        Describe(api.MapPost("/bots/{id}/resume", (string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct) => SetDraining(id, false, gateway, ct)),
            "resumeBot", "Put a drained bot back to work", "bots", 404);
        Describe(api.MapGet("/queue", GetQueue), "getQueue", "Pending jobs in order, with positions and ETAs (paged)", "jobs", 400);
        Describe(api.MapPost("/corpora", UploadCorpus), "uploadCorpus", "Upload a seed corpus archive (zip, tar, tar.gz)", "corpora", 400, 413)
            .BinaryBody("A zip, tar or tar.gz archive of inputs", Archive, "application/x-tar", "application/gzip");
        Describe(api.MapPost("/campaigns/{id}/corpus", AddToCorpus), "addToCorpus", "Add an archive's inputs to a campaign's corpus", "corpora", 400, 404, 413)
            .BinaryBody("A zip, tar or tar.gz archive of inputs", Archive, "application/x-tar", "application/gzip");
        Describe(api.MapGet("/campaigns/{id}/corpus", GetCorpus), "getCorpus", "A campaign's corpus versions", "corpora", 404);
        Describe(api.MapGet("/campaigns/{id}/corpus/archive", DownloadCorpus), "downloadCorpus", "A campaign's current corpus as a zip", "corpora", 404)
            .Produces(StatusCodes.Status200OK, contentType: Archive);
        Describe(api.MapPost("/campaigns/{id}/corpus/minimize", MinimizeCorpus), "minimizeCorpus", "Minimize a campaign's corpus on a bot", "corpora", 400, 404, 409);
        return app;
    }

    /// <summary>
    /// Documents a raw request body. Only in the document: <c>Accepts</c> would also make routing refuse any other
    /// content type with 415, and <c>curl --data-binary</c> sends its form type by default.
    /// </summary>
    private static RouteHandlerBuilder BinaryBody(this RouteHandlerBuilder route, string description, params string[] mediaTypes) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = description,
                Content = mediaTypes.ToDictionary(m => m, _ => new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } }),
            };
            return Task.CompletedTask;
        });

    /// <summary>Names an operation for the OpenAPI document (operationId, summary, tag) and lists the problems it may answer with.</summary>
    private static RouteHandlerBuilder Describe(RouteHandlerBuilder route, string operationId, string summary, string tag, params int[] problems)
    {
        route.WithName(operationId).WithSummary(summary).WithTags(tag);
        foreach (var status in problems)
        {
            route.ProducesProblem(status);
        }

        return route;
    }

    private static async Task<Results<Created<TargetResponse>, ProblemHttpResult>> UploadTarget(
        HttpRequest request, string? name, ContentAddressedStore blobs, MasterSettings settings, CancellationToken ct)
    {
        if (!CampaignRequestValidator.IsValidTargetName(name))
        {
            return Problems.Invalid("name", "the query parameter name is required: 1-100 characters of letters, digits, space, '.', '_' or '-'");
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = settings.MaxTargetBytes;
        }

        try
        {
            var (id, size) = await blobs.PutAsync(request.Body, settings.MaxTargetBytes, ct);
            if (size == 0)
            {
                return Problems.Invalid("body", "the body must hold the target binary");
            }

            TargetNames.Remember(blobs, id, name!);
            return TypedResults.Created($"/api/v1/targets/{id}", new TargetResponse(id.Sha256, name!, size));
        }
        catch (Exception e) when (e is BlobTooLargeException or BadHttpRequestException)
        {
            return Problems.TooLarge($"a target may be at most {settings.MaxTargetBytes} bytes");
        }
    }

    private static async Task<Results<Created<CampaignResponse>, ProblemHttpResult, ValidationProblem>> CreateCampaign(
        HttpRequest request, ContentAddressedStore blobs, IRequiredActor<GatewayActor> gateway, ReadModelQueries queries, MasterSettings settings, CancellationToken ct)
    {
        // Idempotency-Key: the same key names the same campaign (CampaignId.ForIdempotencyKey), so a retry of a submit
        // whose answer was lost gets that campaign again (201, Idempotent-Replayed: true), never a second one; the key
        // with another request is a 409.
        string? idempotencyKey = null;
        if (request.Headers.TryGetValue(IdempotencyKeyHeader, out var keys))
        {
            idempotencyKey = keys.Count == 1 ? keys[0] : null;
            if (idempotencyKey is null || !IsIdempotencyKey(idempotencyKey))
            {
                return Problems.Invalid(IdempotencyKeyHeader, "the Idempotency-Key header must be one value of 1-200 visible ASCII characters (a UUID, say)");
            }
        }

        CreateCampaignRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<CreateCampaignRequest>(request.Body, StrictJson, ct);
        }
        catch (JsonException e)
        {
            // By the field's path, never the exception's text (it names .NET types).
            var (field, message) = ApiErrors.JsonField(e);
            return Problems.Invalid(field, $"the body is not a valid campaign request: {message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problems.TooLarge($"a campaign request may be at most {settings.MaxJsonBytes} bytes (pandafuzz.master.api.max-json-size)");
        }

        if (body is null)
        {
            return Problems.Invalid("body", "the body must be a JSON object");
        }

        var (spec, errors) = CampaignRequestValidator.Validate(body, blobs.Contains);
        if (spec is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The campaign request is invalid", type: Problems.InvalidType);
        }

        spec = spec with { TargetName = TargetNames.Find(blobs, spec.Target) };
        var id = idempotencyKey is null ? CampaignId.New() : CampaignId.ForIdempotencyKey(idempotencyKey);
        if (idempotencyKey is not null && await Ask(gateway, new CampaignQueries.GetCampaign(id), ct) is CampaignQueries.CampaignView)
        {
            // A retry: the campaign answers for itself (its spec must be this request's); nothing is seeded twice.
            var again = await Ask(gateway, new CampaignCommands.CreateCampaign(id, spec), ct);
            if (again is not CampaignQueries.CampaignView existing)
            {
                return again is CommandRejected { Kind: RejectionKind.Conflict }
                    ? ApiErrors.Result(ApiErrorKind.Conflict, $"the Idempotency-Key was used for another campaign request (campaign {id})",
                        errors: new Dictionary<string, string[]> { [IdempotencyKeyHeader] = ["used for another campaign request"] })
                    : Problems.From(again);
            }

            request.HttpContext.Response.Headers["Idempotent-Replayed"] = "true";
            return TypedResults.Created($"/api/v1/campaigns/{id}", await Describe(gateway, queries, existing, new Page(), ct));
        }

        if (body.SeedCorpusId is { } seedCorpus)
        {
            // The seeds are in the campaign's corpus before its first job starts.
            if (!BlobId.TryParse(seedCorpus, out var archive) || !blobs.Contains(archive))
            {
                return Problems.Invalid("seedCorpusId", $"no corpus archive {seedCorpus} has been uploaded (POST /api/v1/corpora)");
            }

            var seeded = await ImportArchive(blobs.PathOf(archive), id, "seed corpus", blobs, gateway, ct);
            if (seeded is not CorpusCommands.CorpusChanged)
            {
                return seeded as ProblemHttpResult ?? Problems.From(seeded);
            }
        }

        var reply = await Ask(gateway, new CampaignCommands.CreateCampaign(id, spec), ct);
        if (reply is not CampaignQueries.CampaignView view)
        {
            return idempotencyKey is not null && reply is CommandRejected { Kind: RejectionKind.Conflict }
                ? ApiErrors.Result(ApiErrorKind.Conflict, $"the Idempotency-Key was used for another campaign request (campaign {id})",
                    errors: new Dictionary<string, string[]> { [IdempotencyKeyHeader] = ["used for another campaign request"] })
                : Problems.From(reply);
        }

        var campaign = await Describe(gateway, queries, view, new Page(), ct);
        return TypedResults.Created($"/api/v1/campaigns/{id}", campaign);
    }

    private const string IdempotencyKeyHeader = "Idempotency-Key";

    private static bool IsIdempotencyKey(string key) => key.Length is >= 1 and <= 200 && key.All(c => c is >= '!' and <= '~');

    /// <summary>Campaigns from the read model (about a second behind the entities), oldest first, filtered and paged.</summary>
    private static Results<Ok<List<CampaignSummaryResponse>>, ProblemHttpResult> ListCampaigns(
        HttpContext context, ReadModelQueries queries, string? status, string? engine, string? since, string? limit, string? offset)
    {
        var problem = ListParameters.First(
            ListParameters.TryStatus<CampaignStatus>(status, out var byStatus),
            ListParameters.TryEngine(engine, out var byEngine),
            ListParameters.TrySince(since, out var bySince),
            ListParameters.TryPage(limit, offset, out var page));
        if (problem is not null)
        {
            return problem;
        }

        return ReadList(context, page, () => queries.Campaigns(new CampaignFilter(byStatus, byEngine, bySince), page), CampaignSummaryResponse.From);
    }

    /// <summary>
    /// A campaign with a page of its jobs (<c>jobsLimit</c>, default 100, <c>jobsOffset</c>; <c>jobsTotal</c> counts them
    /// all), its first <see cref="DetailCrashes"/> unique crashes (<c>crashesTotal</c>; the rest on its crashes route) and
    /// its stats summed over its running and completed jobs.
    /// </summary>
    private static async Task<Results<Ok<CampaignResponse>, ProblemHttpResult>> GetCampaign(
        string id, IRequiredActor<GatewayActor> gateway, ReadModelQueries queries, string? jobsLimit, string? jobsOffset, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (ListParameters.TryPage(jobsLimit, jobsOffset, out var jobsPage, limitName: "jobsLimit", offsetName: "jobsOffset") is { } problem)
        {
            return problem;
        }

        var reply = await Ask(gateway, new CampaignQueries.GetCampaign(campaignId), ct);
        return reply is CampaignQueries.CampaignView view ? TypedResults.Ok(await Describe(gateway, queries, view, jobsPage, ct)) : Problems.From(reply);
    }

    private static async Task<Results<Accepted<CampaignSummaryResponse>, ProblemHttpResult>> StopCampaign(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        var reply = await Ask(gateway, new CampaignCommands.StopCampaign(campaignId), ct);
        return reply is CampaignQueries.CampaignView view
            ? TypedResults.Accepted($"/api/v1/campaigns/{id}", CampaignSummaryResponse.From(view))
            : Problems.From(reply);
    }

    /// <summary>A page of the campaign's unique crashes, first seen first (<c>limit</c>, <c>offset</c>, <c>X-Total-Count</c>, <c>Link</c>).</summary>
    private static async Task<Results<Ok<List<CrashSummaryResponse>>, ProblemHttpResult>> ListCrashes(
        HttpContext context, string id, IRequiredActor<GatewayActor> gateway, string? limit, string? offset, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (ListParameters.TryPage(limit, offset, out var page) is { } problem)
        {
            return problem;
        }

        var reply = await Ask(gateway, new CampaignQueries.GetCampaignCrashes(campaignId, page.Offset, page.Limit), ct);
        if (reply is not CampaignQueries.CampaignCrashes crashes)
        {
            return Problems.From(reply);
        }

        PageHeaders(context, page, crashes.Crashes.Count, crashes.Total);
        return TypedResults.Ok(crashes.Crashes.Select(CrashSummaryResponse.From).ToList());
    }

    /// <summary>Whether the campaign counted a crash input: lets an operator check that a file a fuzzer wrote was reported.</summary>
    private static async Task<Results<Ok<CrashInputResponse>, ProblemHttpResult>> GetCrashInputStatus(
        string id, string sha256, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (!BlobId.TryParse(sha256, out var input))
        {
            return Problems.Invalid("sha256", "the crash input's SHA-256, 64 lowercase hex digits");
        }

        var reply = await Ask(gateway, new CampaignQueries.GetCrashInput(campaignId, input), ct);
        return reply switch
        {
            CampaignQueries.CrashInputStatus { Counted: true } status => TypedResults.Ok(new CrashInputResponse(status.Input.Sha256, true)),
            CampaignQueries.CrashInputStatus => Problems.NotFound("crash input", sha256),
            _ => Problems.From(reply),
        };
    }

    /// <summary>
    /// The campaign's unique crashes as SARIF 2.1.0, for SARIF viewers and code-scanning uploads: up to 1,000 a document
    /// (<c>limit</c>, default and most 1,000, <c>offset</c>; <c>X-Total-Count</c> and <c>Link</c> as every list).
    /// </summary>
    private static async Task<IResult> ExportCrashesAsSarif(
        HttpContext context, string id, IRequiredActor<GatewayActor> gateway, string? limit, string? offset, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (ListParameters.TryPage(limit, offset, out var page, defaultLimit: Page.MaxLimit) is { } problem)
        {
            return problem;
        }

        var campaign = await Ask(gateway, new CampaignQueries.GetCampaign(campaignId), ct);
        if (campaign is not CampaignQueries.CampaignView view)
        {
            return Problems.From(campaign);
        }

        var reply = await Ask(gateway, new CampaignQueries.GetCampaignCrashes(campaignId, page.Offset, page.Limit), ct);
        if (reply is not CampaignQueries.CampaignCrashes crashes)
        {
            return Problems.From(reply);
        }

        PageHeaders(context, page, crashes.Crashes.Count, crashes.Total);
        return TypedResults.Text(CrashSarif.Build(view, crashes.Crashes).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), CrashSarif.MediaType);
    }

    private static async Task<Results<Ok<CrashResponse>, ProblemHttpResult>> GetCrash(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        var crash = await FindCrash(id, gateway, ct);
        return crash is CampaignQueries.CrashView view ? TypedResults.Ok(CrashResponse.From(view.Crash)) : Problems.From(crash, "crash", id);
    }

    /// <summary>The first sample input of a unique crash, or its minimized input (404 until minimization succeeded).</summary>
    private static async Task<IResult> GetCrashInput(string id, bool minimized, IRequiredActor<GatewayActor> gateway, ContentAddressedStore blobs, CancellationToken ct)
    {
        var crash = await FindCrash(id, gateway, ct);
        if (crash is not CampaignQueries.CrashView view)
        {
            return Problems.From(crash, "crash", id);
        }

        var unique = view.Crash;
        var input = minimized ? unique.Minimization?.Input : unique.Samples.Count > 0 ? unique.Samples[0] : null;
        if (input is null)
        {
            return Problems.NotFound(minimized ? "minimized crash input" : "crash input", id);
        }

        var name = minimized ? $"minimized-{unique.Signature}" : unique.First.Finding.ArtifactName;
        return blobs.Contains(input)
            ? TypedResults.File(blobs.OpenRead(input), "application/octet-stream", name)
            : Problems.NotFound("crash input", input.Sha256);
    }

    private static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetJob(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!JobId.TryParse(id, out var jobId))
        {
            return Problems.NotFound("job", id);
        }

        var reply = await Ask(gateway, new JobQueries.GetJob(jobId), ct);
        return reply is JobQueries.JobView view ? TypedResults.Ok(JobResponse.From(view)) : Problems.From(reply);
    }

    private static async Task<Results<Ok<StatsSeriesResponse>, ProblemHttpResult>> GetJobStats(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!JobId.TryParse(id, out var jobId))
        {
            return Problems.NotFound("job", id);
        }

        var reply = await Ask(gateway, new JobQueries.GetJobStatsSeries(jobId), ct);
        return reply is JobQueries.JobStatsSeries series
            ? TypedResults.Ok(new StatsSeriesResponse(id, [.. series.Points.Select(p => StatsResponse.From(p)!)]))
            : Problems.From(reply);
    }

    /// <summary>The campaign's jobs' series summed per interval: what a plot of the whole campaign needs.</summary>
    private static async Task<Results<Ok<StatsSeriesResponse>, ProblemHttpResult>> GetCampaignStats(
        string id, IRequiredActor<GatewayActor> gateway, MasterSettings settings, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (await Ask(gateway, new CampaignQueries.GetCampaign(campaignId), ct) is not CampaignQueries.CampaignView view)
        {
            return Problems.NotFound("campaign", id);
        }

        var replies = await Task.WhenAll(view.JobIds.Select(j => Ask(gateway, new JobQueries.GetJobStatsSeries(j), ct)));
        var bucket = settings.StatsSeriesInterval.Ticks;
        var points = replies.OfType<JobQueries.JobStatsSeries>()
            .SelectMany(s => s.Points)
            .GroupBy(p => p.At.UtcTicks / bucket)
            .OrderBy(g => g.Key)
            .Select(g => StatsResponse.Aggregate(g) with { UpdatedAt = new DateTimeOffset(g.Key * bucket, TimeSpan.Zero) })
            .ToList();
        return TypedResults.Ok(new StatsSeriesResponse(id, points));
    }

    /// <summary>Bots from the read model, by id, filtered and paged.</summary>
    /// <summary>
    /// The read model picks, filters and pages the bots; each listed bot's entity then answers with what only it knows
    /// live — its last check-in and the jobs it reported — since check-ins are not journaled. A bot whose entity does
    /// not answer in time is shown as the read model has it.
    /// </summary>
    private static async Task<Results<Ok<List<BotResponse>>, ProblemHttpResult>> ListBots(
        HttpContext context, ReadModelQueries queries, IRequiredActor<GatewayActor> gateway,
        string? status, string? engine, string? limit, string? offset, CancellationToken ct)
    {
        var problem = ListParameters.First(
            ListParameters.TryStatus<BotStatus>(status, out var byStatus),
            ListParameters.TryEngine(engine, out var byEngine),
            ListParameters.TryPage(limit, offset, out var page));
        if (problem is not null)
        {
            return problem;
        }

        var listed = ReadList(context, page, () => queries.Bots(new BotFilter(byStatus, byEngine), page), row => row);
        if (listed.Result is not Ok<List<BotRow>> { Value: { } rows })
        {
            return (ProblemHttpResult)listed.Result;
        }

        var bots = await Task.WhenAll(rows.Select(async row =>
            await Ask(gateway, new BotQueries.GetBot(row.Id), ct) is BotQueries.BotView view ? BotResponse.From(view) : BotResponse.From(row)));
        return TypedResults.Ok(bots.ToList());
    }

    private static async Task<Results<Ok<BotResponse>, ProblemHttpResult>> GetBot(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!BotId.TryParse(id, out var botId))
        {
            return Problems.NotFound("bot", id);
        }

        var reply = await Ask(gateway, new BotQueries.GetBot(botId), ct);
        return reply is BotQueries.BotView view ? TypedResults.Ok(BotResponse.From(view)) : Problems.From(reply, "bot", id);
    }

    /// <summary>Drains a bot (no new job; its running jobs finish) or puts it back to work.</summary>
    private static async Task<Results<Ok<BotResponse>, ProblemHttpResult>> SetDraining(string id, bool draining, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!BotId.TryParse(id, out var botId))
        {
            return Problems.NotFound("bot", id);
        }

        var reply = await Ask(gateway, new BotCommands.SetDraining(botId, draining), ct);
        return reply is BotQueries.BotView view ? TypedResults.Ok(BotResponse.From(view)) : Problems.From(reply, "bot", id);
    }

    /// <summary>Cancels one job: a pending job never runs, a running one is stopped on its bot; a finished job is a conflict.</summary>
    private static async Task<Results<Accepted<JobResponse>, ProblemHttpResult>> CancelJob(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!JobId.TryParse(id, out var jobId))
        {
            return Problems.NotFound("job", id);
        }

        var reply = await Ask(gateway, new JobCommands.CancelJob(jobId, "cancelled by an operator"), ct);
        if (reply is not JobCommands.JobCommandAccepted)
        {
            return Problems.From(reply, "job", id);
        }

        return await Ask(gateway, new JobQueries.GetJob(jobId), ct) is JobQueries.JobView view
            ? TypedResults.Accepted($"/api/v1/jobs/{id}", JobResponse.From(view))
            : Problems.From(new Unavailable("the job did not answer after its cancellation"));
    }

    /// <summary>
    /// A page of the scheduler's queue in order (<c>limit</c>, default 100, and <c>offset</c>, as every list), each pending
    /// job with its position and an estimate of when a slot frees up for it: now while bots have free slots, else the
    /// planned ends of the running jobs, earliest first. The jobs' details come from the read model in one query; only a
    /// job it does not hold yet (created within the last second or so) is asked of its entity.
    /// </summary>
    private static async Task<Results<Ok<QueueResponse>, ProblemHttpResult>> GetQueue(
        HttpContext context, IRequiredActor<GatewayActor> gateway, ReadModelQueries queries, string? limit, string? offset, CancellationToken ct)
    {
        if (ListParameters.TryPage(limit, offset, out var page) is { } problem)
        {
            return problem;
        }

        if (await Ask(gateway, new SchedulerMessages.GetQueue(page.Offset, page.Limit), ct) is not SchedulerMessages.QueueView queue)
        {
            return Problems.From(new Unavailable("the scheduler did not answer in time"));
        }

        var now = DateTimeOffset.UtcNow;
        IReadOnlyDictionary<JobId, JobRow> rows;
        IReadOnlyList<DateTimeOffset> running;
        try
        {
            rows = queries.JobsById(queue.Pending);
            running = queries.RunningJobEnds(now);
        }
        catch (System.Data.Common.DbException e)
        {
            return Problems.From(new Unavailable($"the read model cannot be read: {e.Message}"));
        }

        var missing = queue.Pending.Where(j => !rows.ContainsKey(j)).ToList();
        var asked = (await Task.WhenAll(missing.Select(j => Ask(gateway, new JobQueries.GetJob(j), ct)))).OfType<JobQueries.JobView>().ToDictionary(v => v.Id);
        var entries = new List<QueueEntryResponse>();
        for (var i = 0; i < queue.Pending.Count; i++)
        {
            var job = queue.Pending[i];
            var position = page.Offset + i;
            var slotsAhead = position - queue.FreeSlots;
            DateTimeOffset? eta = slotsAhead < 0 ? now : slotsAhead < running.Count ? running[slotsAhead] : null;
            entries.Add(rows.TryGetValue(job, out var row)
                ? new QueueEntryResponse(position + 1, job.Value, row.CampaignId.Value, row.Engine, row.CreatedAt, eta)
                : asked.TryGetValue(job, out var view)
                    ? new QueueEntryResponse(position + 1, job.Value, view.CampaignId.Value, view.Engine, view.CreatedAt, eta)
                    : new QueueEntryResponse(position + 1, job.Value, null, null, null, eta));
        }

        PageHeaders(context, page, entries.Count, queue.Total);
        return TypedResults.Ok(new QueueResponse(entries, queue.BotsKnown, queue.FreeSlots, queue.Total));
    }

    /// <summary>Jobs from the read model, oldest first, filtered and paged; live stats are on <c>GET /api/v1/jobs/{id}</c>.</summary>
    private static Results<Ok<List<JobResponse>>, ProblemHttpResult> ListJobs(
        HttpContext context, ReadModelQueries queries, string? campaign, string? status, string? engine, string? bot, string? since, string? limit, string? offset)
    {
        var problem = ListParameters.First(
            ListParameters.TryId<CampaignId>("campaign", campaign, CampaignId.TryParse, out var byCampaign),
            ListParameters.TryStatus<JobStatus>(status, out var byStatus),
            ListParameters.TryEngine(engine, out var byEngine),
            ListParameters.TryId<BotId>("bot", bot, BotId.TryParse, out var byBot),
            ListParameters.TrySince(since, out var bySince),
            ListParameters.TryPage(limit, offset, out var page));
        if (problem is not null)
        {
            return problem;
        }

        return ReadList(context, page, () => queries.Jobs(new JobFilter(byCampaign, byStatus, byEngine, byBot, bySince), page), JobResponse.From);
    }

    /// <summary>Unique crashes of every campaign from the read model, by first report, filtered and paged.</summary>
    private static Results<Ok<List<CrashSummaryResponse>>, ProblemHttpResult> ListAllCrashes(
        HttpContext context, ReadModelQueries queries, string? campaign, string? kind, string? security, string? since, string? limit, string? offset)
    {
        var problem = ListParameters.First(
            ListParameters.TryId<CampaignId>("campaign", campaign, CampaignId.TryParse, out var byCampaign),
            ListParameters.TryKind(kind, out var byKind),
            ListParameters.TryFlag("security", security, out var bySecurity),
            ListParameters.TrySince(since, out var bySince),
            ListParameters.TryPage(limit, offset, out var page));
        if (problem is not null)
        {
            return problem;
        }

        return ReadList(context, page, () => queries.Crashes(new CrashFilter(byCampaign, byKind, bySecurity, bySince), page), CrashSummaryResponse.From);
    }

    /// <summary>
    /// Runs a list query and keeps the body a plain array, as before paging: the total goes in <c>X-Total-Count</c>
    /// and the neighbouring pages in <c>Link</c> (rel next, prev).
    /// </summary>
    private static Results<Ok<List<TResponse>>, ProblemHttpResult> ReadList<TRow, TResponse>(
        HttpContext context, Page page, Func<Paged<TRow>> query, Func<TRow, TResponse> map)
    {
        Paged<TRow> rows;
        try
        {
            rows = query();
        }
        catch (System.Data.Common.DbException e)
        {
            return Problems.From(new Unavailable($"the read model cannot be read: {e.Message}"));
        }

        PageHeaders(context, page, rows.Items.Count, rows.Total);

        return TypedResults.Ok(rows.Items.Select(map).ToList());
    }

    /// <summary>A page's <c>X-Total-Count</c> and its <c>Link</c> to the next and previous pages, as every paged list has.</summary>
    private static void PageHeaders(HttpContext context, Page page, int count, long total)
    {
        var headers = context.Response.Headers;
        headers["X-Total-Count"] = total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var links = new List<string>();
        if (page.Offset + count < total)
        {
            links.Add($"<{PageLink(context.Request, page.Limit, page.Offset + page.Limit)}>; rel=\"next\"");
        }

        if (page.Offset > 0)
        {
            links.Add($"<{PageLink(context.Request, page.Limit, Math.Max(0, page.Offset - page.Limit))}>; rel=\"prev\"");
        }

        if (links.Count > 0)
        {
            headers.Link = string.Join(", ", links);
        }
    }

    private static string PageLink(HttpRequest request, int limit, int offset)
    {
        var query = request.Query
            .Where(q => q.Key is not ("limit" or "offset"))
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
            .Append(new KeyValuePair<string, string?>("limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Append(new KeyValuePair<string, string?>("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return request.PathBase + request.Path + QueryString.Create(query);
    }

    private static async Task<Results<Created<CorpusArchiveResponse>, ProblemHttpResult>> UploadCorpus(
        HttpRequest request, string? name, ContentAddressedStore blobs, MasterSettings settings, CancellationToken ct)
    {
        if (!CampaignRequestValidator.IsValidTargetName(name))
        {
            return Problems.Invalid("name", "the query parameter name is required: 1-100 characters of letters, digits, space, '.', '_' or '-'");
        }

        // The archive is read from a file of this request's own: a blob of the store may be shared by a concurrent upload
        // of the same bytes, so it is never read half-checked nor deleted because this request's copy was refused.
        var received = await ReceiveBody(request, blobs, settings.MaxTargetBytes, ct);
        if (received is not (string temp, long size))
        {
            return (ProblemHttpResult)received;
        }

        int entries;
        try
        {
            // Checked whole, its inputs staged and dropped: only the archive is kept (a campaign seeded with it imports them).
            using (var staged = await CorpusArchive.ImportAsync(temp, blobs, "upload", CorpusArchive.Default, ct))
            {
                entries = staged.Entries.Count;
            }

            await using var archiveFile = File.OpenRead(temp);
            var (archive, _) = await blobs.PutAsync(archiveFile, settings.MaxTargetBytes, ct);
            return TypedResults.Created($"/api/v1/corpora/{archive}", new CorpusArchiveResponse(archive.Sha256, name!, size, entries));
        }
        catch (InvalidDataException e)
        {
            return Problems.Invalid("body", e.Message);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static async Task<Results<Ok<CorpusResponse>, ProblemHttpResult>> AddToCorpus(
        string id, HttpRequest request, ContentAddressedStore blobs, MasterSettings settings, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId) || await Ask(gateway, new CampaignQueries.GetCampaign(campaignId), ct) is not CampaignQueries.CampaignView)
        {
            return Problems.NotFound("campaign", id);
        }

        var received = await ReceiveBody(request, blobs, settings.MaxTargetBytes, ct);
        if (received is not (string temp, long _))
        {
            return (ProblemHttpResult)received;
        }

        object changed;
        try
        {
            changed = await ImportArchive(temp, campaignId, "upload", blobs, gateway, ct);
        }
        finally
        {
            File.Delete(temp);
        }

        if (changed is not CorpusCommands.CorpusChanged)
        {
            return changed as ProblemHttpResult ?? Problems.From(changed);
        }

        return await GetCorpus(id, gateway, ct);
    }

    private static async Task<Results<Ok<CorpusResponse>, ProblemHttpResult>> GetCorpus(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId) || await Ask(gateway, new CampaignQueries.GetCampaign(campaignId), ct) is not CampaignQueries.CampaignView)
        {
            return Problems.NotFound("campaign", id);
        }

        var reply = await Ask(gateway, new CorpusQueries.GetCorpusSummary(campaignId), ct);
        return reply is CorpusQueries.CorpusSummary summary ? TypedResults.Ok(CorpusResponse.From(summary)) : Problems.From(reply);
    }

    /// <summary>
    /// The campaign's current corpus as a zip: built once per corpus state and kept (<see cref="CorpusArchiveCache"/>), so
    /// a GET, which needs no token where reads are open, costs a summary ask and a file read.
    /// </summary>
    private static async Task<IResult> DownloadCorpus(string id, IRequiredActor<GatewayActor> gateway, CorpusArchiveCache archives, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId) || await Ask(gateway, new CampaignQueries.GetCampaign(campaignId), ct) is not CampaignQueries.CampaignView)
        {
            return Problems.NotFound("campaign", id);
        }

        if (await Ask(gateway, new CorpusQueries.GetCorpusSummary(campaignId), ct) is not CorpusQueries.CorpusSummary summary)
        {
            return Problems.From(new Unavailable("the corpus did not answer in time"));
        }

        try
        {
            // The read serves every request waiting for this build, not only this one: each of its asks has its own timeout.
            var (zip, version) = await archives.OpenAsync(campaignId, summary.Version, summary.Count, () => ReadCorpusAsync(gateway, campaignId, CancellationToken.None));
            return TypedResults.File(zip, "application/zip", $"corpus-{campaignId}-v{version}.zip");
        }
        catch (InvalidOperationException e)
        {
            return Problems.From(new Unavailable(e.Message));
        }
    }

    /// <summary>One version of a corpus, read page by page, so a corpus replaced meanwhile is not mixed with the old one.</summary>
    private static async Task<(int Version, IReadOnlyList<CorpusEntry> Entries)?> ReadCorpusAsync(IRequiredActor<GatewayActor> gateway, CampaignId campaignId, CancellationToken ct)
    {
        var entries = new List<CorpusEntry>();
        var version = 0;
        while (true)
        {
            if (await Ask(gateway, new CorpusQueries.GetCorpusPage(campaignId, version, entries.Count, 500), ct) is not CorpusQueries.CorpusPage page)
            {
                return null;
            }

            if (page.Version != version)
            {
                version = page.Version;
                entries.Clear();
            }

            entries.AddRange(page.Entries);
            if (page.Entries.Count == 0 || entries.Count >= page.Total)
            {
                return (version, entries);
            }
        }
    }

    private static async Task<Results<Accepted<MinimizationResponse>, ProblemHttpResult>> MinimizeCorpus(
        string id, int? timeLimitSeconds, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (timeLimitSeconds is < 10 or > 24 * 3600)
        {
            return Problems.Invalid("timeLimitSeconds", "timeLimitSeconds must be between 10 and 86400");
        }

        var reply = await Ask(gateway, new CampaignCommands.MinimizeCorpus(campaignId, timeLimitSeconds ?? 600), ct);
        return reply is CampaignCommands.JobAdded added
            ? TypedResults.Accepted($"/api/v1/jobs/{added.JobId}", new MinimizationResponse(added.CampaignId.Value, added.JobId.Value))
            : Problems.From(reply, "campaign", id);
    }

    /// <summary>Writes a request body to a temporary file of its own (at most <paramref name="limit"/> bytes): its path and size, or the problem.</summary>
    private static async Task<object> ReceiveBody(HttpRequest request, ContentAddressedStore blobs, long limit, CancellationToken ct)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        var temp = blobs.NewTempFile();
        try
        {
            long size = 0;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                var buffer = new byte[64 * 1024];
                int read;
                while ((read = await request.Body.ReadAsync(buffer, ct)) > 0)
                {
                    size += read;
                    if (size > limit)
                    {
                        throw new BlobTooLargeException(limit);
                    }

                    await file.WriteAsync(buffer.AsMemory(0, read), ct);
                }
            }

            if (size == 0)
            {
                File.Delete(temp);
                return Problems.Invalid("body", "the body is empty");
            }

            return (temp, size);
        }
        catch (Exception e) when (e is BlobTooLargeException or BadHttpRequestException)
        {
            File.Delete(temp);
            return Problems.TooLarge($"the body may be at most {limit} bytes");
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Reads an archive into the blob store and adds its inputs to the campaign's corpus.</summary>
    private static async Task<object> ImportArchive(string path, CampaignId campaign, string source, ContentAddressedStore blobs, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        CorpusArchive.StagedCorpus staged;
        try
        {
            staged = await CorpusArchive.ImportAsync(path, blobs, source, CorpusArchive.Default, ct);
        }
        catch (InvalidDataException e)
        {
            return Problems.Invalid("body", e.Message);
        }

        using (staged)
        {
            // Blobs first, then the entries that refer to them.
            staged.Commit();
            return await Ask(gateway, new CorpusCommands.AddCorpusEntries(campaign, staged.Entries), ct);
        }
    }

    private static async Task<object> FindCrash(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct) =>
        CrashId.TryParse(id, out var crashId)
            ? await Ask(gateway, new CampaignQueries.GetCrash(crashId.Campaign, crashId), ct)
            : new CommandRejected($"crash {id} not found", RejectionKind.NotFound);

    /// <summary>How many unique crashes a campaign's own answer lists; its crashes route pages through all of them.</summary>
    private const int DetailCrashes = 100;

    /// <summary>
    /// A campaign's answer. Its jobs are read from the read model in one query; only the jobs it says are not pending (a
    /// campaign has at most a few hundred, and a bot runs few at once) and those it does not hold yet are asked of their
    /// entities, for their live state and stats: a campaign whose jobs wait in a long queue costs no ask per waiting job.
    /// </summary>
    private static async Task<CampaignResponse> Describe(
        IRequiredActor<GatewayActor> gateway, ReadModelQueries queries, CampaignQueries.CampaignView view, Page jobsPage, CancellationToken ct)
    {
        var pageIds = view.JobIds.Skip(jobsPage.Offset).Take(jobsPage.Limit).ToList();
        var onPage = pageIds.ToHashSet();
        var rows = new Dictionary<JobId, JobRow>();
        try
        {
            foreach (var chunk in view.JobIds.Chunk(Page.MaxLimit))
            {
                foreach (var (job, row) in queries.JobsById(chunk))
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
        var jobsTask = Task.WhenAll(toAsk.Select(j => Ask(gateway, new JobQueries.GetJob(j), ct)));
        var crashesTask = Ask(gateway, new CampaignQueries.GetCampaignCrashes(view.Id, 0, DetailCrashes), ct);
        var views = (await jobsTask).OfType<JobQueries.JobView>().ToDictionary(v => v.Id);
        var crashes = await crashesTask as CampaignQueries.CampaignCrashes;
        var jobs = pageIds
            .Select(j => views.TryGetValue(j, out var live) ? JobResponse.From(live) : rows.TryGetValue(j, out var row) ? JobResponse.From(row) : null)
            .OfType<JobResponse>()
            .ToList();
        var spec = view.Spec;
        return new CampaignResponse(view.Id.Value, spec.Name, spec.Target.Sha256, spec.Engine,
            spec.Engines.ToDictionary(e => e.Engine, e => e.Target.Sha256), spec.Jobs, spec.DurationSeconds, spec.MemoryLimitMb,
            spec.TimeoutMs, spec.Dictionary, view.Status, view.CreatedAt, view.FinishedAt,
            jobs,
            StatsResponse.Aggregate(views.Values.Where(j => j.Status is JobStatus.Running or JobStatus.Completed).Select(j => j.Stats)),
            [.. (crashes?.Crashes ?? []).Select(CrashSummaryResponse.From)])
        {
            JobsTotal = view.JobIds.Count,
            CrashesTotal = crashes?.Total ?? 0,
        };
    }

    /// <summary>Asks through the gateway actor; an unreachable master becomes a rejection the edge maps to 503.</summary>
    private static async Task<object> Ask(IRequiredActor<GatewayActor> gateway, object message, CancellationToken ct)
    {
        try
        {
            var actor = await gateway.GetAsync(ct);
            return await actor.Ask<object>(message, AskTimeout, ct);
        }
        catch (AskTimeoutException)
        {
            return new Unavailable("the master did not answer in time");
        }
    }

    /// <summary>An answer that never came.</summary>
    internal sealed record Unavailable(string Reason);
}
