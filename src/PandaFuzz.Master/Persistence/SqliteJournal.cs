using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace PandaFuzz.Master.Persistence;

/// <summary>The master's SQLite file: one database for the journal, the snapshot store and the read journal.</summary>
public static class SqliteJournal
{
    /// <summary>Points the journal, snapshot store and read journal at <paramref name="databasePath"/>.</summary>
    public static Config Persistence(string databasePath)
    {
        var connection = $"Data Source={databasePath};Default Timeout=30;Pooling=True";
        var quoted = "\"" + connection.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        return ConfigurationFactory.ParseString($"""
            akka.persistence.journal.sql.connection-string = {quoted}
            akka.persistence.snapshot-store.sql.connection-string = {quoted}
            akka.persistence.query.journal.sql.connection-string = {quoted}
            """);
    }

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

    /// <summary>
    /// WAL lets queries read while entities write; the mode is stored in the file, so it is set once, before the
    /// actor system starts.
    /// </summary>
    public static void EnableWriteAheadLog(string databasePath)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }
}
