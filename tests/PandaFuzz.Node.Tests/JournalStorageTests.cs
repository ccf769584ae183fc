using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql;
using FluentAssertions;
using LinqToDB.Data;
using Microsoft.Data.Sqlite;
using PandaFuzz.Master.Persistence;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>The journal's per-connection SQLite settings, read back from connections opened the way the journal opens them.</summary>
public sealed class JournalStorageTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "pandafuzz-journal-" + Guid.NewGuid().ToString("N"));

    public JournalStorageTests() => Directory.CreateDirectory(_dir);

    private string Database => Path.Combine(_dir, SqliteJournal.FileName);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void A_connection_opened_with_the_journal_options_has_the_chosen_pragmas()
    {
        SqliteJournal.EnableWriteAheadLog(Database);

        using var connection = new DataConnection(SqliteJournal.DataOptions(Database));

        connection.Execute<string>("PRAGMA journal_mode").Should().Be("wal");
        connection.Execute<long>("PRAGMA synchronous").Should().Be((long)SqlitePragmas.Journal.Synchronous).And.Be(2, "FULL");
        connection.Execute<long>("PRAGMA busy_timeout").Should().Be(5000);
    }

    [Fact]
    public void Other_pragmas_take_effect_too_so_the_values_read_back_are_not_sqlites_defaults()
    {
        SqliteJournal.EnableWriteAheadLog(Database);
        var other = new SqlitePragmas(SqliteSynchronous.Normal, TimeSpan.FromMilliseconds(1234));

        using var connection = new DataConnection(SqliteJournal.DataOptions(Database, other));

        connection.Execute<long>("PRAGMA synchronous").Should().Be(1);
        connection.Execute<long>("PRAGMA busy_timeout").Should().Be(1234);
    }

    [Fact]
    public async Task The_journal_and_snapshot_store_of_an_actor_system_open_their_connections_through_the_pragmas()
    {
        SqliteJournal.EnableWriteAheadLog(Database);
        var interceptor = new SqlitePragmaInterceptor(SqlitePragmas.Journal);
        var config = SqliteJournal.Persistence(Database)
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "persistence.conf"))))
            .WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING"))
            .WithFallback(SqlPersistence.DefaultConfiguration);
        var system = ActorSystem.Create("pragmas", ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config), SqliteJournal.Setup(Database, interceptor)));
        try
        {
            var actor = system.ActorOf(Props.Create(() => new Recorder("pragmas-1")));

            (await actor.Ask<string>("one", TimeSpan.FromSeconds(30))).Should().Be("persisted one");
        }
        finally
        {
            await system.Terminate();
        }

        interceptor.Applied.Should().BeGreaterThan(0, "the journal's connections are opened with the DataOptions of the setup");
        using var check = new SqliteConnection($"Data Source={Database};Pooling=False");
        check.Open();
        using var command = check.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = 'pragmas-1'";
        ((long)command.ExecuteScalar()!).Should().Be(1, "the event went to the configured file");
    }

    private sealed class Recorder : ReceivePersistentActor
    {
        public Recorder(string persistenceId)
        {
            PersistenceId = persistenceId;
            Command<string>(text =>
            {
                var sender = Sender;
                Persist(text, e => sender.Tell("persisted " + e));
            });
            Recover<string>(_ => { });
        }

        public override string PersistenceId { get; }
    }
}
