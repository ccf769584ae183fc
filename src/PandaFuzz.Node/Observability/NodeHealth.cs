using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PandaFuzz.Master.Persistence;
using ProjectionActor = PandaFuzz.Master.ReadModel.ReadModelProjectionActor;
using ProjectionQueries = PandaFuzz.Master.ReadModel.ReadModelQueries;

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

/// <summary>Readiness of a master: the read model has projected the journal, or trails it by at most its bound.</summary>
public sealed class ReadModelCaughtUpCheck(ActorRegistry registry, ObservabilitySettings settings) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!registry.TryGet<ProjectionActor>(out var projection))
        {
            return HealthCheckResult.Unhealthy("no read-model projection runs on this master");
        }

        ProjectionQueries.ProjectionStatus status;
        try
        {
            status = await projection.Ask<ProjectionQueries.ProjectionStatus>(ProjectionQueries.GetProjectionStatus.Instance, settings.CheckTimeout, cancellationToken);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"the read-model projection did not answer within {settings.CheckTimeout.TotalSeconds:0.#} s");
        }

        if (status.PendingEvents == 0)
        {
            return HealthCheckResult.Healthy("every journal event is projected");
        }

        // Events wait: caught up enough while the last ones projected arrived within the bound (none yet: still catching up).
        var lag = status.Tags.Where(t => t.LastLag is not null).Select(t => t.LastLag!.Value).DefaultIfEmpty(TimeSpan.MaxValue).Max();
        var detail = lag == TimeSpan.MaxValue
            ? $"{status.PendingEvents} events to project, none projected yet"
            : $"{status.PendingEvents} events to project, last lag {lag.TotalSeconds:0.###} s (bound {settings.ReadModelMaxLag.TotalSeconds:0.#} s)";
        return lag <= settings.ReadModelMaxLag
            ? HealthCheckResult.Healthy(detail)
            : HealthCheckResult.Unhealthy(detail);
    }
}
