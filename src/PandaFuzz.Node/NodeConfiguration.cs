using Akka.Configuration;

namespace PandaFuzz.Node;

/// <summary>Loads the node's HOCON files: base, one per role, and the persistence file for a master.</summary>
public static class NodeConfiguration
{
    public static string HoconDirectory =>
        Environment.GetEnvironmentVariable("PANDAFUZZ_HOCON_DIR") is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "hocon");

    public static Config Load(NodeSettings node)
    {
        var files = new List<string> { "base.conf" };
        if (node.IsMaster)
        {
            files.Add("master.conf");
            files.Add("persistence.conf");
        }

        if (node.IsBot)
        {
            files.Add("bot.conf");
        }

        var config = Config.Empty;
        foreach (var file in files)
        {
            var path = Path.Combine(HoconDirectory, file);
            if (!File.Exists(path))
            {
                throw new ConfigurationException($"configuration file {path} is missing (set PANDAFUZZ_HOCON_DIR to the folder holding the hocon files)");
            }

            try
            {
                config = ConfigurationFactory.ParseString(File.ReadAllText(path)).WithFallback(config);
            }
            catch (Exception e) when (e is not ConfigurationException)
            {
                throw new ConfigurationException($"configuration file {path} is not valid HOCON: {e.Message}");
            }
        }

        return WithPostgreSqlFromEnvironment(WithWebhooksFromEnvironment(config));
    }

    public const string PostgreSqlVariable = "PANDAFUZZ_POSTGRES";

    /// <summary>
    /// <c>PANDAFUZZ_POSTGRES</c> (an Npgsql connection string) puts the journal, snapshots and read model in that
    /// PostgreSQL database: <c>pandafuzz.master.storage.provider = postgresql</c> with it as the connection string.
    /// </summary>
    private static Config WithPostgreSqlFromEnvironment(Config config)
    {
        if (Environment.GetEnvironmentVariable(PostgreSqlVariable) is not { Length: > 0 } value)
        {
            return config;
        }

        var quoted = "\"" + value.Trim().Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        return ConfigurationFactory.ParseString($"""
            pandafuzz.master.storage.provider = postgresql
            pandafuzz.master.storage.postgresql.connection-string = {quoted}
            """).WithFallback(config);
    }

    public const string WebhooksVariable = "PANDAFUZZ_WEBHOOKS";

    /// <summary><c>PANDAFUZZ_WEBHOOKS</c> (comma-separated URLs) replaces <c>pandafuzz.master.webhooks.urls</c>.</summary>
    private static Config WithWebhooksFromEnvironment(Config config)
    {
        if (Environment.GetEnvironmentVariable(WebhooksVariable) is not { Length: > 0 } value)
        {
            return config;
        }

        var urls = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(u => "\"" + u.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"");
        return ConfigurationFactory.ParseString($"pandafuzz.master.webhooks.urls = [{string.Join(", ", urls)}]").WithFallback(config);
    }
}
