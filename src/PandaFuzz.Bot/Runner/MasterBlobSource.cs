using Akka.Actor;
using Akka.Cluster;
using PandaFuzz.Infrastructure.Sharding;

namespace PandaFuzz.Bot.Runner;

/// <summary>
/// Which master blob server a job fetches from: the master that started it may be gone while the job runs on, so the
/// oldest master up (they share one blob store); with none up, the named one, since a restarted master keeps its address.
/// </summary>
public static class MasterBlobSource
{
    public static ActorSelection Resolve(ActorSystem system, string namedPath)
    {
        // Outside a cluster (a bot's tests on a local actor system) there is only the named one.
        if (!ActorPath.TryParse(namedPath, out var named) || ((ExtendedActorSystem)system).Provider is not ClusterActorRefProvider)
        {
            return system.ActorSelection(namedPath);
        }

        var state = Cluster.Get(system).State;
        var upMasters = state.Members
            .Where(m => m.HasRole(ShardNames.MasterRole) && m.Status == MemberStatus.Up && !state.Unreachable.Contains(m))
            .ToList();
        if (upMasters.Count == 0 || upMasters.Any(m => m.Address.Equals(named.Address)))
        {
            return system.ActorSelection(named);
        }

        var oldest = upMasters.Order(Member.AgeOrdering).First();
        return system.ActorSelection(new RootActorPath(oldest.Address) / named.Elements);
    }
}
