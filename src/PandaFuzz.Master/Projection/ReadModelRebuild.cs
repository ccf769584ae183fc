using PandaFuzz.Infrastructure.Sharding;
using System.Diagnostics;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Persistence.Sql;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Master.Persistence;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Master.Projection;

/// <summary>What a rebuild did: events applied per entity kind, and how long it took.</summary>
public sealed record RebuildResult(IReadOnlyDictionary<string, long> EventsByKind, TimeSpan Took)
{
    public long Events => EventsByKind.Values.Sum();
}

/// <summary>
/// Rebuilds the read model from the journal while the master is stopped, in batches with their offsets as the live
/// projection writes them, so a master started afterwards resumes from the rebuilt offsets.
/// </summary>
public static class ReadModelRebuild
{
    /// <summary>Refuses while anyone else writes the read model.</summary>
    public static async Task<RebuildResult> RunAsync(ActorSystem system, ReadModelDatabase database, int batchSize, CancellationToken ct = default)
    {
        using var held = ReadModelLock.TryAcquire(database)
            ?? throw new ReadModelSchemaException(
                $"the read model {database.Name} is being written ({ReadModelLock.Describe(database)}): stop the master before 'pandafuzz db rebuild-read-model'");
        new ReadModelSchema(database).EnsureCurrent(migrate: false);
        var clock = Stopwatch.StartNew();
        using (var connection = database.Open())
        {
            ReadModelWriter.Reset(connection);
        }

        var pages = JournalEventReader.For(system);
        var counts = EntityKinds.All.ToDictionary(kind => kind, _ => 0L);
        long offset = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var page = await pages(offset, batchSize);
            if (page.Count == 0)
            {
                break;
            }

            offset = ((Sequence)page[^1].Offset).Value;
            var events = page.Select(ReadModelProjection.Read).Where(r => r.Event is not null).Select(r => r.Event!).ToList();
            using (var connection = database.Open())
            {
                ReadModelWriter.Write(connection, events, DateTimeOffset.UtcNow, (offset, EntityKinds.All));
            }

            foreach (var e in events)
            {
                counts[e.Tag]++;
            }
        }

        return new RebuildResult(counts, clock.Elapsed);
    }

    /// <summary>A local actor system (no cluster, no remoting) that only reads the journal <paramref name="persistence"/> names.</summary>
    public static ActorSystem OfflineJournalReader(Config persistence, Config nodeConfig, Setup? dataOptions = null)
    {
        var bindings = string.Join(Environment.NewLine, ProtocolSerializer.BoundTypes.Select(t => $"\"{QualifiedName(t)}\" = pandafuzz"));
        var config = ConfigurationFactory.ParseString($$"""
                akka {
                  loglevel = WARNING
                  stdout-loglevel = WARNING
                  loggers = ["Akka.Event.DefaultLogger"]
                  actor {
                    provider = local
                    serializers { pandafuzz = "{{QualifiedName(typeof(ProtocolSerializer))}}" }
                    serialization-bindings {
                      {{bindings}}
                    }
                  }
                }
                """)
            .WithFallback(persistence)
            .WithFallback(nodeConfig)
            .WithFallback(SqlPersistence.DefaultConfiguration);
        var bootstrap = BootstrapSetup.Create().WithConfig(config);
        return ActorSystem.Create("pandafuzz-rebuild", dataOptions is null ? ActorSystemSetup.Create(bootstrap) : ActorSystemSetup.Create(bootstrap, dataOptions));
    }

    private static string QualifiedName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
