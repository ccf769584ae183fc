using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using PandaFuzz.Gateway;
using PandaFuzz.Gateway.Access;
using PandaFuzz.Gateway.Dashboard;
using PandaFuzz.Node.Observability;

namespace PandaFuzz.Node;

/// <summary>A master's HTTP pipeline: errors as problems, the dashboard's static files, bearer tokens, then every route it serves.</summary>
public static class MasterHttpPipeline
{
    public static WebApplication UseMasterHttp(this WebApplication app, ApiAccess access)
    {
        // Failures and requests Kestrel could not read (its own status) become problems, as do empty error answers
        // (unknown route, wrong method, unreadable parameters).
        app.UseExceptionHandler(new ExceptionHandlerOptions { StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : 500 });
        app.UseStatusCodePages();
        // Before routing: the dashboard's files are not endpoints (the OpenAPI document lists only the API's routes).
        app.UseDashboard();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapStartupHealth().MapNodeObservability().MapLogLevelsAdmin().RequireApiToken(access);
        app.MapPandaFuzzApi();
        return app;
    }
}
