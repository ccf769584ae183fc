using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace PandaFuzz.Master.Persistence;

/// <summary>What a backup wrote; every event up to <see cref="LastOrdering"/> is in the copy.</summary>
public sealed record JournalBackupResult(string Destination, long Bytes, long Events, long LastOrdering, TimeSpan Took);

/// <summary>A backup that was refused or failed; the message says why and what to do.</summary>
public sealed class JournalBackupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// An online, consistent copy of the master's SQLite file while it runs. SQLite's backup API copies every page in
/// one read transaction, so the copy is the database as of its start, and in WAL mode writers go on meanwhile.
/// Chosen over <c>VACUUM INTO</c>, which rebuilds every index row by row: more CPU on the fuzzers' cores and a longer
/// read. Takes no PandaFuzz lock: a running master holds the read model's.
/// </summary>
public static class JournalBackup
{
    /// <summary>How long the copy keeps trying while SQLite answers busy (rare for a reader in WAL mode).</summary>
    private static readonly TimeSpan BusyBudget = TimeSpan.FromSeconds(30);

    /// <summary>Copies into a temporary file, checks its integrity and renames it into place (never a half copy), out of WAL so it is one file.</summary>
    public static JournalBackupResult Run(string source, string destination, bool overwrite)
    {
        var clock = Stopwatch.StartNew();
        source = Path.GetFullPath(source);
        destination = Path.GetFullPath(destination);
        if (!File.Exists(source))
        {
            throw new JournalBackupException($"no journal at {source}: is this the master's data dir?");
        }

        if (destination == source)
        {
            throw new JournalBackupException($"{destination} is the journal itself: back it up to another file");
        }

        if (Directory.Exists(destination))
        {
            throw new JournalBackupException($"{destination} is a directory: name the backup file, e.g. {Path.Combine(destination, SqliteJournal.FileName)}");
        }

        if (File.Exists(destination) && !overwrite)
        {
            throw new JournalBackupException($"{destination} already exists: choose another file, or pass --force to replace it");
        }

        var folder = Path.GetDirectoryName(destination)!;
        Directory.CreateDirectory(folder);
        var partial = Path.Combine(folder, $".{Path.GetFileName(destination)}.partial-{Guid.NewGuid():N}");
        try
        {
            long events, lastOrdering;
            using (var from = Open(source, SqliteOpenMode.ReadWrite))
            using (var to = Open(partial, SqliteOpenMode.ReadWriteCreate))
            {
                Copy(from, to);
                Execute(to, "PRAGMA journal_mode=DELETE;");
                var integrity = IntegrityCheck(to);
                if (integrity != "ok")
                {
                    throw new JournalBackupException($"the copy of {source} fails PRAGMA integrity_check ({integrity}); nothing was written to {destination}");
                }

                (events, lastOrdering) = JournalExtent(to);
            }

            File.Move(partial, destination, overwrite);
            return new JournalBackupResult(destination, new FileInfo(destination).Length, events, lastOrdering, clock.Elapsed);
        }
        catch (SqliteException e)
        {
            throw new JournalBackupException($"backing up {source} to {destination} failed: {e.Message}", e);
        }
        finally
        {
            File.Delete(partial);
            File.Delete(partial + "-journal");
        }
    }

    public static string IntegrityCheck(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check;";
        using var reader = command.ExecuteReader();
        var findings = new List<string>();
        while (reader.Read())
        {
            findings.Add(reader.GetString(0));
        }

        return string.Join("; ", findings);
    }

    private static void Copy(SqliteConnection from, SqliteConnection to)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                from.BackupDatabase(to);
                return;
            }
            catch (SqliteException e) when (e.SqliteErrorCode is 5 or 6 && clock.Elapsed < BusyBudget)
            {
                // SQLITE_BUSY / SQLITE_LOCKED on the source: the backup API does not wait on the source by itself.
                Thread.Sleep(50);
            }
        }
    }

    private static (long Events, long LastOrdering) JournalExtent(SqliteConnection connection)
    {
        if (!JournalTable.Exists(connection))
        {
            return (0, 0);
        }

        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), COALESCE(MAX(ordering), 0) FROM journal;";
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static SqliteConnection Open(string path, SqliteOpenMode mode)
    {
        // Not pooled: the process ends right after, and a pooled connection would keep the copy open past the rename.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false, DefaultTimeout = 30 }.ToString());
        connection.Open();
        Execute(connection, SqlitePragmas.Journal.Statements);
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
