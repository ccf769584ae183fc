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
    public const string FileName = "pandafuzz.db";

    /// <summary>Default Timeout is Microsoft.Data.Sqlite's busy retry (150 ms sleeps), behind <see cref="SqlitePragmas.BusyTimeout"/>; pooling keeps the pragmas.</summary>
    public static string ConnectionString(string databasePath) =>
        new SqliteConnectionStringBuilder { DataSource = databasePath, DefaultTimeout = 30, Pooling = true }.ToString();

    /// <summary>
    /// Points the journal, snapshot store and read journal at <paramref name="databasePath"/>. One write transaction
    /// at a time, batching up to 500 queued events: a SQLite file has one writer, and concurrent batches only waited
    /// on each other in the busy handler (ops/storage.md has the figures). The gap-free max ordering is polled every
    /// second, not 100 ms: the projection reads the tables itself, and the faster poll cost ~0.3 % of a core idle.
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

    /// <summary>SQLite keeps <c>synchronous</c> and <c>busy_timeout</c> per connection, not in the file, so each open applies <paramref name="pragmas"/>.</summary>
    public static DataOptions DataOptions(string databasePath, SqlitePragmas? pragmas = null) =>
        DataOptions(databasePath, new SqlitePragmaInterceptor(pragmas ?? SqlitePragmas.Journal));

    /// <inheritdoc cref="DataOptions(string, SqlitePragmas?)"/>
    /// <remarks>With <see cref="TagQueryInterceptor"/>, so that reading an event's tags does not scan the whole tags table.</remarks>
    public static DataOptions DataOptions(string databasePath, SqlitePragmaInterceptor interceptor) =>
        new DataOptions().UseConnectionString(ProviderName.SQLiteMS, ConnectionString(databasePath))
            .UseInterceptor(interceptor)
            .UseInterceptor(TagQueryInterceptor.Instance);

    /// <summary>Makes Akka.Persistence.Sql use <see cref="DataOptions(string, SqlitePragmas?)"/>; it takes precedence over the HOCON connection string.</summary>
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

    /// <summary>WAL lets readers (read journal, backup) go on while entities write; it is stored in the file, so set once before the actor system starts.</summary>
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
    /// The journal's settings (ops/storage.md has the figures). <c>synchronous=FULL</c>: the master acknowledges
    /// once its event is committed, and in WAL mode only FULL makes that commit survive a power loss; NORMAL is
    /// ~1.5× faster, but the master persists state transitions, far below either rate. <c>busy_timeout=5 s</c>:
    /// with SQLite's default of 0 a locked statement fails at once and Microsoft.Data.Sqlite retries only after
    /// 150 ms; SQLite's own handler retries within milliseconds. 5 s is above any one transaction here and below
    /// the journal's 10 s circuit-breaker call timeout.
    /// </summary>
    public static readonly SqlitePragmas Journal = new(SqliteSynchronous.Full, TimeSpan.FromSeconds(5));

    public string Statements => string.Create(CultureInfo.InvariantCulture,
        $"PRAGMA synchronous={(int)Synchronous}; PRAGMA busy_timeout={(long)BusyTimeout.TotalMilliseconds};");
}

/// <summary>Applies <see cref="SqlitePragmas"/> to each connection linq2db opens, before its first statement.</summary>
/// <param name="yieldOnAsyncOpen">
/// Microsoft.Data.Sqlite runs "async" methods synchronously, so the SQL journal's batching stage never saw a write in
/// flight and made each write its own transaction and fsync. Yielding on open moves the work to the thread pool, so
/// writes arriving meanwhile go into the next transaction together.
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
