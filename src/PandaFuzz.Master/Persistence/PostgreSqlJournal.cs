using Akka.Configuration;

namespace PandaFuzz.Master.Persistence;

/// <summary>The journal, snapshot store and read journal in one PostgreSQL database.</summary>
public static class PostgreSqlJournal
{
    /// <summary>Akka.Persistence.Sql's provider name (linq2db) for the PostgreSQL dialect.</summary>
    public const string ProviderName = "PostgreSQL.15";

    public static string? ConnectionStringFrom(Config config) =>
        config.GetString("akka.persistence.journal.sql.provider-name", "") == ProviderName
            ? config.GetString("akka.persistence.journal.sql.connection-string", "") is { Length: > 0 } connection ? connection : null
            : null;

    public static Config Persistence(string connectionString)
    {
        var quoted = "\"" + connectionString.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        return ConfigurationFactory.ParseString($$"""
            akka.persistence.journal.sql { connection-string = {{quoted}}, provider-name = "{{ProviderName}}" }
            akka.persistence.snapshot-store.sql { connection-string = {{quoted}}, provider-name = "{{ProviderName}}" }
            akka.persistence.query.journal.sql { connection-string = {{quoted}}, provider-name = "{{ProviderName}}" }
            """);
    }
}
