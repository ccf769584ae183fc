using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace PandaFuzz.Master.Persistence;

/// <summary>What a backup wrote: the copy, its size, and the journal it holds.</summary>
/// <param name="Events">Rows of the copy's journal table.</param>
/// <param name="LastOrdering">The highest journal ordering in the copy: every event up to it is in the copy.</param>
public sealed record JournalBackupResult(string Destination, long Bytes, long Events, long LastOrdering, TimeSpan Took);

/// <summary>A backup that was refused or failed; the message says why and what to do.</summary>
public sealed class JournalBackupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// An online, consistent copy of the master's SQLite file (journal and snapshots) while the master runs and writes.
/// It uses SQLite's backup API (<see cref="SqliteConnection.BackupDatabase(SqliteConnection)"/>), which Microsoft.Data.Sqlite
/// runs as one <c>sqlite3_backup_step(-1)</c>: every page is copied inside one read transaction, so the copy is the
/// database as of that transaction's start, and in WAL mode the master's writers go on meanwhile (they append to
/// the log; only checkpoints past the reader's snapshot wait for it). Chosen over <c>VACUUM INTO</c>, which gives the
/// same consistency but rebuilds every table and index row by row: more CPU, on cores the fuzzers share, and a longer
/// read transaction. It takes no lock of PandaFuzz's own (not the read model's lock): a running master holds that.
/// </summary>
public static class JournalBackup
{
    /// <summary>How long the copy keeps trying when SQLite answers that the file is busy (rare for a reader in WAL mode).</summary>
    private static readonly TimeSpan BusyBudget = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destination"/>: into a temporary file beside it first,
    /// checked with <c>PRAGMA integrity_check</c>, then renamed into place, so the destination is never a half copy.
    /// The copy is switched to rollback-journal mode, so it is one self-contained file; a master started on it sets
    /// WAL again.
    /// </summary>
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

    /// <summary>The result of <c>PRAGMA integrity_check</c> on an open database: "ok", or SQLite's findings.</summary>
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
