using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using PandaFuzz.Master.Configuration;

namespace PandaFuzz.Master.Persistence;

/// <summary>
/// Readiness's proof that the journal's database takes writes: one row per node, written on a fresh connection, so a
/// read-only or full file, or an unreachable database, fails the check.
/// </summary>
public static class JournalProbe
{
    private const string Table = "pandafuzz_health";

    public static async Task WriteAsync(MasterStorage storage, string node, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var connection = Open(storage, timeout);
        await connection.OpenAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow.ToString("O");
        var sql = storage.Settings.Provider == StorageProvider.PostgreSql
            ? $"""
              CREATE TABLE IF NOT EXISTS {Table} (node TEXT PRIMARY KEY, checked_at TEXT NOT NULL);
              INSERT INTO {Table} (node, checked_at) VALUES (@node, @at) ON CONFLICT (node) DO UPDATE SET checked_at = excluded.checked_at;
              """
            : $"""
              CREATE TABLE IF NOT EXISTS {Table} (node TEXT PRIMARY KEY, checked_at TEXT NOT NULL);
              INSERT OR REPLACE INTO {Table} (node, checked_at) VALUES (@node, @at);
              """;
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = Math.Max(1, (int)timeout.TotalSeconds);
        Parameter(command, "node", node);
        Parameter(command, "at", now);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DbConnection Open(MasterStorage storage, TimeSpan timeout)
    {
        var seconds = Math.Max(1, (int)timeout.TotalSeconds);
        if (storage.Settings.Provider == StorageProvider.PostgreSql)
        {
            var builder = new NpgsqlConnectionStringBuilder(storage.Settings.PostgreSqlConnectionString) { Timeout = seconds, CommandTimeout = seconds };
            return new NpgsqlConnection(builder.ConnectionString);
        }

        // Not pooled: a pooled connection opened before the file became unwritable could still write through its handle.
        // ReadWrite, not ReadWriteCreate: a journal file that has gone missing is a failure, not something to create.
        return new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = storage.JournalFile,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = seconds,
        }.ToString());
    }

    private static void Parameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
