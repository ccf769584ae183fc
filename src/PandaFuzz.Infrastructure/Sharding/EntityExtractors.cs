using Akka.Cluster.Sharding;
using PandaFuzz.Protocol;

namespace PandaFuzz.Infrastructure.Sharding;

/// <summary>Routes <see cref="IWithCampaignId"/> messages to campaign entities.</summary>
public sealed class CampaignMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => (message as IWithCampaignId)?.CampaignId.Value;
}

/// <summary>Routes <see cref="IWithJobId"/> messages to job entities.</summary>
public sealed class JobMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => (message as IWithJobId)?.JobId.Value;
}

/// <summary>Routes <see cref="IWithBotId"/> messages to bot entities.</summary>
public sealed class BotMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => (message as IWithBotId)?.BotId.Value;
}

/// <summary>Routes <see cref="IWithCorpusId"/> messages to corpus entities.</summary>
public sealed class CorpusMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => (message as IWithCorpusId)?.CorpusOf.Value;
}

/// <summary>Routes <see cref="IWithTargetName"/> messages to target entities.</summary>
public sealed class TargetMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => (message as IWithTargetName)?.TargetName;
}

/// <summary>Names shared by the master (which hosts the regions) and bots (which reach them through proxies).</summary>
public static class ShardNames
{
    public const string MasterRole = "master";
    public const string BotRole = "bot";
    public const string Campaign = EntityKinds.Campaign;
    public const string Job = EntityKinds.Job;
    public const string Bot = EntityKinds.Bot;
    public const string Corpus = EntityKinds.Corpus;
    public const string Target = EntityKinds.Target;
    public const int MaxShards = 50;

    /// <summary>Entities live on masters, not remembered. Coordinators keep their state in the journal (Akka's default):
    /// distributed data broke the bots' proxies after a master restart (no bot message reached an entity for 5 minutes).</summary>
    /// <param name="passivatesItself">The entity asks its shard to passivate it; otherwise the shard does after
    /// <c>akka.cluster.sharding.passivate-idle-entity-after</c> without a message.</param>
    public static Akka.Cluster.Hosting.ShardOptions MasterEntities(bool passivatesItself = false) => new()
    {
        Role = MasterRole,
        RememberEntities = false,
        ShouldPassivateIdleEntities = passivatesItself ? false : null,
    };
}

/// <summary>Registry key of the campaign shard region (or its proxy on a bot-only node).</summary>
public sealed class CampaignRegion;

/// <summary>Registry key of the job shard region (or its proxy).</summary>
public sealed class JobRegion;

/// <summary>Registry key of the bot shard region (or its proxy).</summary>
public sealed class BotRegion;

/// <summary>Registry key of the corpus shard region (or its proxy).</summary>
public sealed class CorpusRegion;

/// <summary>Registry key of the target shard region.</summary>
public sealed class TargetRegion;

/// <summary>Registry key of the scheduler singleton's proxy.</summary>
public sealed class SchedulerProxy;

/// <summary>Registry key of the master's blob server.</summary>
public sealed class BlobServer;

/// <summary>Registry key of a bot's blob server.</summary>
public sealed class BotBlobServer;
