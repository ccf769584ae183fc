using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace PandaFuzz.ReadModel;

/// <summary>The database engines the read model runs on.</summary>
public enum ReadModelStore
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// Where the read model lives: on SQLite its own file beside the journal, so writing it never competes with the
/// journal's single writer; on PostgreSQL the connection string's database, shared by every master.
/// </summary>
public sealed record ReadModelDatabase
{
    public const string FileName = "readmodel.db";

    private ReadModelDatabase(ReadModelStore store, string connectionString, string name)
    {
        Store = store;
        ConnectionString = connectionString;
        Name = name;
    }

    public ReadModelStore Store { get; }

    public string ConnectionString { get; }

    /// <summary>What an operator reads in a message: the file's path, or the PostgreSQL database and its server.</summary>
    public string Name { get; }

    public string? FilePath => Store == ReadModelStore.Sqlite ? Name : null;

    public static ReadModelDatabase In(string dataDir) => SqliteFile(Path.Combine(dataDir, FileName));

    public static ReadModelDatabase SqliteFile(string path)
    {
        var full = Path.GetFullPath(path);
        var connection = new SqliteConnectionStringBuilder { DataSource = full, ForeignKeys = true, DefaultTimeout = 30, Pooling = true };
        return new ReadModelDatabase(ReadModelStore.Sqlite, connection.ToString(), full);
    }

    public static ReadModelDatabase PostgreSql(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return new ReadModelDatabase(ReadModelStore.PostgreSql, builder.ConnectionString,
            $"PostgreSQL database '{builder.Database ?? builder.Username}' on {builder.Host}:{builder.Port}");
    }

    /// <summary>An open connection; a SQLite file (and its folder) is created, in WAL mode, on first use.</summary>
    public DbConnection Open()
    {
        if (Store == ReadModelStore.PostgreSql)
        {
            var postgres = new NpgsqlConnection(ConnectionString);
            postgres.Open();
            return postgres;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Name)!);
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // WAL is stored in the file; synchronous=NORMAL is safe with WAL (a power loss may drop the last transactions,
        // with their offset, and the projection replays them). busy_timeout waits in milliseconds, not 150 ms retries.
        command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;";
        command.ExecuteNonQuery();
        return connection;
    }
}
