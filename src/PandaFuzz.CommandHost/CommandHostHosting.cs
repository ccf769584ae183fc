using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using PandaFuzz.CommandHost.Palettes;

namespace PandaFuzz.CommandHost;

/// <summary>Hosting for the command host: every node gets the cluster, actor, sharding and log palettes; a master also the fuzzing ones.</summary>
public static class CommandHostHosting
{
    /// <param name="masterApi">This master's own HTTP API (<c>http://host:port/api/v1/</c>), or null on a bot-only node.</param>
    public static IServiceCollection AddCommandHost(this IServiceCollection services, CommandHostSettings settings, Uri? masterApi, string? apiToken = null)
    {
        services.AddSingleton(settings);
        services.AddSingleton(RecentLog.Instance);
        services.AddSingleton<ICommandPalette>(sp => new ClusterPalette(sp.GetRequiredService<ActorSystem>()));
        services.AddSingleton<ICommandPalette>(sp => new ActorPalette(sp.GetRequiredService<ActorSystem>()));
        services.AddSingleton<ICommandPalette>(sp => new ShardingPalette(sp.GetRequiredService<ActorSystem>()));
        services.AddSingleton<ICommandPalette>(sp => new LogPalette(sp.GetRequiredService<RecentLog>()));
        if (masterApi is not null)
        {
            services.AddSingleton(new GatewayClient(masterApi, apiToken ?? ""));
            services.AddSingleton<ICommandPalette>(sp => new CampaignPalette(sp.GetRequiredService<GatewayClient>()));
            services.AddSingleton<ICommandPalette>(sp => new JobPalette(sp.GetRequiredService<GatewayClient>()));
            services.AddSingleton<ICommandPalette>(sp => new BotPalette(sp.GetRequiredService<GatewayClient>()));
            services.AddSingleton<ICommandPalette>(sp => new BugPalette(sp.GetRequiredService<GatewayClient>()));
            services.AddSingleton<ICommandPalette>(sp => new CrashPalette(sp.GetRequiredService<GatewayClient>()));
            services.AddSingleton<ICommandPalette>(sp => new QueuePalette(sp.GetRequiredService<GatewayClient>()));
            services.AddSingleton<ICommandPalette>(sp => new CiPalette(sp.GetRequiredService<GatewayClient>()));
        }

        services.AddSingleton<CommandPalettes>();
        services.AddHostedService<CommandHostService>();
        return services;
    }
}
