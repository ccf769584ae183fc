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

/// <summary>
/// The bot role as one chain: proxies to the master's regions (when the master is elsewhere), the outbox's blob server,
/// the outbox of messages for the master, the agent.
/// </summary>
public static class BotHosting
{
    /// <summary>The engines this build knows; the ones that can run here become the bot's capabilities.</summary>
    public static IReadOnlyList<IFuzzingEngine> KnownEngines(SimulationSettings simulation) =>
        simulation switch
        {
            // Many bots in one node would share the cores: only the simulated engine, which uses none, is offered then.
            { Enabled: true, Bots: > 1 } => [new SimulatedEngine()],
            { Enabled: true } => [new LibFuzzerEngine(), new AflPlusPlusEngine(), new SimulatedEngine()],
            _ => [new LibFuzzerEngine(), new AflPlusPlusEngine()],
        };

    public static AkkaConfigurationBuilder AddBotRole(this AkkaConfigurationBuilder builder, BotSettings settings, BotStorage storage, bool masterInThisNode)
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

        var installed = KnownEngines(settings.Simulation)
            .Select(engine => (Engine: engine, Version: engine.DetectVersion()))
            .Where(e => e.Version is not null)
            .ToList();
        var engines = installed.Select(e => e.Engine).ToList();
        // Probed before anything runs: a required measure this machine cannot enforce stops the start here.
        var sandbox = Sandbox.Start(settings.Sandbox);
        var capabilities = new BotCapabilities(
            [.. installed.Select(e => new EngineCapability(e.Engine.Name, e.Version!))],
            settings.Slots,
            GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024),
            sandbox.Report);

        return builder
            .AddBlobServer<BotBlobServer>(storage.Outbox, BlobServerActor.BotName)
            .AddBotOutbox(settings.Outbox, storage)
            .WithActors((system, registry) =>
            {
                // One agent per bot: the node's own, or each of its simulated bots with its own id and work dirs.
                var agents = Enumerable.Range(0, settings.Simulation.Bots).Select(index =>
                {
                    var botStorage = storage.ForSimulatedBot(index);
                    var botSettings = settings with { Sandbox = settings.Sandbox with { WorkRoot = botStorage.JobsRoot } };
                    return system.ActorOf(
                        Props.Create(() => new BotAgentActor(botStorage.Identity, botSettings, engines, capabilities, botStorage, registry)),
                        index == 0 ? BotAgentActor.Name : $"{BotAgentActor.Name}-{index}");
                }).ToList();

                // Fuzzing stops first whenever the node shuts down: a node downed or dropped by the master must not keep a
                // copy of a job that now runs elsewhere while the cluster phases of the shutdown time out.
                CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "stop-fuzzing", async () =>
                {
                    try
                    {
                        await Task.WhenAll(agents.Select(agent => agent.GracefulStop(settings.StopGrace + settings.StopGrace + TimeSpan.FromSeconds(5))));
                    }
                    catch (TaskCanceledException)
                    {
                        // The agent's children got their stop; what is still alive dies with the actor system.
                    }

                    return Done.Instance;
                });
            });
    }
}
