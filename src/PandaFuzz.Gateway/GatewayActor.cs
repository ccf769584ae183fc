using Akka.Actor;
using Akka.Hosting;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>The HTTP edge's one door into the cluster: routes each request to its entity, which answers the asker directly.</summary>
public sealed class GatewayActor : ReceiveActor
{
    public const string Name = "gateway";

    public GatewayActor(IActorRegistry registry)
    {
        var campaigns = registry.Get<CampaignRegion>();
        var jobs = registry.Get<JobRegion>();
        var bots = registry.Get<BotRegion>();
        var corpora = registry.Get<CorpusRegion>();
        var targets = registry.Get<TargetRegion>();
        var scheduler = registry.Get<SchedulerProxy>();

        Receive<IWithCampaignId>(m => campaigns.Forward(m));
        Receive<IWithJobId>(m => jobs.Forward(m));
        Receive<IWithBotId>(m => bots.Forward(m));
        Receive<IWithCorpusId>(m => corpora.Forward(m));
        Receive<IWithTargetName>(m => targets.Forward(m));
        Receive<SchedulerMessages.GetQueue>(m => scheduler.Forward(m));
    }
}

/// <summary>Hosting for the gateway actor.</summary>
public static class GatewayHosting
{
    public static AkkaConfigurationBuilder AddGateway(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry) =>
            registry.Register<GatewayActor>(system.ActorOf(Props.Create(() => new GatewayActor(registry)), GatewayActor.Name)));
}
