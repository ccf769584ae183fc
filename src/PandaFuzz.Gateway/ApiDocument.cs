using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>
/// What the OpenAPI document says beyond the routes' signatures: query parameters (bound as text and checked by
/// <see cref="ListParameters"/>, so a bad value is a problem naming its field), the validation problem's
/// <c>errors</c>, the answers every route may give (405, 413, 415) and an example per operation.
/// </summary>
public static class ApiDocument
{
    public const string ValidationProblemSchema = "ValidationProblem";
    public const string ProblemSchema = "ProblemDetails";

    /// <summary>Operations whose handler reads its JSON body itself (so a bad field is a problem naming it): no 415.</summary>
    public static readonly IReadOnlySet<string> HandlerReadsBody = new HashSet<string> { "createCampaign", "triageBug" };

    private static readonly string[] Engines = [.. EngineNames.Known];

    /// <summary>The item a path's <c>{id}</c> names, by the path's first segment, for a 404's example.</summary>
    private static readonly Dictionary<string, string> Resources = new()
    {
        ["campaigns"] = "campaign", ["crashes"] = "crash", ["bugs"] = "bug", ["jobs"] = "job", ["bots"] = "bot", ["targets"] = "target",
    };

    private static readonly Dictionary<string, Func<string, (OpenApiSchema Schema, string Description)?>> QueryParameters = new()
    {
        ["limit"] = _ => (Page(), $"How many items a page holds: a whole number from 1 to {ReadModel.Page.MaxLimit} (default {ReadModel.Page.DefaultLimit})"),
        ["offset"] = _ => (Skip(), "How many items to skip before the page: a whole number, 0 or more (default 0)"),
        ["jobsLimit"] = _ => (Page(), $"How many of the campaign's jobs the answer lists: 1 to {ReadModel.Page.MaxLimit} (default {ReadModel.Page.DefaultLimit}; jobsTotal counts them all)"),
        ["jobsOffset"] = _ => (Skip(), "How many of the campaign's jobs to skip before the page (default 0)"),
        ["since"] = operation => (new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
            (operation == "listCrashes" ? "Only crashes last seen at or after this time" : "Only items created at or after this time")
            + ", ISO-8601 with a date (2026-11-26T10:00:00Z; without an offset it is UTC)"),
        ["security"] = _ => (new OpenApiSchema { Type = JsonSchemaType.Boolean }, "true: only crashes with a security impact (memory corruption); false: only those without"),
        ["engine"] = operation => (Enum(Engines), operation switch
        {
            "listCampaigns" => "Only campaigns that run this engine (any engine of an ensemble)",
            "listBots" => "Only bots that run this engine",
            "startCiGate" => "The engine the gate fuzzes with (default libfuzzer)",
            _ => "Only jobs of this engine",
        }),
        ["status"] = operation => operation switch
        {
            "listCampaignBugs" => (Enum(Names<BugStatus>()), "Only bugs in this state"),
            "listCampaigns" => (Enum(Names<CampaignStatus>()), "Only campaigns in this state"),
            "listJobs" => (Enum(Names<JobStatus>()), "Only jobs in this state"),
            "listBots" => (Enum(Names<BotStatus>()), "Only bots in this state"),
            _ => null,
        },
        ["timeLimitSeconds"] = operation => (new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "10", Maximum = "86400", Default = 600 },
            $"How long the {(operation == "measureCoverage" ? "coverage measurement" : "minimization")} may run on its bot, in seconds: 10 to 86400 (default 600)"),
        ["sort"] = _ => (Enum(["uncovered", "name"]), "uncovered: the files with the most uncovered lines first (the default); name: by path"),
        ["campaign"] = _ => (new OpenApiSchema { Type = JsonSchemaType.String }, "Only items of this campaign (its id)"),
        ["bot"] = _ => (new OpenApiSchema { Type = JsonSchemaType.String }, "Only jobs this bot holds or ran (its id)"),
        ["bugId"] = _ => (new OpenApiSchema { Type = JsonSchemaType.String }, "Only the crashes of this bug (any member's id of it)"),
        ["kind"] = operation => operation == "uploadTarget"
            ? (Enum([.. TargetBinaryKinds.Known]), "What the binary is for: fuzzer (any engine; the default for a binary), libfuzzer or aflplusplus (that engine's build), coverage (clang source-based coverage), cmplog (AFL++ CMPLOG) or bundle (a zip or tar.gz of fuzz targets, shared libraries, .options, seed corpora and dictionaries; the default for a zip or gzip body)")
            : (new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 200 }, "Only crashes of this kind, matched whole in any case (heap-buffer-overflow)"),
        ["revision"] = _ => (new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 200 },
            "The build's label, such as a git commit: 1-200 visible ASCII characters. A binary whose revision names an existing build joins that build"),
        ["createdAt"] = _ => (new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" }, "When the build was made (default: when it was uploaded), ISO-8601"),
        ["build"] = _ => (new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1" }, "Add the binary to this existing build instead of a new one"),
        ["from"] = _ => (new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" }, "The series from this time (default: when the campaign or job was created), ISO-8601"),
        ["to"] = _ => (new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" }, "The series up to this time (default: when it finished, or now), ISO-8601"),
        ["step"] = _ => (new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = "86400" },
            $"Seconds per point (default: the sampling interval within a day, 5 minutes beyond; at most {ListParameters.MaxStatsPoints} points): each job's last sample in a step, summed over jobs"),
        ["target"] = _ => (new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 100 }, "Only campaigns of this named target (every build of it)"),
        ["seconds"] = _ => (new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = $"{CampaignRequestValidator.MaxDurationSeconds}", Default = CiApi.DefaultSeconds },
            $"How long the gate fuzzes the build, in seconds (default {CiApi.DefaultSeconds})"),
        ["jobs"] = _ => (new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = $"{CampaignRequestValidator.MaxJobs}", Default = 1 },
            "How many fuzzing jobs (bot slots) the gate runs (default 1)"),
        ["sourceRoot"] = _ => (new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 1000 },
            "The absolute path the target was built from (a CI checkout): file paths under it become relative to the run's SRCROOT, as GitHub code scanning wants"),
        ["name"] = operation => (new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 100, Pattern = "^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$" },
            (operation == "uploadCorpus" ? "The corpus's name" : "The target's name") + ": 1-100 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit"),
    };

    public static Task Complete(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ValidationProblemSchema] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "A 400 problem: the problem's fields, and errors naming each field that is wrong",
            AllOf = [new OpenApiSchemaReference(ProblemSchema, document)],
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["errors"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Description = "By field (a query parameter or header by its name, a JSON body's field by its path such as targets.libfuzzer, or body), what is wrong with it",
                    AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                },
            },
        };

        // Every 400 now refers to the validation problem, the framework's own included.
        document.Components.Schemas.Remove("HttpValidationProblemDetails");
        foreach (var (path, item) in document.Paths)
        {
            foreach (var operation in item.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>())
            {
                var id = operation.OperationId ?? "";
                DescribeQueryParameters(operation, id);
                operation.Responses ??= [];
                operation.Responses.Remove("400", out var badRequest);
                if (badRequest is not null || operation.Parameters?.Any(p => p.In == ParameterLocation.Query) == true || operation.RequestBody is not null)
                {
                    var (field, message) = InvalidExample(operation);
                    operation.Responses["400"] = Problem(document, ApiErrorKind.InvalidRequest, "The request is invalid: errors names each wrong field",
                        ValidationProblemSchema, Example(ApiErrorKind.InvalidRequest, message, new JsonObject { [field] = new JsonArray(message) }));
                }

                // Routing answers any other method on this path with a problem.
                operation.Responses.TryAdd("405", Problem(document, ApiErrorKind.MethodNotAllowed, "The path does not take this method"));
                if (operation.RequestBody is not null)
                {
                    operation.Responses.TryAdd("413", Problem(document, ApiErrorKind.TooLarge, "The body is larger than this route takes"));
                }

                if (operation.RequestBody?.Content?.ContainsKey("application/json") == true && !HandlerReadsBody.Contains(id))
                {
                    // A JSON body bound by the framework: another content type is refused before the handler.
                    operation.Responses.TryAdd("415", Problem(document, ApiErrorKind.UnsupportedMediaType, "The body is not application/json"));
                }

                foreach (var (status, response) in operation.Responses)
                {
                    if (response is OpenApiResponse { Content: { } content } && content.TryGetValue("application/problem+json", out var problem)
                        && problem.Example is null && problem.Examples is not { Count: > 0 } && int.TryParse(status, out var code))
                    {
                        problem.Example = Example(ApiErrors.KindOf(code), DefaultDetail(ApiErrors.KindOf(code), path));
                    }
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>As <see cref="CampaignRequestValidator"/> reads it: numbers are JSON numbers (<see cref="ApiPlumbing.StrictJson"/>).</summary>
    public static Task DescribeCampaignRequest(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type != typeof(CreateCampaignRequest) || schema.Properties is not { } properties)
        {
            return Task.CompletedTask;
        }

        schema.Required = new HashSet<string> { "name", "jobs", "durationSeconds" };
        void Describe(string name, string description, int? min = null, int? max = null, string? pattern = null)
        {
            if (!properties.TryGetValue(name, out var found) || found is not OpenApiSchema property)
            {
                return;
            }

            property.Description = description;
            if (min is not null)
            {
                property.Type = JsonSchemaType.Integer | JsonSchemaType.Null;
                property.Pattern = null;
                property.Minimum = min.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
                property.Maximum = max!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (pattern is not null)
            {
                property.Pattern = pattern;
            }
        }

        Describe("name", "1-100 characters of letters, digits, space, '.', '_' or '-', starting with a letter or digit", pattern: "^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$");
        Describe("targetId", "The target's sha256 (uploadTarget's id), for one engine; an ensemble gives targets instead", pattern: "^[0-9a-f]{64}$");
        Describe("engine", $"The engine that fuzzes targetId: {string.Join(", ", Engines)}");
        Describe("jobs", "How many jobs (fuzzer runs, one bot slot each) the campaign runs", 1, CampaignRequestValidator.MaxJobs);
        Describe("durationSeconds", "How long each job fuzzes", 1, CampaignRequestValidator.MaxDurationSeconds);
        Describe("memoryLimitMb", "Each fuzzer's memory limit (default 2048)", CampaignRequestValidator.MinMemoryLimitMb, CampaignRequestValidator.MaxMemoryLimitMb);
        Describe("timeoutMs", "How long one input may run before it is a timeout (default 1000)", 1, CampaignRequestValidator.MaxTimeoutMs);
        Describe("dictionary", $"A fuzzing dictionary's text (libFuzzer/AFL format), at most {CampaignRequestValidator.MaxDictionaryChars} characters");
        Describe("targets", "An ensemble: each engine's build of the target, by engine name (libfuzzer, aflplusplus)");
        Describe("engines", "The order the jobs take the ensemble's engines in (default: the order of targets)");
        Describe("target", "The target by name: the campaign fuzzes its newest build (or build), each engine with the build's binary for it", pattern: "^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$");
        Describe("build", "With target: fuzz this build instead of the newest (pinned)", 1, int.MaxValue);
        Describe("seedCorpusId", "A seed corpus (uploadCorpus's id) put into the campaign's corpus before its first job");
        Describe("priority", "The campaign's share of free slots (default 1): each free slot goes to the waiting campaign holding the fewest slots per unit of priority",
            1, CampaignSpec.MaxPriority);
        Describe("fuzzTarget", "With target: the fuzz target to run when the build is a bundle (its name in the bundle; required when it holds several)");
        Describe("engineOptions", "Engine and sanitizer options by section (libfuzzer, aflplusplus, asan, ubsan, msan), each an object of options " +
            "(string, number or boolean values) from PandaFuzz's allowlists; an option outside them is a 400 naming it");
        return Task.CompletedTask;
    }

    /// <summary>For its 400's example.</summary>
    private static (string Field, string Message) InvalidExample(OpenApiOperation operation)
    {
        var query = operation.Parameters?.Where(p => p.In == ParameterLocation.Query).Select(p => p.Name).ToList() ?? [];
        return query.Contains("limit") ? ("limit", $"limit must be a whole number from 1 to {ReadModel.Page.MaxLimit}")
            : operation.OperationId == "createCampaign" ? ("jobs", $"jobs must be between 1 and {CampaignRequestValidator.MaxJobs}")
            : query.Contains("name") ? ("name", "the query parameter name is required: 1-100 characters of letters, digits, space, '.', '_' or '-'")
            : query.FirstOrDefault() is { } parameter ? (parameter!, $"{parameter} has a value this route cannot read")
            : ("body", "the body is not JSON of the shape this route takes");
    }

    private static void DescribeQueryParameters(OpenApiOperation operation, string operationId)
    {
        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
        {
            if (parameter.In == ParameterLocation.Query && QueryParameters.TryGetValue(parameter.Name ?? "", out var describe) && describe(operationId) is var (schema, description))
            {
                parameter.Schema = schema;
                parameter.Description ??= description;
                // An upload's name is checked by its handler, which refuses a request without one.
                parameter.Required |= parameter.Name == "name";
            }
        }
    }

    private static OpenApiResponse Problem(OpenApiDocument document, ApiErrorKind kind, string description, string schema = ProblemSchema, JsonNode? example = null) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(schema, document), Example = example ?? Example(kind, DefaultDetail(kind, "")) },
        },
    };

    private static JsonNode Example(ApiErrorKind kind, string detail, JsonObject? errors = null)
    {
        var example = new JsonObject
        {
            ["type"] = ApiErrors.TypeOf(kind),
            ["title"] = ApiErrors.TitleOf(kind),
            ["status"] = ApiErrors.StatusOf(kind),
            ["detail"] = detail,
        };
        if (errors is not null)
        {
            example["errors"] = errors;
        }

        return example;
    }

    private static string DefaultDetail(ApiErrorKind kind, string path) => kind switch
    {
        ApiErrorKind.InvalidRequest => "the request could not be read: check its parameters, headers and body",
        ApiErrorKind.Unauthorized => "a valid bearer token is required",
        ApiErrorKind.NotFound => path.Split('/') is [_, "api", "v1", var resource, "{id}", ..] && Resources.TryGetValue(resource, out var what)
            ? $"no {what} with id '0123456789ab'"
            : "no route matches this path",
        ApiErrorKind.MethodNotAllowed => "this path does not take this method",
        ApiErrorKind.Conflict => "the request conflicts with the item's state (a job that has finished, a key used for another request)",
        ApiErrorKind.TooLarge => "the body is larger than this route takes",
        ApiErrorKind.UnsupportedMediaType => "this route takes another content type",
        ApiErrorKind.Unavailable => "the master did not answer in time",
        _ => "the master failed on this request; it is logged",
    };

    private static OpenApiSchema Page() => new()
    {
        Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = ReadModel.Page.MaxLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Default = ReadModel.Page.DefaultLimit,
    };

    private static OpenApiSchema Skip() => new() { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "0", Default = 0 };

    private static OpenApiSchema Enum(IEnumerable<string> values) => new() { Type = JsonSchemaType.String, Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))] };

    private static IEnumerable<string> Names<TEnum>() where TEnum : struct, System.Enum => System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant());
}
