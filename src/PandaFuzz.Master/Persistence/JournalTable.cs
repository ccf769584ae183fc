using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace PandaFuzz.Master.Persistence;

/// <summary>
/// The journal's table, as the read model's queries read it directly. Akka.Persistence.Sql creates it when its journal
/// starts (auto-initialize), which on a new data dir can be a moment after the projection and the readiness check first
/// look: until then the journal is empty, not broken.
/// </summary>
public static class JournalTable
{
    /// <summary>Whether the journal's table exists yet in the database <paramref name="connection"/> (SQLite or PostgreSQL) opens.</summary>
    public static bool Exists(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = connection is SqliteConnection
            ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal'"
            : "SELECT COUNT(*) FROM (SELECT to_regclass('journal') AS found) r WHERE found IS NOT NULL";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    }
}
