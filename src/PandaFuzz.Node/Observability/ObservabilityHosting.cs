using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Protocol;
using Prometheus;
using Serilog.Events;

namespace PandaFuzz.Node.Observability;

/// <summary>
/// <c>/metrics</c>, <c>/healthz</c>, <c>/readyz</c> on a master's API port or a bot-only node's <c>PANDAFUZZ_METRICS</c>
/// port, and <c>/api/v1/admin/log-levels</c> on a master.
/// </summary>
public static class ObservabilityHosting
{
    private const string Live = "live";
    private const string Ready = "ready";

    /// <param name="sandbox">A bot's sandbox report: <c>/readyz</c> then says whether the bot isolates its targets.</param>
    /// <param name="simulation">The bot offers the simulated engine (tests and benchmarks): only then are its series made.</param>
    public static IServiceCollection AddNodeObservability(this IServiceCollection services, ObservabilitySettings settings, NodeSettings node, MasterStorage? storage,
        SandboxReport? sandbox = null, bool simulation = false)
    {
        MeterBridge.Start(node.IsMaster, node.IsBot, simulation);
        services.AddSingleton(settings);
        services.AddSingleton(node);
        services.AddSingleton<NodeMetrics>();
        services.AddHostedService<ObservabilityService>();
        var checks = services.AddHealthChecks()
            .AddCheck<ActorSystemCheck>("actor-system", tags: [Live, Ready])
            .AddCheck<ClusterMemberCheck>("cluster", tags: [Ready]);
        if (storage is not null)
        {
            services.AddSingleton(storage);
            checks.AddCheck<JournalWritableCheck>("journal", tags: [Ready])
                .AddCheck<ReadModelCaughtUpCheck>("read-model", tags: [Ready]);
        }

        if (sandbox is not null)
        {
            checks.Add(new HealthCheckRegistration("sandbox", new SandboxIsolationCheck(sandbox), HealthStatus.Unhealthy, [Ready]));
        }

        return services;
    }

    /// <summary>
    /// <c>/readyz</c> is 200 when every check passes, else 503. Route handlers, not MapMetrics and MapHealthChecks, so
    /// the OpenAPI document describes them.
    /// </summary>
    public static IEndpointRouteBuilder MapNodeObservability(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", async (HttpContext context, CancellationToken ct) =>
            {
                context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(context.Response.Body, ct);
            })
            .WithName("metrics").WithSummary("Metrics in the Prometheus text format").WithTags("health")
            .Produces(StatusCodes.Status200OK, contentType: "text/plain");
        app.MapGet("/healthz", (HealthCheckService health, CancellationToken ct) => ReportAsync(health, Live, ct))
            .WithName("liveness").WithSummary("Liveness: the actor system runs and answers").WithTags("health")
            .Produces<HealthResponse>(StatusCodes.Status200OK).Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/readyz", (HealthCheckService health, CancellationToken ct) => ReportAsync(health, Ready, ct))
            .WithName("readiness").WithSummary("Readiness: member Up, journal writable, read model caught up, a bot's targets isolated").WithTags("health")
            .Produces<HealthResponse>(StatusCodes.Status200OK).Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    /// <summary><c>/health/live</c> and <c>/health/ready</c> (an Up member), which scripts wait for at start-up.</summary>
    public static IEndpointRouteBuilder MapStartupHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health/live", () => TypedResults.Ok("live"))
            .WithName("live").WithSummary("The process answers").WithTags("health");
        app.MapGet("/health/ready", (ActorSystem system) => Akka.Cluster.Cluster.Get(system).SelfMember.Status == Akka.Cluster.MemberStatus.Up
                ? Results.Ok("ready")
                : Results.Problem("the node has not joined the cluster yet", statusCode: StatusCodes.Status503ServiceUnavailable))
            .WithName("ready").WithSummary("The node is an Up member of the cluster").WithTags("health")
            .Produces<string>(StatusCodes.Status200OK).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> ReportAsync(HealthCheckService health, string tag, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains(tag), ct);
        var body = new HealthResponse(Status(report.Status), [.. report.Entries.Select(e => new HealthCheckResponse(
            e.Key, Status(e.Value.Status), e.Value.Description, Math.Round(e.Value.Duration.TotalMilliseconds, 1)))]);
        return Results.Json(body, statusCode: report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }

