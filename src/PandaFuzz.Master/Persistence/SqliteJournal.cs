using System.Data.Common;
using System.Globalization;
using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using LinqToDB.Interceptors;
using Microsoft.Data.Sqlite;

namespace PandaFuzz.Master.Persistence;

/// <summary>The master's SQLite file: one database for the journal, the snapshot store and the read journal.</summary>
public static class SqliteJournal
{
    /// <summary>The file's name in the data dir.</summary>
    public const string FileName = "pandafuzz.db";

    /// <summary>
    /// The journal's connection string. <c>Default Timeout</c> is Microsoft.Data.Sqlite's own retry budget for a
    /// busy file (it sleeps 150 ms between tries), the last resort behind <see cref="SqlitePragmas.BusyTimeout"/>;
    /// pooling keeps the per-connection pragmas and the page cache between the journal's short transactions.
    /// </summary>
    public static string ConnectionString(string databasePath) =>
        new SqliteConnectionStringBuilder { DataSource = databasePath, DefaultTimeout = 30, Pooling = true }.ToString();

    /// <summary>
    /// Points the journal, snapshot store and read journal at <paramref name="databasePath"/>, and writes the journal
    /// the way SQLite can take it: one write transaction at a time (a file has one writer; concurrent batches only
    /// waited for each other in the busy handler), holding every write queued meanwhile, up to 500 events. With
    /// <see cref="SqlitePragmaInterceptor"/>'s yield, <c>pandafuzz-bench journal --quick</c> measured 100 entities
    /// persisting at once at 8,730 events/s median, against 1,863 with the library's defaults (3 batches of up to 100
    /// at a time) and no yield, as before, and 4,328 with the library's defaults and the yield.
    /// The read journal's gap-free max ordering is polled only every second: the projection reads a SQLite journal's
    /// tables itself (<see cref="ReadModel.SqliteJournalEvents"/>), which has no gaps to wait for, so only the plugin's own
    /// queries use it; polled every 100 ms it took ~0.3 % of a core from an idle all-in-one node.
    /// </summary>
    public static Config Persistence(string databasePath)
    {
        var connection = ConnectionString(databasePath);
        var quoted = "\"" + connection.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        return ConfigurationFactory.ParseString($"""
            akka.persistence.journal.sql.parallelism = 1
            akka.persistence.journal.sql.batch-size = 500
            akka.persistence.journal.sql.connection-string = {quoted}
            akka.persistence.snapshot-store.sql.connection-string = {quoted}
            akka.persistence.query.journal.sql.connection-string = {quoted}
            akka.persistence.query.journal.sql.journal-sequence-retrieval.query-delay = 1s
            """);
    }

    /// <summary>
    /// The linq2db options the journal, snapshot store and read journal open their connections with: the same
    /// connection string as <see cref="Persistence"/>, and <paramref name="pragmas"/> applied to every connection
    /// as it opens (SQLite keeps <c>synchronous</c> and <c>busy_timeout</c> per connection, not in the file).
    /// </summary>
    public static DataOptions DataOptions(string databasePath, SqlitePragmas? pragmas = null) =>
        DataOptions(databasePath, new SqlitePragmaInterceptor(pragmas ?? SqlitePragmas.Journal));

    /// <inheritdoc cref="DataOptions(string, SqlitePragmas?)"/>
    /// <remarks>With <see cref="TagQueryInterceptor"/>, so that reading an event's tags does not scan the whole tags table.</remarks>
    public static DataOptions DataOptions(string databasePath, SqlitePragmaInterceptor interceptor) =>
        new DataOptions().UseConnectionString(ProviderName.SQLiteMS, ConnectionString(databasePath))
            .UseInterceptor(interceptor)
            .UseInterceptor(TagQueryInterceptor.Instance);

    /// <summary>
    /// The actor-system setup that makes Akka.Persistence.Sql open its connections with <see cref="DataOptions(string, SqlitePragmas?)"/>
    /// (it takes precedence over the HOCON connection string for every SQL plugin of the system).
    /// </summary>
    public static DataOptionsSetup Setup(string databasePath, SqlitePragmas? pragmas = null) => new(DataOptions(databasePath, pragmas));

    /// <inheritdoc cref="Setup(string, SqlitePragmas?)"/>
    public static DataOptionsSetup Setup(string databasePath, SqlitePragmaInterceptor interceptor) => new(DataOptions(databasePath, interceptor));

    /// <summary>The journal's file as the configuration names it, or null when the journal is not a SQLite file.</summary>
    public static string? DatabasePathFrom(Config config)
    {
        var connection = config.GetString("akka.persistence.journal.sql.connection-string", "");
        if (string.IsNullOrEmpty(connection) || config.GetString("akka.persistence.journal.sql.provider-name", "") != "SQLite.MS")
        {
            return null;
        }

        var source = new SqliteConnectionStringBuilder(connection).DataSource;
        return string.IsNullOrEmpty(source) || source == ":memory:" ? null : Path.GetFullPath(source);
    }

