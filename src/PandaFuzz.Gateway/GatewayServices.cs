using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using PandaFuzz.Gateway.Access;

namespace PandaFuzz.Gateway;

/// <summary>Services the HTTP API needs.</summary>
public static class GatewayServices
{
    private static readonly (string Name, string Description)[] Tags =
    [
        ("targets", "Target binaries, stored by their sha256"),
        ("campaigns", "Campaigns: a target, engines, jobs and limits"),
        ("jobs", "Jobs: one fuzzer run on a bot, and the queue of pending ones"),
        ("bots", "Bots: the machines that run jobs"),
        ("crashes", "Unique crashes (one per signature) and their inputs"),
        ("corpora", "Seed corpora and campaign corpora"),
        ("coverage", "Source coverage of campaigns: llvm-cov reports of their corpora, measured on bots"),
        ("health", "Liveness, readiness and metrics"),
        ("admin", "Running the node: log levels"),
    ];

    public static IServiceCollection AddPandaFuzzApi(this IServiceCollection services)
    {
        services.AddSingleton<CorpusArchiveCache>();
        // A request the routes cannot bind throws, so the problem it becomes can name the field (ApiErrors.Unbound).
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)));
        // Problems the framework writes itself get the type of their kind like the API's own.
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context => ApiErrors.Complete(context.ProblemDetails, context.Exception));
        services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "PandaFuzz API",
                Version = "v1",
                Description = "Submit fuzzing campaigns, follow their jobs and bots, and read their de-duplicated crashes. "
                              + "Errors are application/problem+json with a stable type per kind.",
            };
            document.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }));
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerTokenHandler.SchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A token from PANDAFUZZ_API_TOKENS, PANDAFUZZ_API_TOKEN_FILE or the master's api-token file. "
                              + "Every write needs one; reads too when PANDAFUZZ_API_READS_REQUIRE_TOKEN is set.",
            };
            return Task.CompletedTask;
        }).AddOperationTransformer((operation, context, _) =>
        {
            // Operations that need a token say so, and list the 401 they answer without one.
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Any())
            {
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerTokenHandler.SchemeName, context.Document)] = [] }];
            }

            return Task.CompletedTask;
        }).AddSchemaTransformer(ApiDocument.DescribeCampaignRequest).AddDocumentTransformer(ApiDocument.Complete));
        return services;
    }
}
