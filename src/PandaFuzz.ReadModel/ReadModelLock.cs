using Npgsql;

namespace PandaFuzz.ReadModel;

/// <summary>
/// The one writer of a read model. On SQLite a flock on <c>readmodel.db.lock</c>, on PostgreSQL a session advisory
/// lock: either goes when its process dies, so another master's projection can take over.
/// </summary>
public sealed class ReadModelLock : IDisposable
{
    // Any fixed 64-bit number no other application on the server uses.
    private const long AdvisoryKey = 0x50616e6461465a; // "PandaFZ"

    private readonly IDisposable _held;

    private ReadModelLock(IDisposable held) => _held = held;

    /// <summary>The lock, or null when another process (or another projection in this one) holds it.</summary>
    public static ReadModelLock? TryAcquire(ReadModelDatabase database) =>
        database.Store == ReadModelStore.PostgreSql ? TryAdvisoryLock(database) : TryLockFile(database.Name + ".lock");

    public static string Describe(ReadModelDatabase database) =>
        database.Store == ReadModelStore.PostgreSql ? "its PostgreSQL advisory lock is held" : $"{database.Name}.lock is held";

    public void Dispose() => _held.Dispose();

    private static ReadModelLock? TryLockFile(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try
        {
            return new ReadModelLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static ReadModelLock? TryAdvisoryLock(ReadModelDatabase database)
    {
        // Not pooled: closing the connection must end the session, which releases the lock.
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString) { Pooling = false }.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection);
        command.Parameters.AddWithValue("key", AdvisoryKey);
        if (command.ExecuteScalar() is true)
        {
            return new ReadModelLock(connection);
        }

        connection.Dispose();
        return null;
    }
}
