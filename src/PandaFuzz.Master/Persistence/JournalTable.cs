using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace PandaFuzz.Master.Persistence;

/// <summary>
/// The journal's table, read directly. Akka.Persistence.Sql creates it when its journal starts, which on a new data dir
/// can be after the projection and readiness first look: until then the journal is empty, not broken.
/// </summary>
public static class JournalTable
{
    public static bool Exists(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = connection is SqliteConnection
            ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal'"
            : "SELECT COUNT(*) FROM (SELECT to_regclass('journal') AS found) r WHERE found IS NOT NULL";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    }
}
