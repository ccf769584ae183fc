using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
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

    /// <summary>What linq2db 6.5.1 makes of Akka.Persistence.Sql 1.5.73's tag look-up in TagTable mode (captured from its trace).</summary>
    private const string WholeTableTagAggregate =
        "SELECT\n\t[x_1].[Ordering],\n\t(\n\t\tSELECT\n\t\t\tGROUP_CONCAT(CASE\n\t\t\t\tWHEN [t1].[ordering_id] = [x_1].[Ordering] THEN [t1].[tag]\n" +
        "\t\t\t\tELSE NULL\n\t\t\tEND, ';')\n\t\tFROM\n\t\t\t[tags] [t1]\n\t)\nFROM\n\t[journal] [x_1]";

    [Fact]
    public void The_tag_look_up_is_rewritten_into_a_correlated_aggregate_and_other_queries_are_left_alone()
    {
        TagQueryInterceptor.Rewrite(WholeTableTagAggregate).Should().Be(
            "SELECT\n\t[x_1].[Ordering],\n\t(\n\t\tSELECT\n\t\t\tGROUP_CONCAT([t1].[tag], ';')\n\t\tFROM\n\t\t\t[tags] [t1] WHERE [t1].[ordering_id] = [x_1].[Ordering]\n\t)\nFROM\n\t[journal] [x_1]");
        TagQueryInterceptor.Rewrite(
                "SELECT [x].[ordering] FROM\n\t\t\t[journal] [x]\n\t\t\t\tINNER JOIN [tags] [lp] ON [lp].[ordering_id] = [x].[ordering]\n\t\tWHERE\n\t\t\t" +
                "[lp].[ordering_id] > @Offset AND\n\t\t\t[lp].[tag] = @Tag\n\t\tORDER BY\n\t\t\t[x].[ordering]\n\t\tLIMIT @take")
            .Should().Be(
                "SELECT [x].[ordering] FROM\n\t\t\t[journal] [x]\n\t\t\t\tINNER JOIN [tags] [lp] ON [lp].[ordering_id] = [x].[ordering]\n\t\tWHERE\n\t\t\t" +
                "[lp].[ordering_id] > @Offset AND\n\t\t\t[lp].[tag] = @Tag\n\t\tORDER BY\n\t\t\t[lp].[ordering_id]\n\t\tLIMIT @take");
        const string other = "SELECT CASE WHEN [t1].[ordering_id] = 1 THEN 2 ELSE NULL END FROM [tags] [t1] WHERE [t1].[tag] = 'job'";
        TagQueryInterceptor.Rewrite(other).Should().BeSameAs(other);
    }

    [Fact]
    public async Task The_read_journal_reads_events_by_tag_through_the_rewritten_tag_look_up()
    {
        SqliteJournal.EnableWriteAheadLog(Database);
        var config = SqliteJournal.Persistence(Database)
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "persistence.conf"))))
            .WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING"))
            .WithFallback(SqlPersistence.DefaultConfiguration);
        var system = ActorSystem.Create("tags", ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config), SqliteJournal.Setup(Database)));
        try
        {
            var recorder = system.ActorOf(Props.Create(() => new Recorder("tags-1", true)));
            (await recorder.Ask<string>("one", TimeSpan.FromSeconds(30))).Should().Be("persisted one");
            (await recorder.Ask<string>("two", TimeSpan.FromSeconds(30))).Should().Be("persisted two");
            var before = TagQueryInterceptor.Instance.Rewritten;

            var events = await PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
                .CurrentEventsByTag("recorded", Offset.NoOffset())
                .RunWith(Sink.Seq<EventEnvelope>(), system.Materializer())
                .WaitAsync(TimeSpan.FromSeconds(30));

            events.Select(e => e.Event).Should().Equal("one", "two");
            events.Should().AllSatisfy(e => e.Tags.Should().Equal("recorded"));
            TagQueryInterceptor.Instance.Rewritten.Should().BeGreaterThan(before, "the events' tags are read through the rewritten query");
            using var check = new SqliteConnection($"Data Source={Database};Pooling=False");
            check.Open();
            using var command = check.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'tags_tag_ordering_idx'";
            ((long)command.ExecuteScalar()!).Should().Be(1, "the journal's table creation adds the index on (tag, ordering_id)");
        }
        finally
        {
            await system.Terminate();
        }
    }

    private sealed class Recorder : ReceivePersistentActor
    {
        public Recorder(string persistenceId, bool tagged = false)
        {
            PersistenceId = persistenceId;
            Command<string>(text =>
            {
                var sender = Sender;
                Persist<object>(tagged ? new Tagged(text, ["recorded"]) : text, _ => sender.Tell("persisted " + text));
            });
            Recover<string>(_ => { });
        }

        public override string PersistenceId { get; }
    }
}
