using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using PandaFuzz.Infrastructure.Configuration;
using PandaFuzz.Infrastructure.Sharding;
using AkkaCluster = Akka.Cluster.Cluster;
using Member = Akka.Cluster.Member;
using MemberStatus = Akka.Cluster.MemberStatus;

namespace PandaFuzz.Infrastructure.Cluster;

/// <summary>A member as the downing rule sees it; lower <see cref="Age"/> is older. <see cref="Down"/>: down or on its way
/// out; <see cref="Downed"/>: marked down (as a restarted master's old incarnation is), not leaving.</summary>
public sealed record MemberView(string Address, bool IsMaster, int Age, bool Reachable, bool Down, bool Downed = false);

/// <summary>The downing rule of a master-and-bots cluster: the oldest reachable master downs every member unreachable for a
/// stable while; other nodes down nobody, themselves included. So a restarting master never makes bots shut down (they keep
/// fuzzing and buffer results), and a bot downed while cut off learns it when the partition heals. Akka's split-brain
/// resolver cannot say this: every strategy makes the side without the master (or a majority) down itself.
/// One exception: a restarted master's old incarnation is marked down and its removal waits for every unreachable member
/// to be down, so a bot it downed just before dying, unknown to the others, would block the new master for good. With a
/// master marked down (not leaving) and none reachable, the oldest reachable member downs the unreachable ones.</summary>
public static class MasterDecidesDowning
{
    public static IReadOnlyList<string> Decide(string self, IReadOnlyCollection<MemberView> members)
    {
        var decider = Oldest(members.Where(m => m.IsMaster && m.Reachable && !m.Down))
            ?? (members.Any(m => m.IsMaster && m.Downed) ? Oldest(members.Where(m => m.Reachable && !m.Down)) : null);
        if (decider?.Address != self)
        {
            return [];
        }

        return [.. members.Where(m => !m.Reachable && !m.Down).Select(m => m.Address)];
    }

    private static MemberView? Oldest(IEnumerable<MemberView> members) =>
        members.OrderBy(m => m.Age).ThenBy(m => m.Address, StringComparer.Ordinal).FirstOrDefault();
}

/// <summary>How long unreachability must be stable before the master downs (<c>pandafuzz.cluster.downing</c>).</summary>
public sealed record DowningSettings(TimeSpan StableAfter)
{
    public const string Section = "pandafuzz.cluster.downing";

    public static DowningSettings From(Config config) => new(new HoconReader(config, Section).PositiveDuration("stable-after"));
}

/// <summary>Enabled with <c>akka.cluster.downing-provider-class = "PandaFuzz.Infrastructure.Cluster.MasterDecidesDowningProvider, PandaFuzz.Infrastructure"</c>.
/// Masters run the downing actor; other nodes run the one that restarts them once a master gave up on them, with the
/// downing actor beside it for a rejoining master.</summary>
public sealed class MasterDecidesDowningProvider(ActorSystem system, AkkaCluster cluster) : Akka.Cluster.IDowningProvider
{
    private readonly DowningSettings _settings = DowningSettings.From(system.Settings.Config);

    /// <summary>Shards and singletons of a downed node move after this margin: the same stable while as the decision.</summary>
    public TimeSpan DownRemovalMargin => _settings.StableAfter;

    public Props DowningActorProps =>
        cluster.SelfRoles.Contains(ShardNames.MasterRole)
            ? Props.Create(() => new MasterDecidesDowningActor(cluster, _settings.StableAfter))
            : Props.Create(() => new RestartWhenDroppedByMasterActor(cluster, _settings.StableAfter));
}

/// <summary>Looks at the membership every tick and downs what the rule says once the unreachable set has been stable.</summary>
internal sealed class MasterDecidesDowningActor : ReceiveActor, IWithTimers
{
    private readonly AkkaCluster _cluster;
    private readonly TimeSpan _stableAfter;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IReadOnlySet<string> _unreachable = new HashSet<string>();
    private DateTime _stableSince = DateTime.UtcNow;

    public MasterDecidesDowningActor(AkkaCluster cluster, TimeSpan stableAfter)
    {
        _cluster = cluster;
        _stableAfter = stableAfter;
        Receive<Tick>(_ => Look());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(_stableAfter.TotalMilliseconds / 10, 100, 1000));
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, tick);
    }

    private void Look()
    {
        var state = _cluster.State;
        var unreachableMembers = state.Unreachable;
        var members = state.Members
            .Order(Member.AgeOrdering)
            .Select((m, age) => new MemberView(
                m.Address.ToString(),
                m.HasRole(ShardNames.MasterRole),
                age,
                !unreachableMembers.Contains(m),
                m.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Removed,
                m.Status is MemberStatus.Down))
            .ToList();
        var unreachable = members.Where(m => !m.Reachable && !m.Down).Select(m => m.Address).ToHashSet();
        if (!unreachable.SetEquals(_unreachable))
        {
            _unreachable = unreachable;
            _stableSince = DateTime.UtcNow;
            // A bot downs only for a rejoining master: during a master's outage it would say so for nothing.
            if (unreachable.Count > 0 && _cluster.SelfRoles.Contains(ShardNames.MasterRole))
            {
                _log.Warning("Unreachable: {Members}; they are downed if that lasts {StableAfter}", string.Join(", ", unreachable), _stableAfter);
            }

            return;
        }

        if (unreachable.Count == 0 || DateTime.UtcNow - _stableSince < _stableAfter)
        {
            return;
        }

        var self = _cluster.SelfAddress.ToString();
        foreach (var address in MasterDecidesDowning.Decide(self, members))
        {
            var member = state.Members.First(m => m.Address.ToString() == address);
            _log.Warning("Downing {Member} (roles {Roles}): unreachable for {Seconds:0.#} s{ForWhom}", address, string.Join(",", member.Roles),
                (DateTime.UtcNow - _stableSince).TotalSeconds, _cluster.SelfRoles.Contains(ShardNames.MasterRole) ? "" : ", for a master that is rejoining");
            _cluster.Down(member.Address);
        }
    }

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }
}

/// <summary>The bot side. A bot downed while cut off rarely hears it: the master removes and quarantines it, and gossip
/// never crosses a quarantine. What it hears, once the network is back, is that a master quarantined it; it then runs
/// coordinated shutdown with the cluster-downing reason, which stops its fuzzers (their jobs run elsewhere now) and lets
/// the node start a fresh actor system that joins again.</summary>
internal sealed class RestartWhenDroppedByMasterActor : ReceiveActor
{
    public RestartWhenDroppedByMasterActor(AkkaCluster cluster, TimeSpan stableAfter)
    {
        // The rule is the same on every node; on a bot it acts only for a master that is rejoining (MasterDecidesDowning).
        Context.ActorOf(Props.Create(() => new MasterDecidesDowningActor(cluster, stableAfter)), "downing");
        var log = Context.GetLogger();
        Receive<Akka.Remote.ThisActorSystemQuarantinedEvent>(e =>
        {
            var master = cluster.State.Members.FirstOrDefault(m => m.Address.Equals(e.RemoteAddress) && m.HasRole(ShardNames.MasterRole));
            if (master is null)
            {
                return;
            }

            log.Warning("The master {Master} has quarantined this node (it was downed while cut off): stopping its work and joining again", e.RemoteAddress);
            CoordinatedShutdown.Get(Context.System).Run(CoordinatedShutdown.ClusterDowningReason.Instance);
        });
    }

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(Akka.Remote.ThisActorSystemQuarantinedEvent));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
}
