using System.CommandLine;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace PandaFuzz.CommandHost.Palettes;

/// <summary><c>cluster-sharding regions | region-stats -r TYPE | shard-stats -r TYPE</c>.</summary>
public sealed class ShardingPalette(ActorSystem system) : ICommandPalette
{
    private static readonly TimeSpan StatsTimeout = TimeSpan.FromSeconds(5);

    public Command Build(CommandSession session)
    {
        var sharding = ClusterSharding.Get(system);
        var palette = new Command("cluster-sharding", "Shard regions, shards and entities");

        var regions = new Command("regions", "The entity types with a region (or proxy) on this node");
        regions.SetAction(async _ =>
        {
            var names = sharding.ShardTypeNames.Order(StringComparer.Ordinal).ToList();
            await session.ResultAsync(names.Count == 0 ? "no shard region on this node" : string.Join('\n', names), names);
        });
        palette.Subcommands.Add(regions);

        var regionStats = new Command("region-stats", "Entities per shard of one type, over the whole cluster") { TypeOption() };
        regionStats.SetAction(async (parse, _) =>
        {
            var stats = await ClusterStatsAsync(sharding, parse.GetValue<string>("-r")!);
            var shards = stats.Regions.Values.SelectMany(r => r.Stats).OrderBy(s => s.Key, StringComparer.Ordinal).ToList();
            var lines = shards.Select(s => $"shard {s.Key}: {s.Value} entities").ToList();
            lines.Add($"Total: {shards.Sum(s => s.Value)} entities in {shards.Count} shards");
            await session.ResultAsync(string.Join('\n', lines), new
            {
                shards = shards.ToDictionary(s => s.Key, s => s.Value),
                entities = shards.Sum(s => s.Value),
            });
        });
        palette.Subcommands.Add(regionStats);

        var shardStats = new Command("shard-stats", "Shards and entities of one type per node") { TypeOption() };
        shardStats.SetAction(async (parse, _) =>
        {
            var stats = await ClusterStatsAsync(sharding, parse.GetValue<string>("-r")!);
            var nodes = stats.Regions.OrderBy(r => r.Key.ToString(), StringComparer.Ordinal).ToList();
            var lines = nodes.Select(n => $"{n.Key} | {n.Value.Stats.Count} shards | {n.Value.Stats.Values.Sum()} entities").ToList();
            lines.Add($"Count: {nodes.Count} regions");
            await session.ResultAsync(string.Join('\n', lines), nodes.Select(n => new
            {
                address = n.Key.ToString(),
                shards = n.Value.Stats.Count,
                entities = n.Value.Stats.Values.Sum(),
            }).ToList());
        });
        palette.Subcommands.Add(shardStats);
        return palette;
    }

    private static Option<string> TypeOption() => new("-r", "--region") { Description = "The entity type: campaign, job, bot or corpus", Required = true };

    private static async Task<ClusterShardingStats> ClusterStatsAsync(ClusterSharding sharding, string type)
    {
        if (!sharding.ShardTypeNames.Contains(type))
        {
            throw new CommandFailedException($"no shard region '{type}' on this node; 'cluster-sharding regions' lists them");
        }

        try
        {
            return await sharding.ShardRegion(type).Ask<ClusterShardingStats>(new GetClusterShardingStats(StatsTimeout), StatsTimeout + TimeSpan.FromSeconds(1));
        }
        catch (AskTimeoutException)
        {
            throw new CommandFailedException($"the '{type}' regions did not answer within {StatsTimeout.TotalSeconds:0} s");
        }
    }
}
