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
    /// <summary>The longest path and query the API reads; Kestrel's own limit (<see cref="KestrelRequestLineBytes"/>) is far above.</summary>
    public const int MaxTargetChars = 8 * 1024;

    public const int MaxHeaderBytes = 32 * 1024;

    public const int MaxHeaderCount = 100;

    // Kestrel answers past its limits with an empty 414 or 431 before any middleware runs: its limits sit well above the
    // API's, so every request the API refuses for its size gets a problem that says which limit.
    public const int KestrelRequestLineBytes = 64 * 1024;
    public const int KestrelHeaderBytes = 64 * 1024;
    public const int KestrelHeaderCount = 200;

    public static WebApplication UseMasterHttp(this WebApplication app, ApiAccess access, string boundHost)
    {
        app.Use(RefuseOversizedRequests);
        if (access.HostsAnswered(boundHost, Environment.MachineName) is { } hosts)
        {
            // Reads need no token: a request naming another host is refused, so DNS rebinding cannot read through a browser.
            app.Use((context, next) => ApiAccess.IsAnswered(context.Request.Host.Host, hosts) || !context.Request.Host.HasValue
                ? next()
                : Refuse(context, ApiErrorKind.InvalidRequest,
                    $"this API does not answer to the host '{Clip(context.Request.Host.Host)}': add it to {ApiAccess.HostsVariable} (or pandafuzz.master.api.allowed-hosts), or require tokens for reads"));
        }
        // Failures, requests Kestrel could not read, and empty error answers become problems.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : 500,
            // A client's unreadable request is its error, not the master's: no error log line for it.
            SuppressDiagnosticsCallback = c => c.Exception is BadHttpRequestException,
        });
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

    /// <summary>A request line or headers past the API's limits: 414 or 431 as problem+json, naming the limit.</summary>
    private static async Task RefuseOversizedRequests(HttpContext context, Func<Task> next)
    {
        var request = context.Request;
        var target = (request.PathBase.Value?.Length ?? 0) + (request.Path.Value?.Length ?? 0) + (request.QueryString.Value?.Length ?? 0);
        if (target > MaxTargetChars)
        {
            await Refuse(context, ApiErrorKind.UriTooLong, $"the path and query are {target} characters; the API takes at most {MaxTargetChars}");
            return;
        }

        var headerBytes = 0L;
        foreach (var (name, values) in request.Headers)
        {
            headerBytes += name.Length;
            foreach (var value in values)
            {
                headerBytes += value?.Length ?? 0;
            }
        }

        if (headerBytes > MaxHeaderBytes || request.Headers.Count > MaxHeaderCount)
        {
            await Refuse(context, ApiErrorKind.HeadersTooLarge,
                $"the request has {request.Headers.Count} headers of {headerBytes} bytes; the API takes at most {MaxHeaderCount} headers of {MaxHeaderBytes} bytes");
            return;
        }

        await next();
    }

    private static string Clip(string text) => text.Length > 100 ? text[..100] + "…" : text;

    private static Task Refuse(HttpContext context, ApiErrorKind kind, string detail)
    {
        // The connection may hold more of this client's oversized requests: it is closed after this answer.
        context.Response.Headers.Connection = "close";
        return ApiErrors.Result(kind, detail).ExecuteAsync(context);
    }
}
