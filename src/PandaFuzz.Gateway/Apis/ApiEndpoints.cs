using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PandaFuzz.Gateway.Access;
using Scalar.AspNetCore;

namespace PandaFuzz.Gateway;

/// <summary>The HTTP API, version 1: minimal APIs that validate, ask the gateway actor, and shape the answer; one group of routes per resource.</summary>
public static class ApiEndpoints
{
    /// <summary>The API reference page (the dashboard links to it).</summary>
    public const string DocsPath = "/api/docs";

    public static IEndpointRouteBuilder MapPandaFuzzApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference(DocsPath, options => options.WithTitle("PandaFuzz API").WithOpenApiRoutePattern("/openapi/{documentName}.json"));
        var access = app.ServiceProvider.GetRequiredService<ApiAccess>();
        var v1 = app.MapGroup("/api/v1").ProducesProblem(StatusCodes.Status503ServiceUnavailable).RequireApiToken(access);
        v1.MapTargetsApi();
        v1.MapCampaignsApi();
        v1.MapCrashesApi();
        v1.MapJobsApi();
        v1.MapBotsApi();
        v1.MapCorporaApi();
        v1.MapCoverageApi();
        v1.MapCiApi();
        v1.MapCampaignCloneApi();
        return app;
    }
}
