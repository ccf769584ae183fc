using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Master.Projection;
using PandaFuzz.Protocol;

namespace PandaFuzz.Node.Observability;

/// <summary>Liveness: the actor system is running and its dispatcher answers a message.</summary>
public sealed class ActorSystemCheck(ActorSystem system, ObservabilitySettings settings) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (system.WhenTerminated.IsCompleted)
        {
            return HealthCheckResult.Unhealthy("the actor system has terminated");
        }

        try
        {
            await system.ActorSelection("/user").Ask<ActorIdentity>(new Identify(null), settings.CheckTimeout, cancellationToken);
            return HealthCheckResult.Healthy($"actor system {system.Name} answers");
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"the actor system did not answer within {settings.CheckTimeout.TotalSeconds:0.#} s");
        }
    }
}

/// <summary>Readiness: this node is an Up member of the cluster.</summary>
public sealed class ClusterMemberCheck(ActorSystem system) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var cluster = Cluster.Get(system);
        var status = cluster.SelfMember.Status;
        return Task.FromResult(status == MemberStatus.Up
            ? HealthCheckResult.Healthy($"{cluster.SelfAddress} is up, {cluster.State.Members.Count} members, {cluster.State.Unreachable.Count} unreachable")
            : HealthCheckResult.Unhealthy($"{cluster.SelfAddress} is {status.ToString().ToLowerInvariant()}, not up"));
    }
}

/// <summary>Readiness of a master: its journal's database takes a small write (<see cref="JournalProbe"/>).</summary>
public sealed class JournalWritableCheck(MasterStorage storage, NodeSettings node, ObservabilitySettings settings) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await JournalProbe.WriteAsync(storage, node.Remote.ToString(), settings.CheckTimeout, cancellationToken);
            return HealthCheckResult.Healthy($"{Where()} takes writes");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The message names the failure, never the connection string (it may hold a password).
            return HealthCheckResult.Unhealthy($"{Where()} refused a write: {e.GetType().Name}: {e.Message}");
        }
    }

    private string Where() => storage.JournalFile is { } file ? $"journal {file}" : "the PostgreSQL journal";
}

/// <summary>Readiness of a master: the oldest journal event the read model lacks is at most <see cref="ObservabilitySettings.ReadModelMaxLag"/> old.</summary>
public sealed class ReadModelCaughtUpCheck(ActorSystem system, ObservabilitySettings settings) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ReadModelBacklog backlog;
        try
        {
            backlog = await Task.Run(() => ReadModelBacklog.Measure(system.Settings.Config, DateTimeOffset.UtcNow), cancellationToken).WaitAsync(settings.CheckTimeout, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the read model's progress could not be measured: {e.GetType().Name}: {e.Message}");
        }

        var detail = backlog.PendingEvents == 0
            ? "every journal event is projected"
            : $"{backlog.PendingEvents} events to project, the oldest {backlog.Lag.TotalSeconds:0.###} s old (bound {settings.ReadModelMaxLag.TotalSeconds:0.#} s)";
        return backlog.Lag <= settings.ReadModelMaxLag ? HealthCheckResult.Healthy(detail) : HealthCheckResult.Unhealthy(detail);
    }
}

/// <summary>
/// Readiness of a bot: its targets run isolated. One that cannot isolate takes no job (unhealthy); one running them
/// anyway by the operator's opt-out is degraded, which still answers 200.
/// </summary>
public sealed class SandboxIsolationCheck(SandboxReport sandbox) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(sandbox switch
        {
            { RefusesJobs: { } why } => HealthCheckResult.Unhealthy($"this bot takes no job: {why}"),
            { Isolated: true } => HealthCheckResult.Healthy("targets run isolated: no network, only their work dir"),
            _ => HealthCheckResult.Degraded("targets run WITHOUT network and filesystem isolation (pandafuzz.bot.sandbox.allow-unisolated = on)"),
        });
}