    /// <summary>
    /// WAL lets queries (the read journal, a backup) read while entities write, and commits with one append to the
    /// log instead of rewriting pages twice; the mode is stored in the file, so it is set once, before the actor
    /// system starts.
    /// </summary>
    public static void EnableWriteAheadLog(string databasePath)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }
}

/// <summary>SQLite's <c>synchronous</c> levels (https://sqlite.org/pragma.html#pragma_synchronous).</summary>
public enum SqliteSynchronous
{
    Off = 0,
    Normal = 1,
    Full = 2,
    Extra = 3,
}

/// <summary>The per-connection settings SQLite does not keep in the file, so every connection must be given them.</summary>
public sealed record SqlitePragmas(SqliteSynchronous Synchronous, TimeSpan BusyTimeout)
{
    /// <summary>
    /// The journal's settings (ops/storage.md says why, with the figures):
    /// <list type="bullet">
    /// <item><c>synchronous=FULL</c>: the master answers "created" (and acknowledges a crash report, a bot's
    /// progress) once its event is committed, and in WAL mode only FULL makes that commit survive a power loss or a
    /// kernel crash (NORMAL keeps the file intact but may lose the last commits). It costs throughput: NORMAL
    /// persisted 1.5 times as many events per second in <c>pandafuzz-bench journal</c> (medians 2,240 against 1,373
    /// on 2 cores here), but the master persists state transitions, not stats ticks, far below either figure.</item>
    /// <item><c>busy_timeout=5 s</c>: SQLite has one writer at a time, and the journal's concurrent write batches,
    /// the snapshot store and a backup's connection take turns. Without a busy timeout (SQLite's
    /// default is 0) a statement that finds the file locked fails at once and Microsoft.Data.Sqlite retries it only
    /// after sleeping 150 ms; SQLite's own busy handler retries within milliseconds (a writer behind a 20 ms
    /// transaction: done ≈ 15 ms after the release instead of ≈ 131 ms, same benchmark). Journal throughput is the
    /// same within the benchmark's noise (SQLite's defaults 1.07 times the chosen, an identical A/A run 1.10).
    /// 5 s is far above any one transaction here and below the journal's 10 s circuit-breaker call timeout.</item>
    /// </list>
    /// </summary>
    public static readonly SqlitePragmas Journal = new(SqliteSynchronous.Full, TimeSpan.FromSeconds(5));

    /// <summary>The statements that set them on one connection.</summary>
    public string Statements => string.Create(CultureInfo.InvariantCulture,
        $"PRAGMA synchronous={(int)Synchronous}; PRAGMA busy_timeout={(long)BusyTimeout.TotalMilliseconds};");
}

/// <summary>
/// Applies <see cref="SqlitePragmas"/> to each connection linq2db opens, before its first statement, and makes the
/// journal's writes asynchronous (<paramref name="yieldOnAsyncOpen"/>).
/// </summary>
/// <param name="yieldOnAsyncOpen">
/// Microsoft.Data.Sqlite runs its "async" methods synchronously. The SQL journal writes through a stream stage that
/// batches the writes queued while earlier ones are in flight; with every write done by the time its task is returned,
/// none ever was, so each entity's write became a transaction (and an fsync) of its own, one after another on the
/// stream's thread: about 1,500 events/s in <c>pandafuzz-bench journal</c> however many entities wrote at once.
/// Yielding when a connection opens for an asynchronous call moves the rest of the work to the thread pool: the writes
/// that arrive meanwhile queue up and go into the next transaction together.
/// </param>
public sealed class SqlitePragmaInterceptor(SqlitePragmas pragmas, bool yieldOnAsyncOpen = true) : ConnectionInterceptor
{
    private long _applied;

    public SqlitePragmas Pragmas { get; } = pragmas;

    public bool YieldsOnAsyncOpen { get; } = yieldOnAsyncOpen;

    /// <summary>How many connection opens the pragmas were applied to (a test's proof that the journal uses them).</summary>
    public long Applied => Interlocked.Read(ref _applied);

    public override void ConnectionOpened(ConnectionEventData eventData, DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas.Statements;
        command.ExecuteNonQuery();
        Interlocked.Increment(ref _applied);
    }

    public override async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
    {
        if (YieldsOnAsyncOpen)
        {
            await Task.Yield();
        }

        await using var command = connection.CreateCommand();
        command.CommandText = Pragmas.Statements;
        await command.ExecuteNonQueryAsync(cancellationToken);
        Interlocked.Increment(ref _applied);
    }
}
