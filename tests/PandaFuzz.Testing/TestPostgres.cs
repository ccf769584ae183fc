using Npgsql;

namespace PandaFuzz.Testing;

/// <summary>
/// A fresh PostgreSQL database for one test, created on the server that <c>PANDAFUZZ_TEST_POSTGRES</c> names and
/// dropped afterwards. <c>ops/test.sh</c> starts a throwaway server on loopback and sets the variable.
/// </summary>
public sealed class TestPostgresDatabase : IDisposable
{
    public const string ServerVariable = "PANDAFUZZ_TEST_POSTGRES";

    private readonly string _server;

    public TestPostgresDatabase()
    {
        _server = Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } server
            ? server
            : throw new InvalidOperationException(
                $"The PostgreSQL tests need a server: set {ServerVariable} to its connection string " +
                "(for example Host=127.0.0.1;Port=5432;Username=postgres), or run them with ops/test.sh, which starts one.");
        Name = "pandafuzz_test_" + Guid.NewGuid().ToString("N")[..16];
        Admin($"CREATE DATABASE {Name}");
        ConnectionString = new NpgsqlConnectionStringBuilder(_server) { Database = Name }.ConnectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        Admin($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }

    private void Admin(string sql)
    {
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_server) { Database = "postgres", Pooling = false }.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
