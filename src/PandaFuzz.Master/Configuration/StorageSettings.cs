using Akka.Configuration;
using Npgsql;

namespace PandaFuzz.Master.Configuration;

/// <summary>Where a master keeps its journal, snapshots and read model.</summary>
public enum StorageProvider
{
    /// <summary>Files under the data dir: one master.</summary>
    Sqlite,

    /// <summary>One PostgreSQL database shared by every master.</summary>
    PostgreSql,
}

/// <summary>The <c>pandafuzz.master.storage</c> section (<c>PANDAFUZZ_POSTGRES</c> sets both values).</summary>
public sealed record StorageSettings(StorageProvider Provider, string? PostgreSqlConnectionString)
{
    public const string Section = "pandafuzz.master.storage";

    public static readonly StorageSettings Sqlite = new(StorageProvider.Sqlite, null);

    public static StorageSettings From(Config config)
    {
        var provider = config.GetString($"{Section}.provider", "sqlite")?.Trim().ToLowerInvariant();
        switch (provider)
        {
            case "sqlite":
                return Sqlite;
            case "postgresql":
                var connection = config.GetString($"{Section}.postgresql.connection-string", "")?.Trim() ?? "";
                if (connection.Length == 0)
                {
                    throw new ConfigurationException(
                        $"{Section}.postgresql.connection-string is missing: expected, with provider postgresql, an Npgsql connection string " +
                        "such as Host=db;Database=pandafuzz;Username=pandafuzz (PANDAFUZZ_POSTGRES sets it)");
                }

                try
                {
                    var builder = new NpgsqlConnectionStringBuilder(connection);
                    if (string.IsNullOrEmpty(builder.Host))
                    {
                        throw new ArgumentException("it names no Host");
                    }
                }
                catch (ArgumentException e)
                {
                    // The message names the key, never the value: it may hold a password.
                    throw new ConfigurationException(
                        $"{Section}.postgresql.connection-string is invalid: expected an Npgsql connection string such as Host=db;Database=pandafuzz;Username=pandafuzz ({e.Message})");
                }

                return new StorageSettings(StorageProvider.PostgreSql, connection);
            default:
                throw PandaFuzz.Infrastructure.Configuration.HoconReader.Invalid($"{Section}.provider", provider, "sqlite or postgresql");
        }
    }
}
