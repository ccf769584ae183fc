using System.Data.Common;
using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using Microsoft.Data.Sqlite;
using Npgsql;
using PandaFuzz.Infrastructure.Files;
using PandaFuzz.Master.Configuration;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Master.Persistence;

/// <summary>A master's journal, snapshot store and read model: SQLite files under the data dir, or one shared PostgreSQL database.</summary>
public sealed record MasterStorage(StorageSettings Settings, string DataDir)
{
    public string? JournalFile => Settings.Provider == StorageProvider.Sqlite ? Path.Combine(DataDir, "pandafuzz.db") : null;

    public ReadModelDatabase ReadModel => Settings.Provider == StorageProvider.PostgreSql
        ? ReadModelDatabase.PostgreSql(Settings.PostgreSqlConnectionString!)
        : ReadModelDatabase.In(DataDir);

    public string JournalName => JournalFile ?? ReadModel.Name;

    /// <summary>Run first, before anything opens them: the SQLite files (0600) and the blob store (0700) are the node user's only.</summary>
    public void MakePrivate(string blobDir)
    {
        if (JournalFile is { } journal)
        {
            PrivateFiles.DatabaseFile(journal);
            PrivateFiles.DatabaseFile(Path.Combine(DataDir, ReadModelDatabase.FileName));
        }

        PrivateFiles.Folder(blobDir);
    }

    public DbConnection OpenJournalForReading()
    {
        DbConnection connection = JournalFile is { } file
            ? new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly }.ToString())
            : new NpgsqlConnection(Settings.PostgreSqlConnectionString);
        connection.Open();
        return connection;
    }

    /// <summary>Before the actor system starts: WAL is stored in a SQLite file, so it is set once here.</summary>
    public void Prepare()
    {
        if (JournalFile is { } file)
        {
            SqliteJournal.EnableWriteAheadLog(file);
        }
    }

    /// <summary>The options every SQL plugin connects with (pragmas, <see cref="TagQueryInterceptor"/>); null on PostgreSQL.</summary>
    public DataOptionsSetup? Setup() => JournalFile is { } file ? SqliteJournal.Setup(file) : null;

    public Config Persistence() => Settings.Provider == StorageProvider.PostgreSql
        ? PostgreSqlJournal.Persistence(Settings.PostgreSqlConnectionString!)
        : SqliteJournal.Persistence(JournalFile!);
}

/// <summary>What an actor system's persistence configuration names: the journal's database and the read model beside it.</summary>
public static class ConfiguredStorage
{
    public static ReadModelDatabase? ReadModelOf(Config config)
    {
        if (PostgreSqlJournal.ConnectionStringFrom(config) is { } postgres)
        {
            return ReadModelDatabase.PostgreSql(postgres);
        }

        return SqliteJournal.DatabasePathFrom(config) is { } file ? ReadModelDatabase.In(Path.GetDirectoryName(file)!) : null;
    }

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
