using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Scheduling;
using PandaFuzz.Protocol;

namespace PandaFuzz.Master.Campaigns;

/// <summary>
/// After a master starts, wakes every campaign in the journal once; each wakes its jobs, which announce themselves to
/// the scheduler. Entities of a master that is gone restart elsewhere only when a message reaches them, so when
/// another master leaves, or the scheduler restarted, every campaign is woken again (idempotent) and tells its jobs:
/// queued jobs out of memory announce themselves only when told.
/// </summary>
public sealed class CampaignWaker : ReceiveActor
{
    public CampaignWaker(EntityDirectory directory, IActorRegistry registry)
    {
        var log = Context.GetLogger();
        var campaigns = registry.Get<CampaignRegion>();
        var cluster = Cluster.Get(Context.System);
        ReceiveAsync<Start>(async start =>
        {
            var ids = await directory.IdsAsync(EntityKinds.PersistenceIdPrefix(EntityKinds.Campaign));
            foreach (var id in ids)
            {
                campaigns.Tell(new CampaignCommands.WakeCampaign(new CampaignId(id), start.RetellJobs));
            }

            log.Info("Woke {Count} campaigns from the journal{Why}", ids.Count, start.Why);
        });
        Receive<ClusterEvent.MemberRemoved>(removed =>
        {
            if (removed.Member.HasRole(ShardNames.MasterRole) && !removed.Member.Address.Equals(cluster.SelfAddress))
            {
                Self.Tell(new Start($": the master {removed.Member.Address} left, its entities (and perhaps the scheduler) move here", RetellJobs: true));
            }
        });
        Receive<SchedulerRestarted>(restarted =>
            Self.Tell(new Start($": the scheduler restarted after a failure ({restarted.Reason}) and relearns the queue", RetellJobs: true)));
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
    }

    protected override void PreStart()
    {
        Self.Tell(new Start(""));
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));
        Context.System.EventStream.Subscribe<SchedulerRestarted>(Self);
    }

    protected override void PostStop()
    {
        Cluster.Get(Context.System).Unsubscribe(Self);
        Context.System.EventStream.Unsubscribe(Self);
    }

    private sealed record Start(string Why, bool RetellJobs = false);
}

/// <summary>Hosting for the campaign waker.</summary>
public static class CampaignWakerHosting
{
    public static AkkaConfigurationBuilder AddCampaignWaker(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry) =>
            system.ActorOf(Props.Create(() => new CampaignWaker(new EntityDirectory(system), registry)), "campaign-waker"));
}
