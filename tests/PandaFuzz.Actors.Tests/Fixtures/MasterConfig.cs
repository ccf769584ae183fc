using Akka.Configuration;
using Akka.Persistence.Sql;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Master.Persistence;

namespace PandaFuzz.Actors.Tests.Fixtures;

/// <summary>
/// HOCON of a master node as the node composes it: cluster provider, remoting on 127.0.0.1:0, role "master",
/// the protocol serializer on its bound types, and the shipped SQLite persistence file over a real database file.
/// </summary>
public static class MasterConfig
{
    public const string SerializerName = "pandafuzz";

    public static Config Build(string databasePath) => Build(SqliteJournal.Persistence(databasePath));

    /// <summary>The same over the journal, snapshot store and read journal <paramref name="persistence"/> names (SQLite or PostgreSQL).</summary>
    public static Config Build(Config persistence)
    {
        var serializer = QualifiedName(typeof(ProtocolSerializer));
        var bindings = string.Join(Environment.NewLine, ProtocolSerializer.BoundTypes.Select(t => $"\"{QualifiedName(t)}\" = {SerializerName}"));
        var hocon = $$"""
            akka {
              loglevel = INFO
              log-dead-letters-during-shutdown = off
              actor {
                provider = cluster
                serializers { {{SerializerName}} = "{{serializer}}" }
                serialization-bindings {
                  {{bindings}}
                }
              }
              remote {
                dot-netty.tcp {
                  hostname = "127.0.0.1"
                  port = 0
                }
                # Nothing remote to flush in a one-node test cluster; the default waits 2 s at every stop.
                flush-wait-on-shutdown = 100ms
              }
              cluster {
                roles = ["master"]
                # The node leaves faster on a stop (the default moves it to Exiting after up to 1 s).
                leader-actions-interval = 200ms
                sharding {
                  remember-entities = off
                  # A region registers with its coordinator sooner after the node is up.
                  retry-interval = 200ms
                  # No remember-entities, so no durable (LMDB) store for the coordinator's replicator.
                  distributed-data.durable.keys = []
                }
              }
              coordinated-shutdown.run-by-clr-shutdown-hook = off
              test.single-expect-default = 10s
            }
            """;

        return ConfigurationFactory.ParseString(hocon)
            .WithFallback(persistence)
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(ShippedFile("persistence.conf"))))
            .WithFallback(SqlPersistence.DefaultConfiguration);
    }

    /// <summary>A file of the repository's hocon/ folder, copied beside the test assembly by the project file.</summary>
    public static string ShippedFile(string name) => Path.Combine(AppContext.BaseDirectory, "hocon", name);

    private static string QualifiedName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
