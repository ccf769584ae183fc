using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Protocol;

namespace PandaFuzz.Master.Campaigns;

/// <summary>
/// After a master starts, wakes every campaign in the journal once; each unfinished campaign then wakes its
/// jobs, and pending jobs announce themselves to the scheduler. Nothing is remembered outside the journal.
/// </summary>
public sealed class CampaignWaker : ReceiveActor
{
    public CampaignWaker(EntityDirectory directory, IActorRegistry registry)
    {
        var log = Context.GetLogger();
        var campaigns = registry.Get<CampaignRegion>();
        ReceiveAsync<Start>(async _ =>
        {
            var ids = await directory.IdsAsync("campaign-");
            foreach (var id in ids)
            {
                campaigns.Tell(new CampaignCommands.WakeCampaign(new CampaignId(id)));
            }

            log.Info("Woke {Count} campaigns from the journal", ids.Count);
            Context.Stop(Self);
        });
    }

    protected override void PreStart() => Self.Tell(Start.Instance);

    private sealed record Start
    {
        public static readonly Start Instance = new();
    }
}

/// <summary>Hosting for the campaign waker.</summary>
public static class CampaignWakerHosting
{
    public static AkkaConfigurationBuilder AddCampaignWaker(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry) =>
            system.ActorOf(Props.Create(() => new CampaignWaker(new EntityDirectory(system), registry)), "campaign-waker"));
}
