using Akka;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using PandaFuzz.Bot.Agent;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Simulation;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot;

/// <summary>The bot role as one chain: region proxies, the outbox's blob server, the outbox, the agents.</summary>
public static class BotHosting
{
    public static IReadOnlyList<IFuzzingEngine> KnownEngines(SimulationSettings simulation, bool libFuzzerFork = true, int aflCmplogEvery = 2) =>
        simulation switch
        {
            // Many bots in one node would share the cores: only the simulated engine, which uses none, is offered then.
            { Enabled: true, Bots: > 1 } => [new SimulatedEngine()],
            { Enabled: true } => [new LibFuzzerEngine(libFuzzerFork), new AflPlusPlusEngine(aflCmplogEvery), new SimulatedEngine()],
            _ => [new LibFuzzerEngine(libFuzzerFork), new AflPlusPlusEngine(aflCmplogEvery)],
        };

    /// <summary>
    /// Found once at start, before anything else: a required sandbox measure this machine cannot enforce stops the start.
    /// A bot that offers only engines that run no target takes jobs even without isolation.
    /// </summary>
    public static BotCapabilities Capabilities(BotSettings settings, BotStorage storage)
    {
        var installed = KnownEngines(settings.Simulation, settings.LibFuzzerFork, settings.AflCmplogEvery)
            .Select(engine => (Engine: engine, Version: engine.DetectVersion()))
            .Where(e => e.Version is not null)
            .ToList();
        var report = Sandbox.Start(settings.Sandbox with { WorkRoot = storage.JobsRoot }).Report;
        if (installed.All(e => e.Engine is IInProcessEngine))
        {
            report = report with { RefusesJobs = null };
        }

        return new BotCapabilities(
            [.. installed.Select(e => new EngineCapability(e.Engine.Name, e.Version!))],
            settings.Slots,
            GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024),
            report);
    }

    /// <param name="capabilities">From <see cref="Capabilities"/>, for the same settings and storage.</param>
    public static AkkaConfigurationBuilder AddBotRole(this AkkaConfigurationBuilder builder, BotSettings settings, BotStorage storage, BotCapabilities capabilities, bool masterInThisNode)
    {
        settings = settings with { Sandbox = settings.Sandbox with { WorkRoot = storage.JobsRoot } };
        if (!masterInThisNode)
        {
            builder
                .WithShardRegionProxy<CampaignRegion>(ShardNames.Campaign, ShardNames.MasterRole, new CampaignMessageExtractor(ShardNames.MaxShards))
                .WithShardRegionProxy<JobRegion>(ShardNames.Job, ShardNames.MasterRole, new JobMessageExtractor(ShardNames.MaxShards))
                .WithShardRegionProxy<BotRegion>(ShardNames.Bot, ShardNames.MasterRole, new BotMessageExtractor(ShardNames.MaxShards))
                .WithShardRegionProxy<CorpusRegion>(ShardNames.Corpus, ShardNames.MasterRole, new CorpusMessageExtractor(ShardNames.MaxShards));
        }

        var engines = KnownEngines(settings.Simulation, settings.LibFuzzerFork, settings.AflCmplogEvery).Where(engine => capabilities.Supports(engine.Name)).ToList();

        return builder
            .AddBlobServer<BotBlobServer>(storage.Outbox, BlobServerActor.BotName)
            .AddBotOutbox(settings.Outbox, storage)
            .AddBotAgents(settings, storage, capabilities, engines);
    }
}
