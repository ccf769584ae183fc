using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace PandaFuzz.ReadModel;

/// <summary>
/// Where the read model lives: its own SQLite file beside the journal (<c>readmodel.db</c>), so writing it never
/// competes with the journal's single writer. Connections enforce foreign keys and wait for a busy file.
/// </summary>
public sealed record ReadModelDatabase(string Path)
{
    public const string FileName = "readmodel.db";

    public static ReadModelDatabase In(string dataDir) => new(System.IO.Path.Combine(dataDir, FileName));

    public string ConnectionString => new SqliteConnectionStringBuilder
    {
        DataSource = Path,
        ForeignKeys = true,
        DefaultTimeout = 30,
        Pooling = true,
    }.ToString();

    /// <summary>An open connection; the file (and its folder) is created, in WAL mode, on first use.</summary>
    public DbConnection Open()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // WAL is stored in the file; synchronous=NORMAL is per connection and safe with WAL (a power loss may drop
        // the last transactions, never corrupt the file, and the offset goes with the rows it covers: the projection
        // replays them from the journal). busy_timeout lets SQLite wait for the projection's write lock in steps of
        // milliseconds, where Microsoft.Data.Sqlite alone retries only every 150 ms.
        command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;";
        command.ExecuteNonQuery();
        return connection;
    }
}