    /// <summary>
    /// The minimum level per namespace, changed at run time. A PUT body is
    /// <c>{ "default": "information", "levels": { "PandaFuzz.Bot": "debug", "Microsoft": null } }</c> (null drops a level).
    /// </summary>
    public static RouteGroupBuilder MapLogLevelsAdmin(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/admin/log-levels");
        group.MapGet("", () => TypedResults.Ok(View(NodeLogging.Levels)))
            .WithName("getLogLevels").WithSummary("The minimum log level per namespace").WithTags("admin");
        group.MapPut("", (LogLevelsChange change) =>
        {
            var problems = new Dictionary<string, string[]>();
            LogEventLevel? defaultLevel = null;
            if (change.Default is { } d && (defaultLevel = LoggingSettings.ParseLevel(d)) is null)
            {
                problems["default"] = [$"'{d}' is not a level: verbose, debug, information, warning, error, fatal"];
            }

            var levels = new Dictionary<string, LogEventLevel?>(StringComparer.Ordinal);
            foreach (var (name, text) in change.Levels ?? [])
            {
                if (string.IsNullOrWhiteSpace(name) || name.Length > 200)
                {
                    problems["levels"] = ["a namespace must be 1 to 200 characters"];
                }
                else if (text is null)
                {
                    levels[name.Trim()] = null;
                }
                else if (LoggingSettings.ParseLevel(text) is { } level)
                {
                    levels[name.Trim()] = level;
                }
                else
                {
                    problems[$"levels.{name}"] = [$"'{text}' is not a level: verbose, debug, information, warning, error, fatal, or null"];
                }
            }

            if (problems.Count > 0)
            {
                return Results.ValidationProblem(problems);
            }

            NodeLogging.Levels.Set(defaultLevel, levels);
            Serilog.Log.Information("Log levels changed: default {Default}, namespaces {Levels}", NodeLogging.Levels.Default, View(NodeLogging.Levels).Levels);
            return Results.Ok(View(NodeLogging.Levels));
        }).WithName("setLogLevels").WithSummary("Change minimum log levels without a restart").WithTags("admin")
            .Produces(StatusCodes.Status200OK).ProducesValidationProblem();
        return group;
    }

    /// <summary>A bot-only node's host: with <c>PANDAFUZZ_METRICS</c> a small web host for the probes and metrics, else a plain host.</summary>
    public static IHost BuildBotHost(string[] args, ObservabilitySettings settings, Action<IServiceCollection> compose)
    {
        if (settings.MetricsEndpoint is not { } endpoint)
        {
            var builder = Host.CreateApplicationBuilder(args);
            compose(builder.Services);
            return builder.Build();
        }

        var web = WebApplication.CreateBuilder(args);
        web.WebHost.UseUrls($"http://{endpoint}");
        compose(web.Services);
        var app = web.Build();
        app.MapNodeObservability();
        return app;
    }

    private static LogLevelsView View(LogLevels levels) => new(
        Name(levels.Default),
        levels.Overrides.ToDictionary(l => l.Key, l => Name(l.Value), StringComparer.Ordinal));

    private static string Name(LogEventLevel level) => level.ToString().ToLowerInvariant();

    private static string Status(HealthStatus status) => status.ToString().ToLowerInvariant();

    /// <summary>Points scrape-time metrics at this actor system, and keeps Akka's log filter at the lowest configured level.</summary>
    private sealed class ObservabilityService(NodeMetrics metrics, ActorSystem system) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            metrics.Activate();
            NodeLogging.Levels.Changed += FollowInAkka;
            FollowInAkka(NodeLogging.Levels.Minimum.MinimumLevel);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            NodeLogging.Levels.Changed -= FollowInAkka;
            metrics.Deactivate();
            return Task.CompletedTask;
        }

        // Akka drops events below its own level before Serilog sees them: a namespace set to debug needs Akka at debug.
        private void FollowInAkka(LogEventLevel minimum) => system.EventStream.SetLogLevel(minimum switch
        {
            LogEventLevel.Verbose or LogEventLevel.Debug => LogLevel.DebugLevel,
            LogEventLevel.Information => LogLevel.InfoLevel,
            LogEventLevel.Warning => LogLevel.WarningLevel,
            _ => LogLevel.ErrorLevel,
        });
    }
}

/// <summary>The body of <c>/healthz</c> and <c>/readyz</c>: the overall status and each check with its own.</summary>
public sealed record HealthResponse(string Status, IReadOnlyList<HealthCheckResponse> Checks);

public sealed record HealthCheckResponse(string Name, string Status, string? Detail, double DurationMs);

/// <summary>The body of <c>PUT /api/v1/admin/log-levels</c>.</summary>
public sealed record LogLevelsChange(string? Default, Dictionary<string, string?>? Levels);

/// <summary>The default level and the level per namespace.</summary>
public sealed record LogLevelsView(string Default, IReadOnlyDictionary<string, string> Levels);
