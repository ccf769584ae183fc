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

/// <summary>The HTTP API, version 1: minimal APIs that validate, ask the gateway actor, and shape the answer. The routes and what they share are here; each resource's handlers are in a part of their own (ApiEndpoints.*.cs).</summary>
public static partial class ApiEndpoints
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
        Describe(api.MapGet("/campaigns/{id}/bugs", ListBugs), "listCampaignBugs", "A campaign's bugs (unique crashes grouped), each with its crashes", "bugs", 404);
        Describe(api.MapGet("/bugs/{id}", GetBug), "getBug", "A bug with its crashes", "bugs", 404);
        Describe(api.MapGet("/campaigns/{id}/bugs.sarif", ExportBugsAsSarif), "exportCampaignBugsAsSarif", "A campaign's bugs as SARIF 2.1.0, one result per bug", "bugs", 404)
            .Produces(StatusCodes.Status200OK, contentType: CrashSarif.MediaType);
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
