using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Persistence;
using PandaFuzz.Domain.Targets;
using PandaFuzz.Infrastructure.Actors;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.TargetCommands;
using static PandaFuzz.Protocol.TargetQueries;

namespace PandaFuzz.Master.Targets;

/// <summary>Owns one named target's list of builds: one actor per name, so two uploads never get the same build number.</summary>
public sealed class TargetEntity : EventSourcedEntity
{
    private TargetState _state;

    public TargetEntity(string name, MasterSettings settings)
        : base(EntityKinds.PersistenceId(EntityKinds.Target, name), settings.SnapshotEvery)
    {
        _state = TargetState.Empty(name);

        Recover<SnapshotOffer>(offer => _state = (TargetState)offer.Snapshot);
        Recover<IPersistedEvent>(e => _state = _state.Apply(e));

        Command<AddTargetBinary>(add =>
        {
            var builds = _state.Builds.Count;
            Decide(_state.AddBinary(add.Binary, add.Revision, add.CreatedAt, add.Build, DateTimeOffset.UtcNow, add.SourceRoot), e => _state = _state.Apply(e),
                sender => sender.Tell(new TargetBinaryAdded(_state.Name, _state.BuildFor(add.Binary, add.Revision, add.Build), _state.Builds.Count > builds)),
                (sender, reason) => sender.Tell(new CommandRejected(reason, KindOf(add))));
        });
        Command<GetTargetBuilds>(_ => Sender.Tell(new TargetBuilds(_state.Name, _state.Builds)));
    }

    protected override object SnapshotState => _state;

    private RejectionKind KindOf(AddTargetBinary add) =>
        !TargetBinaryKinds.Known.Contains(add.Binary.Kind) ? RejectionKind.Invalid
        : add.Build is { } number && _state.Builds.All(b => b.Number != number) ? RejectionKind.NotFound
        : RejectionKind.Conflict;
}

/// <summary>Hosting for the target shard region.</summary>
public static class TargetEntityHosting
{
    public static AkkaConfigurationBuilder AddTargetEntities(this AkkaConfigurationBuilder builder, MasterSettings settings) =>
        builder.WithShardRegion<TargetRegion>(
            ShardNames.Target,
            (_, _, _) => name => ActorProps.Of(() => new TargetEntity(name, settings)),
            new TargetMessageExtractor(ShardNames.MaxShards),
            ShardNames.MasterEntities());
}
