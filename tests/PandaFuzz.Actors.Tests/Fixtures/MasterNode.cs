using Akka.Actor;
using Akka.TestKit;
using PandaFuzz.Master.Configuration;

namespace PandaFuzz.Actors.Tests.Fixtures;

/// <summary>
/// One running master: its actor system (a one-node cluster), the three shard regions over the real entities,
/// and the probe registered as the scheduler proxy.
/// </summary>
public sealed record MasterNode(
    ActorSystem System,
    Address SelfAddress,
    IActorRef Campaigns,
    IActorRef Jobs,
    IActorRef Bots,
    TestProbe Scheduler,
    MasterSettings Settings)
{
    /// <summary>The target entities' shard region.</summary>
    public IActorRef Targets { get; init; } = ActorRefs.Nobody;

    /// <summary>The full remote path of a local actor, as a bot agent announces its own (<c>akka.tcp://…/user/…</c>).</summary>
    public string PathOf(IActorRef actor) => actor.Path.ToStringWithAddress(SelfAddress);
}
