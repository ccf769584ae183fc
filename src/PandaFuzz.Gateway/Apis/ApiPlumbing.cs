using System.Text.Json;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.OpenApi;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>What the API's handlers share: asking the gateway actor, paged lists, request bodies, the OpenAPI description of a route.</summary>
internal static class ApiPlumbing
{
    internal const string Binary = "application/octet-stream";
    internal const string Archive = "application/zip";

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Request bodies as the document describes them: numbers are numbers ("3" is refused, not read as 3).</summary>
    internal static readonly JsonSerializerOptions StrictJson = new(JsonSerializerOptions.Web) { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict };

    /// <summary>Names an operation for the OpenAPI document (its tag is its resource group's) and lists the problems it may answer with.</summary>
    internal static RouteHandlerBuilder Describe(RouteHandlerBuilder route, string operationId, string summary, params int[] problems)
    {
        route.WithName(operationId).WithSummary(summary);
        foreach (var status in problems)
        {
            route.ProducesProblem(status);
        }

        return route;
    }

    /// <summary>
    /// A JSON body read strictly: its value (null for a JSON null), or the problem: a 400 naming the field that broke it
    /// (never the exception's text, which names .NET types) or a 413 past <c>pandafuzz.master.api.max-json-size</c>.
    /// </summary>
    internal static async Task<(TBody? Body, ProblemHttpResult? Problem)> ReadJsonAsync<TBody>(HttpRequest request, ApiServices api, string what)
        where TBody : class
    {
        try
        {
            return (await System.Text.Json.JsonSerializer.DeserializeAsync<TBody>(request.Body, StrictJson, api.Cancellation), null);
        }
        catch (System.Text.Json.JsonException e)
        {
            var (field, message) = ApiErrors.JsonField(e);
            return (null, Problems.Invalid(field, $"the body is not a valid {what}: {message}"));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Problems.TooLarge($"a {what} may be at most {api.Settings.MaxJsonBytes} bytes (pandafuzz.master.api.max-json-size)"));
        }
    }

    /// <summary>Only in the document: <c>Accepts</c> would make routing refuse other content types with 415, and <c>curl --data-binary</c> sends a form type.</summary>
    internal static RouteHandlerBuilder BinaryBody(this RouteHandlerBuilder route, string description, params string[] mediaTypes) =>
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

    /// <summary>
    /// Documents a JSON body the handler reads itself, so a bad field is a problem naming it. Only in the document,
    /// like <see cref="BinaryBody"/>.
    /// </summary>
    internal static RouteHandlerBuilder JsonBody<TBody>(this RouteHandlerBuilder route, string description, System.Text.Json.Nodes.JsonNode example, bool required = true) =>
        route.AddOpenApiOperationTransformer(async (operation, context, ct) =>
        {
            var name = typeof(TBody).Name;
            var schema = await context.GetOrCreateSchemaAsync(typeof(TBody), cancellationToken: ct);
            context.Document!.AddComponent(name, schema);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = required,
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = new OpenApiSchemaReference(name, context.Document), Example = example },
                },
            };
        });

    /// <summary>Documents a non-JSON 200: bytes, or an object for a JSON document of its own type such as SARIF.</summary>
    internal static RouteHandlerBuilder BinaryAnswer(this RouteHandlerBuilder route, string description, string mediaType, bool bytes = true) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Responses ??= [];
            operation.Responses["200"] = new OpenApiResponse
            {
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    [mediaType] = new() { Schema = bytes ? new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } : new OpenApiSchema { Type = JsonSchemaType.Object, Description = description } },
                },
            };
            return Task.CompletedTask;
        });

    internal static RouteHandlerBuilder AnswerExample(this RouteHandlerBuilder route, int status, System.Text.Json.Nodes.JsonNode example) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.Responses?.GetValueOrDefault(status.ToString(System.Globalization.CultureInfo.InvariantCulture)) is OpenApiResponse { Content: { } content }
                && content.TryGetValue("application/json", out var json))
            {
                json.Example = example;
            }

            return Task.CompletedTask;
        });

    /// <summary>Documents a paged list's <c>X-Total-Count</c> and <c>Link</c> headers.</summary>
    internal static RouteHandlerBuilder Paged(this RouteHandlerBuilder route) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.Responses?.GetValueOrDefault("200") is OpenApiResponse ok)
            {
                ok.Headers ??= new Dictionary<string, IOpenApiHeader>();
                ok.Headers["X-Total-Count"] = new OpenApiHeader
                {
                    Description = "How many items match, over all pages",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0" },
                    Example = 1234,
                };
                ok.Headers["Link"] = new OpenApiHeader
                {
                    Description = "The next and previous pages (RFC 8288, rel=\"next\" and rel=\"prev\"), when there are any; the same query with another offset",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                    Example = "</api/v1/campaigns?limit=100&offset=200>; rel=\"next\", </api/v1/campaigns?limit=100&offset=0>; rel=\"prev\"",
                };
            }

            return Task.CompletedTask;
        });

    /// <summary>Keeps the body a plain array: the total goes in <c>X-Total-Count</c>, the neighbouring pages in <c>Link</c>.</summary>
    internal static Results<Ok<List<TResponse>>, ProblemHttpResult> ReadList<TRow, TResponse>(
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

    internal static void PageHeaders(HttpContext context, Page page, int count, long total)
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

    internal static string PageLink(HttpRequest request, int limit, int offset)
    {
        var query = request.Query
            .Where(q => q.Key is not ("limit" or "offset"))
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
            .Append(new KeyValuePair<string, string?>("limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Append(new KeyValuePair<string, string?>("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return request.PathBase + request.Path + QueryString.Create(query);
    }

    /// <summary>Writes a request body to a temporary file of its own, at most <paramref name="limit"/> bytes: its path and size, or the problem.</summary>
    internal static async Task<object> ReceiveBody(HttpRequest request, ContentAddressedStore blobs, long limit, CancellationToken ct)
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
    internal static async Task<object> Ask(ApiServices api, object message)
    {
        try
        {
            var actor = await api.Gateway.GetAsync(api.Cancellation);
            return await actor.Ask<object>(message, AskTimeout, api.Cancellation);
        }
        catch (AskTimeoutException)
        {
            return new Unavailable("the master did not answer in time");
        }
    }

    internal sealed record Unavailable(string Reason);
}
