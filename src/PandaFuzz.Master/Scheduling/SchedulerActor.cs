using Akka.Actor;
using Akka.Cluster;
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
/// Cluster singleton that offers pending jobs to bots with a free slot and the right engine; the job entity accepts
/// only while pending, so there is no lock and no double assignment. A bot whose node is downed or leaves is reported
/// lost to its bot entity and to every job on it, which go back to pending at once.
/// </summary>
public sealed class SchedulerActor : ReceiveActor, IWithTimers
{
    public const string Name = "scheduler";

    private readonly AssignmentQueue _queue;
    private readonly IActorRef _jobs;
    private readonly IActorRef _bots;
    private readonly MasterSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    // Campaigns' priorities from the API, and the configuration's weights, which win for the campaigns they name.
    private readonly Dictionary<string, int> _priorities = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, int> _configuredWeights;

    private Dictionary<string, int> Weights()
    {
        var weights = new Dictionary<string, int>(_priorities, StringComparer.Ordinal);
        foreach (var (campaign, weight) in _configuredWeights)
        {
            weights[campaign] = weight;
        }

        return weights;
    }

    public SchedulerActor(MasterSettings settings, IActorRegistry registry)
    {
        _settings = settings;
        _jobs = registry.Get<JobRegion>();
        _bots = registry.Get<BotRegion>();
        _queue = new AssignmentQueue(settings.JobStartTimeout + settings.SchedulerOfferTimeout, settings.SchedulerMaxOffers, settings.PendingJobsInMemory);
        _configuredWeights = settings.Scheduler.CampaignWeights;
        _queue.SetWeights(_configuredWeights);

        Receive<JobPending>(p =>
        {
            if (_queue.Enqueue(p.JobId, p.Engine, p.Since, p.Minimization))
            {
                Dispatch();
            }

            // After the dispatch: a job offered a bot at once stays in memory for the offer.
            Sender.Tell(new JobQueued(p.JobId, _queue.KeepInMemory(p.JobId)));
        });
        Receive<JobReleased>(r =>
        {
            _queue.Release(r.JobId, r.BotId);
            Dispatch();
        });
        Receive<BotAvailable>(b =>
        {
            _queue.UpsertBot(b.BotId, b.AgentPath, b.Capabilities, b.RunningJobs, DateTimeOffset.UtcNow, b.NodeUid);
            Dispatch();
        });
        Receive<BotUnavailable>(b =>
        {
            _queue.RemoveBot(b.BotId);
            Dispatch();
        });
        Receive<ClusterEvent.UnreachableMember>(e => SetReachable(e.Member, false));
        Receive<ClusterEvent.ReachableMember>(e => SetReachable(e.Member, true));
        Receive<ClusterEvent.MemberDowned>(e => Lost(e.Member, $"its node {Endpoint(e.Member)} was unreachable and has been downed"));
        Receive<ClusterEvent.MemberRemoved>(e => Lost(e.Member, e.PreviousStatus == MemberStatus.Down
            ? $"its node {Endpoint(e.Member)} was downed and removed from the cluster"
            : $"its node {Endpoint(e.Member)} left the cluster"));
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
        Receive<AssignmentAccepted>(a =>
        {
            _queue.Accepted(a.JobId, a.BotId, DateTimeOffset.UtcNow);
            // An answer frees a place among the offers out at once.
            Dispatch();
        });
        Receive<AssignmentRejected>(r =>
        {
            _log.Debug("Job {JobId} refused bot {BotId}: {Reason}", r.JobId, r.BotId, r.Reason);
            _queue.Rejected(r.JobId, r.BotId);
            Dispatch();
        });
        Receive<CampaignPriority>(p =>
        {
            if (p.Priority == CampaignSpec.DefaultPriority)
            {
                _priorities.Remove(p.CampaignId.Value);
            }
            else
            {
                _priorities[p.CampaignId.Value] = p.Priority;
            }

            _queue.SetWeights(Weights());
            Dispatch();
        });
        Receive<SetCampaignWeights>(w =>
        {
            _configuredWeights = w.Weights;
            _queue.SetWeights(Weights());
            _log.Info("Campaign weights are now {Weights}", w.Weights.Count == 0
                ? "none (first come, first served)"
                : string.Join(", ", w.Weights.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
            Dispatch();
        });
        Receive<GetQueue>(q => Sender.Tell(new QueueView([.. _queue.PendingInOfferOrder().Skip(q.Offset).Take(q.Limit)], _queue.BotCount, _queue.FreeSlots,
            _queue.OldestPendingSince, _queue.PendingCount)));
        Receive<WakeTick>(_ =>
        {
            // Queued jobs near the head are woken a bounded number per tick, and only while every slot is taken, so
            // reading them from the journal never slows the offers freed slots bring.
            if (_queue.HasFreeSlots)
            {
                return;
            }

            foreach (var job in _queue.Wake(Math.Max(1, _settings.PendingJobsWokenPerSecond / 4)))
            {
                _jobs.Tell(new JobCommands.WakeJob(job));
            }
        });
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

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, _settings.SchedulerOfferTimeout);
        Timers.StartPeriodicTimer(WakeTick.Instance, WakeTick.Instance, TimeSpan.FromMilliseconds(250));
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.MemberDowned), typeof(ClusterEvent.MemberRemoved));
    }

    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);

    /// <summary>A restarted scheduler has an empty queue: jobs in memory announce themselves again, the others when their campaign tells them.</summary>
    protected override void PostRestart(Exception reason)
    {
        base.PostRestart(reason);
        Context.System.EventStream.Publish(new SchedulerRestarted(reason.Message));
    }

    private static string Endpoint(Member member) => $"{member.Address.Host}:{member.Address.Port}";

    /// <summary>The bots whose agent lives on <paramref name="member"/> (this incarnation, when the bot told us its).</summary>
    private List<KnownBot> BotsOn(Member member) =>
        [.. _queue.Bots.Where(b => ActorPath.TryParse(b.AgentPath, out var path) && path.Address.Equals(member.Address)
            && (b.NodeUid == 0 || b.NodeUid == member.UniqueAddress.Uid))];

    private void SetReachable(Member member, bool reachable)
    {
        foreach (var bot in BotsOn(member))
        {
            _queue.SetReachable(bot.BotId, reachable);
            _log.Warning("Bot {BotId} is {Reachability}", bot.BotId, reachable ? "reachable again" : "unreachable: no new jobs for it");
        }

        if (reachable)
        {
            Dispatch();
        }
    }

    private void Lost(Member member, string reason)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var bot in BotsOn(member))
        {
            var held = _queue.RemoveBot(bot.BotId);
            _log.Warning("Bot {BotId} is lost ({Reason}); its {Count} jobs go back to pending", bot.BotId, reason, held.Count);
            _bots.Tell(new BotCommands.NodeLost(bot.BotId, member.UniqueAddress.Uid, reason, now));
            foreach (var job in held)
            {
                _jobs.Tell(new JobCommands.BotLost(job, bot.BotId, $"bot {bot.BotId} is lost: {reason}"));
            }
        }

        Dispatch();
    }

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

    private sealed record WakeTick
    {
        public static readonly WakeTick Instance = new();
    }
}

/// <summary>Published on the scheduler's node when it restarted after a failure, with an empty queue.</summary>
public sealed record SchedulerRestarted(string Reason);

/// <summary>Hosting for the scheduler singleton and its proxy.</summary>
public static class SchedulerHosting
{
    public static AkkaConfigurationBuilder AddScheduler(this AkkaConfigurationBuilder builder, MasterSettings settings) =>
        builder.WithSingleton<SchedulerProxy>(
            SchedulerActor.Name,
            (_, registry, _) => Props.Create(() => new SchedulerActor(settings, registry)),
            new ClusterSingletonOptions
            {
                Role = ShardNames.MasterRole,
                // Akka.NET 1.5.73's proxy warns it "failed to find an associated singleton" as soon as it starts looking
                // (akkadotnet/akka.net#8568); with the role fixed in code that misconfiguration cannot arise here.
                LogSingletonIdentificationFailure = false,
            },
            createProxyToo: true);
}
