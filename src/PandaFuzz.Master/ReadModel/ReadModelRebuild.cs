using System.Diagnostics;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Persistence.Sql;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Master.Persistence;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Master.ReadModel;

/// <summary>What a rebuild did: the events applied per tag and how long it took.</summary>
public sealed record RebuildResult(IReadOnlyDictionary<string, long> EventsByTag, TimeSpan Took)
{
    public long Events => EventsByTag.Values.Sum();
}

/// <summary>
/// Rebuilds the read model from the journal while the master is stopped: empties the projected tables and offsets,
/// then projects every tag's events from the start, in batches with their offsets as the live projection does. A
/// master that starts afterwards resumes from the rebuilt offsets.
/// </summary>
public static class ReadModelRebuild
{
    /// <summary>Rebuilds with the read journal of <paramref name="system"/>; refuses while anyone else writes the read model.</summary>
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

        var pages = TaggedEventReader.For(system);
        var counts = new Dictionary<string, long>();
        foreach (var tag in ReadModelProjection.Tags)
        {
            long applied = 0;
            long offset = 0;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var page = await pages(tag, offset, batchSize);
                if (page.Count == 0)
                {
                    break;
                }

                using (var connection = database.Open())
                {
                    applied += ReadModelWriter.Write(connection, [.. page.Select(e => ReadModelProjection.ToProjected(tag, e))], DateTimeOffset.UtcNow);
                }

                offset = ((Sequence)page[^1].Offset).Value;
            }

            counts[tag] = applied;
        }

        return new RebuildResult(counts, clock.Elapsed);
    }

    /// <summary>
    /// An actor system that only reads the journal <paramref name="persistence"/> names (<see cref="MasterStorage.Persistence"/>):
    /// local (no cluster, no remoting), with the protocol serializer and the node's persistence settings from <paramref name="nodeConfig"/>,
    /// and the connection options of <paramref name="dataOptions"/> (<see cref="MasterStorage.Setup"/>) when given.
    /// </summary>
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
