using PandaFuzz.Master.Observability;
using PandaFuzz.Master.Notifications;
using Akka.Hosting;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Bots;
using PandaFuzz.Master.Campaigns;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Corpus;
using PandaFuzz.Master.Jobs;
using PandaFuzz.Master.Projection;
using PandaFuzz.Master.Scheduling;
using PandaFuzz.Master.Targets;

namespace PandaFuzz.Master;

/// <summary>The master role as one chain: entities, scheduler, blob server, the wake-up after a restart, and the read-model projection.</summary>
public static class MasterHosting
{
    public static AkkaConfigurationBuilder AddMasterRole(this AkkaConfigurationBuilder builder, MasterSettings settings, ContentAddressedStore blobs) =>
        builder
            .AddCrashWebhookNotifier(settings.Webhooks)
            .AddStatsRecorder(settings)
            .AddCampaignEntities(settings, blobs)
            .AddCorpusEntities(settings, blobs)
            .AddJobEntities(settings)
            .AddBotEntities(settings)
            .AddTargetEntities(settings)
            .AddScheduler(settings)
            .AddBlobServer<BlobServer>(blobs, BlobServerActor.MasterName)
            .AddCampaignWaker()
            .AddCoverageSchedule(settings)
            .AddReadModelProjection(settings.ReadModel);
}
