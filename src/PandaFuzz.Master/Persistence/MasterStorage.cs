using System.Data.Common;
using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using Microsoft.Data.Sqlite;
using Npgsql;
using PandaFuzz.Infrastructure.Files;
using PandaFuzz.Master.Configuration;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Master.Persistence;

/// <summary>
/// The journal, snapshot store and read model of a master, on the provider its settings name: SQLite files under the
/// data dir (<c>pandafuzz.db</c>, <c>readmodel.db</c>), or one PostgreSQL database shared by several masters.
/// </summary>
public sealed record MasterStorage(StorageSettings Settings, string DataDir)
{
    /// <summary>The journal's SQLite file, or null on PostgreSQL.</summary>
    public string? JournalFile => Settings.Provider == StorageProvider.Sqlite ? Path.Combine(DataDir, "pandafuzz.db") : null;

    public ReadModelDatabase ReadModel => Settings.Provider == StorageProvider.PostgreSql
        ? ReadModelDatabase.PostgreSql(Settings.PostgreSqlConnectionString!)
        : ReadModelDatabase.In(DataDir);

    /// <summary>What an operator reads in a message: the journal's file, or its PostgreSQL database.</summary>
    public string JournalName => JournalFile ?? ReadModel.Name;

    /// <summary>
    /// First of all, before the read model is migrated or the journal opened: the SQLite files (mode 0600) and the blob
    /// store <paramref name="blobDir"/> (0700) are the node's user's only.
    /// </summary>
    public void MakePrivate(string blobDir)
    {
        if (JournalFile is { } journal)
        {
            PrivateFiles.DatabaseFile(journal);
            PrivateFiles.DatabaseFile(Path.Combine(DataDir, ReadModelDatabase.FileName));
        }

        PrivateFiles.Folder(blobDir);
    }

    /// <summary>An open connection to the journal's database for reading its tables (a SQLite file read-only).</summary>
    public DbConnection OpenJournalForReading()
    {
        DbConnection connection = JournalFile is { } file
            ? new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly }.ToString())
            : new NpgsqlConnection(Settings.PostgreSqlConnectionString);
        connection.Open();
        return connection;
    }

    /// <summary>Before the actor system starts: a SQLite journal is switched to WAL once.</summary>
    public void Prepare()
    {
        if (JournalFile is { } file)
        {
            SqliteJournal.EnableWriteAheadLog(file);
        }
    }

    /// <summary>
    /// The connection options every SQL plugin of the actor system opens its connections with (per-connection pragmas,
    /// <see cref="TagQueryInterceptor"/>), or null where the HOCON connection string is used as it is.
    /// </summary>
    public DataOptionsSetup? Setup() => JournalFile is { } file ? SqliteJournal.Setup(file) : null;

    /// <summary>The journal, snapshot store and read journal settings (provider and connection) for the actor system.</summary>
    public Config Persistence() => Settings.Provider == StorageProvider.PostgreSql
        ? PostgreSqlJournal.Persistence(Settings.PostgreSqlConnectionString!)
        : SqliteJournal.Persistence(JournalFile!);
}

/// <summary>What an actor system's persistence configuration names: the journal's database and the read model beside it.</summary>
public static class ConfiguredStorage
{
    /// <summary>The read model that goes with the configured journal: beside a SQLite file, or in the same PostgreSQL database.</summary>
    public static ReadModelDatabase? ReadModelOf(Config config)
    {
        if (PostgreSqlJournal.ConnectionStringFrom(config) is { } postgres)
        {
            return ReadModelDatabase.PostgreSql(postgres);
        }

        return SqliteJournal.DatabasePathFrom(config) is { } file ? ReadModelDatabase.In(Path.GetDirectoryName(file)!) : null;
    }

    /// <summary>An open connection to the journal's database, for reading its tables directly (the projection's lag).</summary>
    public static DbConnection? OpenJournal(Config config)
    {
        DbConnection? connection = PostgreSqlJournal.ConnectionStringFrom(config) is { } postgres
            ? new NpgsqlConnection(postgres)
            : SqliteJournal.DatabasePathFrom(config) is not null
                ? new SqliteConnection(config.GetString("akka.persistence.journal.sql.connection-string"))
                : null;
        connection?.Open();
        return connection;
    }
}
