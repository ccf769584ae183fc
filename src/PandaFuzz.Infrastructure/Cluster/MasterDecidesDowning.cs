using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using PandaFuzz.Infrastructure.Configuration;
using PandaFuzz.Infrastructure.Sharding;
using AkkaCluster = Akka.Cluster.Cluster;
using Member = Akka.Cluster.Member;
using MemberStatus = Akka.Cluster.MemberStatus;

namespace PandaFuzz.Infrastructure.Cluster;

/// <summary>
/// A member as the downing rule sees it; <see cref="Age"/> orders members, lower is older. <see cref="Down"/>: down or
/// on its way out (leaving, exiting, removed); <see cref="Downed"/>: marked down, as a restarted master's old incarnation
/// is, never by leaving.
/// </summary>
public sealed record MemberView(string Address, bool IsMaster, int Age, bool Reachable, bool Down, bool Downed = false);

/// <summary>
/// The downing rule of a master-and-bots cluster: the master decides. The oldest master a node can reach
/// downs every member it has found unreachable for a stable while; nodes that are not masters never down
/// anyone, themselves included. So a crashed or restarting master never makes bots shut down (they keep
/// fuzzing and buffer their results until a master is back), a lost bot is removed by the master, and a bot
/// cut off by a partition learns it was downed when the partition heals and stops its copy of the work.
/// Akka's split-brain resolver strategies cannot say this: every one of them makes a side without the
/// master (or without a majority) down itself, which would kill healthy fuzzing on every master restart.
/// One case speaks for a master that is not a member yet: a restarted master asks to join, its old incarnation is marked
/// down for it, and its removal waits for every unreachable member to be down. A bot the master had downed just before
/// it died, where that news never reached the others, would then block the new master for good: nobody left may down
/// it. With a master marked down (not one leaving) and none reachable, the oldest reachable member downs the unreachable
/// ones, as the master would right after joining.
/// </summary>
public static class MasterDecidesDowning
{
    /// <summary>The members the node at <paramref name="self"/> should down now, given the members it sees.</summary>
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

/// <summary>
/// Enabled with <c>akka.cluster.downing-provider-class = "PandaFuzz.Infrastructure.Cluster.MasterDecidesDowningProvider, PandaFuzz.Infrastructure"</c>.
/// Master-role nodes run the downing actor; other nodes run the actor that restarts them once a master has given up on
/// them, with the downing actor beside it for the one case where a bot speaks for a rejoining master.
/// </summary>
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

/// <summary>
/// The bot side of the rule. A bot downed while cut off rarely hears that it is down: the master removes it a moment
/// later and quarantines it, and gossip never crosses a quarantine. What the bot does hear, once the network is back,
/// is that a master quarantined it. It then runs coordinated shutdown with the cluster-downing reason, which stops
/// its fuzzers (their jobs run elsewhere now) and lets the node start a fresh actor system that joins again.
/// </summary>
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
