using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace PandaFuzz.ReadModel.Tests;

/// <summary>A read-model database in a fresh temp folder, deleted with the test.</summary>
public sealed class ReadModelFile : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-readmodel-" + Guid.NewGuid().ToString("N"));

    public ReadModelFile()
    {
        Directory.CreateDirectory(_root);
        Database = ReadModelDatabase.In(_root);
        Schema = new ReadModelSchema(Database);
    }

    public ReadModelDatabase Database { get; }

    public ReadModelSchema Schema { get; }

    /// <summary>The tables in the file, the migrations' version table aside.</summary>
    public IReadOnlyList<string> Tables() =>
        Strings("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'VersionInfo' ORDER BY name");

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
