using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace PandaFuzz.ReadModel.Tests;

/// <summary>A fresh read-model database for one test: a SQLite file in a temp folder, or a PostgreSQL database; deleted with the test.</summary>
public sealed class ReadModelFile : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-readmodel-" + Guid.NewGuid().ToString("N"));
    private readonly TestPostgresDatabase? _postgres;

    public ReadModelFile(ReadModelStore store = ReadModelStore.Sqlite)
    {
        Directory.CreateDirectory(_root);
        if (store == ReadModelStore.PostgreSql)
        {
            _postgres = new TestPostgresDatabase();
            Database = ReadModelDatabase.PostgreSql(_postgres.ConnectionString);
        }
        else
        {
            Database = ReadModelDatabase.In(_root);
        }

        Schema = new ReadModelSchema(Database);
    }

    /// <summary>A CHECK constraint refused the statement, on either database.</summary>
    public static bool IsCheckViolation(DbException e) =>
        e is SqliteException ? e.Message.Contains("CHECK constraint failed") : e is PostgresException { SqlState: PostgresErrorCodes.CheckViolation };

    /// <summary>A foreign key refused the statement, on either database.</summary>
    public static bool IsForeignKeyViolation(DbException e) =>
        e is SqliteException ? e.Message.Contains("FOREIGN KEY constraint failed") : e is PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation };

    /// <summary>The columns of a table.</summary>
    public IReadOnlyList<string> Columns(string table) => Database.Store == ReadModelStore.PostgreSql
        ? Strings($"SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position")
        : Strings($"SELECT name FROM pragma_table_info('{table}')");

    public ReadModelDatabase Database { get; }

    public ReadModelSchema Schema { get; }

    /// <summary>The tables in the file, the migrations' version table aside.</summary>
    public IReadOnlyList<string> Tables() => Database.Store == ReadModelStore.PostgreSql
        ? Strings("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'VersionInfo' ORDER BY table_name")
        : Strings("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'VersionInfo' ORDER BY name");

    public IReadOnlyList<string> Strings(string sql)
    {
        using var connection = Database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.IsDBNull(0) ? "NULL" : Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }

        return values;
    }

    /// <summary>Every row of a table as text, in a stable order: what a test compares.</summary>
    public IReadOnlyList<string> Rows(string table, string except = "")
    {
        using var connection = Database.Open();
        return Dump(connection, table, except);
    }

    public static IReadOnlyList<string> Dump(DbConnection connection, string table, string except = "")
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {table}";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            var fields = Enumerable.Range(0, reader.FieldCount)
                .Where(i => reader.GetName(i) != except)
                .Select(i => $"{reader.GetName(i)}={(reader.IsDBNull(i) ? "NULL" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))}");
            rows.Add(string.Join("|", fields));
        }

        rows.Sort(StringComparer.Ordinal);
        return rows;
    }

    public int Execute(string sql)
    {
        using var connection = Database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _postgres?.Dispose();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A straggling handle must not fail the test; the OS temp cleanup takes the rest.
        }
    }
}
