using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PandaFuzz.Gateway;
using PandaFuzz.Gateway.Access;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Node.Observability;
using PandaFuzz.ReadModel;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>
/// The OpenAPI document a master serves at /openapi/v1.json, from its real route table (the API, health, metrics and
/// admin routes) on a real Kestrel (loopback, port 0): every mapped route is in it with its method, an operationId and
/// a summary, and every /api/v1 operation documents its problem responses as application/problem+json.
/// </summary>
public sealed class OpenApiDocumentTests : IAsyncLifetime
{
    private const string Token = MasterApiHost.Token;
    private MasterApiHost? _host;
    private WebApplication? _app;
    private string _dir = "";

    public async Task InitializeAsync()
    {
        _host = await MasterApiHost.StartAsync();
        _app = _host.App;
        _dir = _host.Dir;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task Every_mapped_route_is_in_the_document_with_an_operation_id_a_summary_and_its_problems()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_app!.Urls.Single()) };
        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        var routes = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => !e.RoutePattern.RawText!.StartsWith("/openapi", StringComparison.Ordinal) && !e.RoutePattern.RawText!.StartsWith(ApiEndpoints.DocsPath, StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (Method: m.ToLowerInvariant(), Path: Documented(e.RoutePattern.RawText!))))
            .ToList();

        routes.Should().HaveCountGreaterThan(25);
        foreach (var (method, path) in routes)
        {
            paths.TryGetProperty(path, out var item).Should().BeTrue($"{method} {path} is mapped, so the document must list it");
            item.TryGetProperty(method, out var operation).Should().BeTrue($"{method} {path} is mapped");
            operation.GetProperty("operationId").GetString().Should().NotBeNullOrEmpty();
            operation.GetProperty("summary").GetString().Should().NotBeNullOrEmpty();
            var problems = operation.GetProperty("responses").EnumerateObject().Where(r => r.Name.StartsWith('4')).ToList();
            if (path.StartsWith("/api/v1/", StringComparison.Ordinal) && !path.StartsWith("/api/v1/admin", StringComparison.Ordinal))
            {
                problems.Should().NotBeEmpty($"{method} {path} documents the 4xx problems it answers with");
            }

            if (problems.Count > 0)
            {
                problems.Select(r => r.Value.GetProperty("content").TryGetProperty("application/problem+json", out var json)).Should().OnlyContain(has => has);
            }
        }

        var documented = paths.EnumerateObject().SelectMany(p => p.Value.EnumerateObject().Select(o => (o.Name, p.Name))).ToList();
        documented.Should().BeEquivalentTo(routes.Select(r => (r.Method, r.Path)), "nothing is documented that is not mapped");
    }

    [Fact]
    public async Task Raw_bodies_are_documented_without_refusing_other_content_types()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_app!.Urls.Single()) };
        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var body = document.RootElement.GetProperty("paths").GetProperty("/api/v1/targets").GetProperty("post").GetProperty("requestBody");
        body.GetProperty("content").GetProperty("application/octet-stream").GetProperty("schema").GetProperty("format").GetString().Should().Be("binary");

        // curl --data-binary sends application/x-www-form-urlencoded: the upload still goes through.
        using var form = new ByteArrayContent("\u007fELF not really"u8.ToArray());
        form.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-www-form-urlencoded");
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        using var uploaded = await http.PostAsync("/api/v1/targets?name=curl-style", form);
        uploaded.StatusCode.Should().Be(System.Net.HttpStatusCode.Created);
    }

    [Fact]
    public async Task Writes_need_a_token_and_say_so_in_the_document_and_framework_errors_are_problems_too()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_app!.Urls.Single()) };
        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        document.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer").GetProperty("scheme").GetString().Should().Be("bearer");
        foreach (var path in paths.EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var secured = operation.Value.TryGetProperty("security", out _);
                secured.Should().Be(operation.Name is not ("get" or "head"), "{0} {1}: writes need a token, reads (by default) do not", operation.Name, path.Name);
                operation.Value.GetProperty("responses").TryGetProperty("401", out _).Should().Be(secured, "{0} {1} answers 401 exactly when it needs a token", operation.Name, path.Name);
            }
        }

        async Task<JsonElement> Problem(HttpResponseMessage response, int status, string kind)
        {
            ((int)response.StatusCode).Should().Be(status);
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            problem.GetProperty("type").GetString().Should().Be("https://pandafuzz.dev/problems/" + kind);
            problem.GetProperty("detail").GetString().Should().NotBeNullOrEmpty();
            return problem;
        }

        var target = () => new ByteArrayContent("\u007fELF not really"u8.ToArray());
        using (var anonymous = await http.PostAsync("/api/v1/targets?name=t", target()))
        {
            await Problem(anonymous, 401, "unauthorized");
            anonymous.Headers.WwwAuthenticate.ToString().Should().StartWith("Bearer");
        }

        using (var wrong = new HttpRequestMessage(HttpMethod.Post, "/api/v1/targets?name=t") { Content = target() })
        {
            wrong.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token + "x");
            using var refused = await http.SendAsync(wrong);
            await Problem(refused, 401, "unauthorized");
            refused.Headers.WwwAuthenticate.ToString().Should().Contain("invalid_token");
        }

        using (var logLevels = await http.PutAsJsonAsync("/api/v1/admin/log-levels", new { @default = "debug" }))
        {
            await Problem(logLevels, 401, "unauthorized");
        }

        using (var read = await http.GetAsync("/api/v1/admin/log-levels"))
        {
            read.StatusCode.Should().Be(System.Net.HttpStatusCode.OK, "reads need no token unless configured");
        }

        using (var right = new HttpRequestMessage(HttpMethod.Post, "/api/v1/targets?name=t") { Content = target() })
        {
            right.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
            using var accepted = await http.SendAsync(right);
            accepted.StatusCode.Should().Be(System.Net.HttpStatusCode.Created);
        }

        using (var unknown = await http.GetAsync("/api/v1/no-such-thing"))
        {
            await Problem(unknown, 404, "not-found");
        }

        using (var wrongMethod = await http.DeleteAsync("/api/v1/queue"))
        {
            await Problem(wrongMethod, 405, "method-not-allowed");
        }
    }

    [Fact]
    public async Task Create_campaign_declares_its_json_body_and_the_validation_problem_its_errors()
    {
        using var document = await Document();
        var root = document.RootElement;
        var body = root.GetProperty("paths").GetProperty("/api/v1/campaigns").GetProperty("post").GetProperty("requestBody");
        body.GetProperty("required").GetBoolean().Should().BeTrue();
        var json = body.GetProperty("content").GetProperty("application/json");
        json.GetProperty("schema").GetProperty("$ref").GetString().Should().Be("#/components/schemas/CreateCampaignRequest");
        json.GetProperty("example").GetProperty("targetId").GetString().Should().HaveLength(64);

        var schema = root.GetProperty("components").GetProperty("schemas").GetProperty("CreateCampaignRequest");
        schema.GetProperty("required").EnumerateArray().Select(r => r.GetString()).Should().BeEquivalentTo("name", "jobs", "durationSeconds");
        var jobs = schema.GetProperty("properties").GetProperty("jobs");
        jobs.GetProperty("type").EnumerateArray().Select(t => t.GetString()).Should().BeEquivalentTo(["integer", "null"], "numbers in the body are JSON numbers (\"3\" is refused)");
        jobs.GetProperty("minimum").GetInt32().Should().Be(1);
        jobs.GetProperty("maximum").GetInt32().Should().Be(CampaignRequestValidator.MaxJobs);
        foreach (var property in schema.GetProperty("properties").EnumerateObject())
        {
            property.Value.GetProperty("description").GetString().Should().NotBeNullOrEmpty(property.Name);
        }

        // The validation problem: the problem's fields, and errors mapping a field to its messages.
        var validation = root.GetProperty("components").GetProperty("schemas").GetProperty(ApiDocument.ValidationProblemSchema);
        validation.GetProperty("allOf")[0].GetProperty("$ref").GetString().Should().Be("#/components/schemas/ProblemDetails");
        var errors = validation.GetProperty("properties").GetProperty("errors");
        errors.GetProperty("type").GetString().Should().Be("object");
        errors.GetProperty("additionalProperties").GetProperty("type").GetString().Should().Be("array");
        errors.GetProperty("additionalProperties").GetProperty("items").GetProperty("type").GetString().Should().Be("string");
        foreach (var (method, path, operation) in Operations(root))
        {
            if (operation.GetProperty("responses").TryGetProperty("400", out var invalid))
            {
                invalid.GetProperty("content").GetProperty("application/problem+json").GetProperty("schema").GetProperty("$ref").GetString()
                    .Should().Be("#/components/schemas/" + ApiDocument.ValidationProblemSchema, "{0} {1}'s 400 has errors by field", method, path);
            }
        }
    }

    [Fact]
    public async Task Query_parameters_have_types_formats_and_descriptions_and_lists_their_paging_headers()
    {
        using var document = await Document();
        var lists = 0;
        foreach (var (method, path, operation) in Operations(document.RootElement))
        {
            var parameters = operation.TryGetProperty("parameters", out var p) ? p.EnumerateArray().ToDictionary(x => x.GetProperty("name").GetString()!) : [];
            foreach (var (name, parameter) in parameters.Where(x => x.Value.GetProperty("in").GetString() == "query"))
            {
                parameter.GetProperty("description").GetString().Should().NotBeNullOrEmpty("{0} {1} describes ?{2}", method, path, name);
            }

            if (parameters.TryGetValue("limit", out var limit))
            {
                lists++;
                var schema = limit.GetProperty("schema");
                schema.GetProperty("type").GetString().Should().Be("integer");
                schema.GetProperty("minimum").GetInt32().Should().Be(1);
                schema.GetProperty("maximum").GetInt32().Should().Be(Page.MaxLimit);
                schema.GetProperty("default").GetInt32().Should().Be(Page.DefaultLimit);
                var offset = parameters["offset"].GetProperty("schema");
                offset.GetProperty("type").GetString().Should().Be("integer");
                offset.GetProperty("minimum").GetInt32().Should().Be(0);
                offset.TryGetProperty("maximum", out _).Should().BeFalse();

                // A paged list: the total and the neighbouring pages are headers, the body stays an array.
                var headers = operation.GetProperty("responses").GetProperty("200").GetProperty("headers");
                headers.GetProperty("X-Total-Count").GetProperty("schema").GetProperty("type").GetString().Should().Be("integer", "{0} {1}", method, path);
                headers.GetProperty("Link").GetProperty("schema").GetProperty("type").GetString().Should().Be("string");
                headers.GetProperty("Link").GetProperty("description").GetString().Should().Contain("rel=\"next\"");
            }

            if (parameters.TryGetValue("since", out var since))
            {
                since.GetProperty("schema").GetProperty("format").GetString().Should().Be("date-time");
            }

            if (parameters.TryGetValue("security", out var security))
            {
                security.GetProperty("schema").GetProperty("type").GetString().Should().Be("boolean");
            }
        }

        lists.Should().Be(10, "the four read-model lists, the queue, a campaign's bugs and crashes, their two SARIF exports and a coverage report's files are paged");
        var crashes = document.RootElement.GetProperty("paths").GetProperty("/api/v1/crashes").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Select(x => x.GetProperty("name").GetString()).ToList();
        crashes.Should().Contain(["since", "security", "limit", "offset"]);
        var status = document.RootElement.GetProperty("paths").GetProperty("/api/v1/campaigns").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Single(x => x.GetProperty("name").GetString() == "status").GetProperty("schema");
        status.GetProperty("enum").EnumerateArray().Select(e => e.GetString()).Should().BeEquivalentTo("running", "stopping", "completed", "stopped");
    }

    [Fact]
    public async Task Operations_declare_405_413_415_binary_answers_and_an_example_each()
    {
        using var document = await Document();
        var root = document.RootElement;
        foreach (var (method, path, operation) in Operations(root))
        {
            var responses = operation.GetProperty("responses");
            responses.TryGetProperty("405", out _).Should().BeTrue("{0} {1}: another method on the path is a 405 problem", method, path);
            var hasBody = operation.TryGetProperty("requestBody", out var body);
            responses.TryGetProperty("413", out _).Should().Be(hasBody, "{0} {1}: a body may be too large", method, path);
            var boundJson = hasBody && body.GetProperty("content").TryGetProperty("application/json", out _) && !ApiDocument.HandlerReadsBody.Contains(operation.GetProperty("operationId").GetString()!);
            responses.TryGetProperty("415", out _).Should().Be(boundJson, "{0} {1}: a JSON body the framework binds refuses other types", method, path);

            var media = (hasBody ? body.GetProperty("content").EnumerateObject() : Enumerable.Empty<JsonProperty>())
                .Concat(responses.EnumerateObject().SelectMany(r => r.Value.TryGetProperty("content", out var c) ? c.EnumerateObject() : Enumerable.Empty<JsonProperty>()));
            media.Any(m => m.Value.TryGetProperty("example", out _) || m.Value.TryGetProperty("examples", out _)).Should().BeTrue("{0} {1} has an example", method, path);
        }

        var paths = root.GetProperty("paths");
        paths.GetProperty("/api/v1/admin/log-levels").GetProperty("put").GetProperty("responses").TryGetProperty("415", out _).Should().BeTrue();
        foreach (var (path, mediaType) in new[]
                 {
                     ("/api/v1/crashes/{id}/input", "application/octet-stream"), ("/api/v1/crashes/{id}/input/minimized", "application/octet-stream"),
                     ("/api/v1/campaigns/{id}/corpus/archive", "application/zip"),
                 })
        {
            var schema = paths.GetProperty(path).GetProperty("get").GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty(mediaType).GetProperty("schema");
            schema.GetProperty("type").GetString().Should().Be("string", path);
            schema.GetProperty("format").GetString().Should().Be("binary", path);
        }

        paths.GetProperty("/api/v1/campaigns/{id}/crashes.sarif").GetProperty("get").GetProperty("responses").GetProperty("200").GetProperty("content")
            .TryGetProperty("application/sarif+json", out _).Should().BeTrue();
    }

    [Fact]
    public async Task The_api_reference_page_is_served_and_the_dashboard_links_to_it()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_app!.Urls.Single()) };
        using var page = await http.GetAsync(ApiEndpoints.DocsPath);
        page.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
        page.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        var html = await page.Content.ReadAsStringAsync();
        html.Should().Contain("\"openapi/v1.json\"", "the page reads the document, from the node's root (its script resolves it there)");

        // Its script is served from the package: the page works offline.
        var script = System.Text.RegularExpressions.Regex.Match(html, "src=\"(?<src>[^\"]*scalar\\.js)\"").Groups["src"].Value;
        script.Should().NotBeNullOrEmpty("the page loads Scalar's script");
        script.Should().NotContain("//", "the script comes from the node, not a CDN");
        using var js = await http.GetAsync(new Uri(page.RequestMessage!.RequestUri!, script));
        js.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);

        var dashboard = await http.GetStringAsync("/ui/index.html");
        dashboard.Should().Contain($"href=\"{ApiEndpoints.DocsPath}\"");
    }

    /// <summary>A route as the document names its path: no trailing slash, a catch-all parameter (<c>{*path}</c>) by its name.</summary>
    private static string Documented(string route) =>
        System.Text.RegularExpressions.Regex.Replace(route.Length > 1 ? route.TrimEnd('/') : route, @"\{\*+", "{");

    private async Task<JsonDocument> Document()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_app!.Urls.Single()) };
        return JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
    }

    private static IEnumerable<(string Method, string Path, JsonElement Operation)> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject().SelectMany(p => p.Value.EnumerateObject().Select(o => (o.Name, p.Name, o.Value)));

    [Fact]
    public async Task The_document_passes_redocly_lint_with_the_shipped_rules()
    {
        var redocly = Environment.GetEnvironmentVariable("PANDAFUZZ_REDOCLY");
        File.Exists(redocly).Should().BeTrue("PANDAFUZZ_REDOCLY names @redocly/cli ('{0}'): run the tests with ops/test.sh, which installs it", redocly ?? "unset");
        using var http = new HttpClient { BaseAddress = new Uri(_app!.Urls.Single()) };
        var file = Path.Combine(_dir, "v1.json");
        await File.WriteAllTextAsync(file, await http.GetStringAsync("/openapi/v1.json"));
        var config = Path.Combine(ShippedConfigurationTests.RepositoryRoot, "ops", "redocly.yaml");

        var lint = await Run(redocly!, ["lint", "--config", config, "--format", "stylish", file]);

        lint.Code.Should().Be(0, "redocly lint reports:\n{0}", lint.Output);
    }

    private static async Task<(int Code, string Output)> Run(string tool, IEnumerable<string> args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // No telemetry and no update check: the CI machine reaches only its package registries.
        start.Environment["REDOCLY_TELEMETRY"] = "off";
        start.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }
}
