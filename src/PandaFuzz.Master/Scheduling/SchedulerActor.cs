using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using PandaFuzz.Domain.Scheduling;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.SchedulerMessages;

namespace PandaFuzz.Master.Scheduling;

/// <summary>
/// Cluster singleton that matches pending jobs to bots with a free slot and the right engine. It offers;
/// the job entity accepts only while pending, so there is no lock and no double assignment.
/// </summary>
public sealed class SchedulerActor : ReceiveActor, IWithTimers
{
    public const string Name = "scheduler";

    private readonly AssignmentQueue _queue;
    private readonly IActorRef _jobs;
    private readonly MasterSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public SchedulerActor(MasterSettings settings, IActorRegistry registry)
    {
        _settings = settings;
        _jobs = registry.Get<JobRegion>();
        _queue = new AssignmentQueue(settings.JobStartTimeout + settings.SchedulerOfferTimeout);

        Receive<JobPending>(p =>
        {
            if (_queue.Enqueue(p.JobId, p.Engine, p.Since))
            {
                Dispatch();
            }
        });
        Receive<JobReleased>(r =>
        {
            _queue.Release(r.JobId, r.BotId);
            Dispatch();
        });
        Receive<BotAvailable>(b =>
        {
            _queue.UpsertBot(b.BotId, b.AgentPath, b.Capabilities, b.RunningJobs, DateTimeOffset.UtcNow);
            Dispatch();
        });
        Receive<BotUnavailable>(b => _queue.RemoveBot(b.BotId));
        Receive<AssignmentAccepted>(a => _queue.Accepted(a.JobId, a.BotId, DateTimeOffset.UtcNow));
        Receive<AssignmentRejected>(r =>
        {
            _log.Debug("Job {JobId} refused bot {BotId}: {Reason}", r.JobId, r.BotId, r.Reason);
            _queue.Rejected(r.JobId, r.BotId);
            Dispatch();
        });
        Receive<GetQueue>(_ => Sender.Tell(new QueueView([.. _queue.Pending], _queue.BotCount, _queue.FreeSlots)));
        Receive<Tick>(_ =>
        {
            var expired = _queue.ExpireOffers(DateTimeOffset.UtcNow, _settings.SchedulerOfferTimeout);
            if (expired.Count > 0)
            {
                _log.Warning("{Count} job offers were not answered in time and are queued again", expired.Count);
                Dispatch();
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, _settings.SchedulerOfferTimeout);

    private void Dispatch()
    {
        foreach (var offer in _queue.NextOffers(DateTimeOffset.UtcNow))
        {
            _jobs.Tell(new JobCommands.AssignJob(offer.JobId, offer.BotId, offer.AgentPath));
        }
    }

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }
}

/// <summary>Hosting for the scheduler singleton and its proxy.</summary>
public static class SchedulerHosting
{
    public static AkkaConfigurationBuilder AddScheduler(this AkkaConfigurationBuilder builder, MasterSettings settings) =>
        builder.WithSingleton<SchedulerProxy>(
            SchedulerActor.Name,
            (_, registry, _) => Props.Create(() => new SchedulerActor(settings, registry)),
            new ClusterSingletonOptions { Role = ShardNames.MasterRole },
            createProxyToo: true);
}
