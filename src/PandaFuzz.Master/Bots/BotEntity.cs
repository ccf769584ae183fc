using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence;
using PandaFuzz.Domain.Bots;
using PandaFuzz.Infrastructure.Actors;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.BotCommands;

namespace PandaFuzz.Master.Bots;

/// <summary>
/// Owns one bot's record: registers it, tells the scheduler its capacity, and marks it offline when its check-ins
/// stop or its node is lost.
/// </summary>
public sealed class BotEntity : EventSourcedEntity, IWithTimers
{
    private readonly MasterSettings _settings;
    private readonly IActorRef _scheduler;
    private readonly IActorRef _jobs;
    private BotState? _state;
    private long _nodeUid;
    private IReadOnlyList<JobId> _running = [];
    private DateTimeOffset? _lastSeen;

    public BotEntity(string entityId, MasterSettings settings, IActorRegistry registry)
        : base(EntityKinds.PersistenceId(EntityKinds.Bot, entityId), settings.SnapshotEvery)
    {
        _settings = settings;
        _scheduler = registry.Get<SchedulerProxy>();
        _jobs = registry.Get<JobRegion>();

        Recover<SnapshotOffer>(offer => _state = (BotState)offer.Snapshot);
        Recover<BotEvents.BotRegistered>(e => _state = _state is null ? BotState.Registered(e) : _state.Apply(e));
        Recover<IPersistedEvent>(e => _state = _state?.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            // A bot online before a master restart must prove it still is, or be marked offline.
            if (_state?.Status == BotStatus.Online)
            {
                Timers.StartSingleTimer(CheckInMissed.Instance, CheckInMissed.Instance, _settings.BotCheckInTimeout);
            }
        });

        Command<CheckIn>(CheckIn);
        Command<NodeLost>(NodeLost);
        Command<SetDraining>(SetDraining);
        Command<CheckInMissed>(_ =>
        {
            if (_state is null)
            {
                return;
            }

            Persist(_state.GoOffline($"no check-in for {_settings.BotCheckInTimeout.TotalSeconds:0} s", DateTimeOffset.UtcNow));
        });
        Command<BotQueries.GetBot>(_ => Sender.Tell(_state is null
            ? new CommandRejected($"bot {EntityId} not found", RejectionKind.NotFound)
            : new BotQueries.BotView(_state.Id, _state.Address, _state.Hostname, _state.Status, _state.Capabilities,
                _state.Status == BotStatus.Online ? _running : [], _state.RegisteredAt, _lastSeen, _state.OfflineReason, _state.OfflineSince,
                _state.Draining)));
    }

    protected override object? SnapshotState => _state;

    public ITimerScheduler Timers { get; set; } = null!;

    private string EntityId => EntityKinds.EntityId(EntityKinds.Bot, PersistenceId);

    private void CheckIn(CheckIn checkIn)
    {
        var sender = Sender;
        var events = BotState.CheckIn(_state, checkIn);
        _lastSeen = checkIn.At;
        _nodeUid = checkIn.NodeUid;
        _running = checkIn.RunningJobs;
        Timers.StartSingleTimer(CheckInMissed.Instance, CheckInMissed.Instance, _settings.BotCheckInTimeout);
        if (events.Count == 0)
        {
            Accept(checkIn, sender);
            return;
        }

        Persist(events, () =>
        {
            Log.Info("Bot {BotId} registered at {Address} with {Slots} slots and engines {Engines}",
                checkIn.BotId, checkIn.Address, checkIn.Capabilities.Slots, string.Join(",", checkIn.Capabilities.Engines.Select(e => e.Name)));
            Accept(checkIn, sender);
        });
    }

    /// <summary>Offline now; the jobs it reported running move (their entities decide).</summary>
    private void NodeLost(NodeLost lost)
    {
        if (_state is null || lost.NodeUid != 0 && _nodeUid != 0 && lost.NodeUid != _nodeUid)
        {
            // An earlier incarnation of the node: the bot has checked in from its new one already.
            return;
        }

        Timers.Cancel(CheckInMissed.Instance);
        foreach (var job in _running)
        {
            _jobs.Tell(new JobCommands.BotLost(job, lost.BotId, $"bot {lost.BotId} is lost: {lost.Reason}"));
        }

        _running = [];
        Persist(_state.GoOffline(lost.Reason, lost.At));
    }

    private void Accept(CheckIn checkIn, IActorRef sender)
    {
        _scheduler.Tell(new SchedulerMessages.BotAvailable(
            checkIn.BotId, checkIn.AgentPath, _state!.Offered(checkIn.Capabilities, checkIn.RunningJobs.Count), checkIn.RunningJobs, checkIn.NodeUid));
        sender.Tell(new CheckInAccepted(checkIn.BotId));
    }

    private void SetDraining(SetDraining command)
    {
        if (_state is null)
        {
            Sender.Tell(new CommandRejected($"bot {command.BotId} not found", RejectionKind.NotFound));
            return;
        }

        var sender = Sender;
        Persist(_state.SetDraining(command.Draining, DateTimeOffset.UtcNow), () =>
        {
            var state = _state!;
            if (state.Status == BotStatus.Online)
            {
                _scheduler.Tell(new SchedulerMessages.BotAvailable(
                    state.Id, state.AgentPath, state.Offered(state.Capabilities, _running.Count), _running, _nodeUid));
            }

            Log.Info(state.Draining ? "Bot {BotId} is draining: it takes no new job" : "Bot {BotId} takes jobs again", state.Id);
            Self.Tell(new BotQueries.GetBot(state.Id), sender);
        });
    }

    private void Persist(IReadOnlyList<IPersistedEvent> events, Action? then = null) =>
        PersistThen(events, e =>
        {
            _state = e is BotEvents.BotRegistered r && _state is null ? BotState.Registered(r) : _state!.Apply(e);
            if (e is BotEvents.BotWentOffline offline)
            {
                Log.Warning("Bot {BotId} is offline: {Reason}", offline.BotId, offline.Reason);
                _scheduler.Tell(new SchedulerMessages.BotUnavailable(offline.BotId));
            }
        }, _ => then?.Invoke());

    private sealed record CheckInMissed
    {
        public static readonly CheckInMissed Instance = new();
    }
}

/// <summary>Hosting for the bot shard region.</summary>
public static class BotEntityHosting
{
    public static AkkaConfigurationBuilder AddBotEntities(this AkkaConfigurationBuilder builder, MasterSettings settings) =>
        builder.WithShardRegion<BotRegion>(
            ShardNames.Bot,
            (_, registry, _) => id => ActorProps.Of(() => new BotEntity(id, settings, registry)),
            new BotMessageExtractor(ShardNames.MaxShards),
            ShardNames.MasterEntities());
}
