using Akka.Configuration;
using PandaFuzz.Infrastructure.Configuration;
using Serilog.Events;

namespace PandaFuzz.Node.Observability;

/// <summary>How log events are written: readable text or compact JSON (one event a line, properties kept).</summary>
public enum LogFormat
{
    Text,
    Json,
}

/// <summary>The log format and the minimum level per namespace (the longest matching prefix of a source wins).</summary>
public sealed record LoggingSettings(LogFormat Format, LogEventLevel Default, IReadOnlyDictionary<string, LogEventLevel> Levels)
{
    public const string Section = "pandafuzz.logging";
    public const string FormatVariable = "PANDAFUZZ_LOG_FORMAT";

    public static readonly LoggingSettings Defaults = new(LogFormat.Text, LogEventLevel.Information,
        new Dictionary<string, LogEventLevel> { ["Microsoft"] = LogEventLevel.Warning });

    public static LoggingSettings From(Config config, Func<string, string?> env)
    {
        var r = new HoconReader(config, Section);
        var formatText = env(FormatVariable) is { Length: > 0 } fromEnv ? fromEnv.Trim().ToLowerInvariant() : r.Choice("format", "text", "json");
        var format = formatText switch
        {
            "text" => LogFormat.Text,
            "json" => LogFormat.Json,
            _ => throw HoconReader.Invalid(FormatVariable, formatText, "text or json"),
        };

        var levels = new Dictionary<string, LogEventLevel>(StringComparer.Ordinal);
        var levelsConfig = config.GetConfig($"{Section}.levels");
        var defaultLevel = LogEventLevel.Information;
        if (levelsConfig is not null && !levelsConfig.IsEmpty)
        {
            foreach (var (key, value) in levelsConfig.AsEnumerable())
            {
                var name = key.Trim('"');
                var level = (value.IsString() ? ParseLevel(value.GetString()) : null) ?? throw HoconReader.Invalid(
                    $"{Section}.levels.\"{name}\"", value.ToString(), "one of verbose, debug, information, warning, error, fatal");
                if (name == "default")
                {
                    defaultLevel = level;
                }
                else
                {
                    levels[name] = level;
                }
            }
        }

        return new LoggingSettings(format, defaultLevel, levels);
    }

    /// <summary>Serilog's level names and the short ones operators type (info, warn).</summary>
    public static LogEventLevel? ParseLevel(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "verbose" or "trace" => LogEventLevel.Verbose,
        "debug" => LogEventLevel.Debug,
        "information" or "info" => LogEventLevel.Information,
        "warning" or "warn" => LogEventLevel.Warning,
        "error" => LogEventLevel.Error,
        "fatal" or "critical" => LogEventLevel.Fatal,
        _ => null,
    };
}

/// <summary>A node's metrics endpoint (a bot-only node's own port; a master uses the API's), scrape caching and readiness bounds.</summary>
public sealed record ObservabilitySettings(HostPort? MetricsEndpoint, TimeSpan MetricsCache, TimeSpan CheckTimeout, TimeSpan ReadModelMaxLag, LoggingSettings Logging)
{
    public const string Section = "pandafuzz.observability";
    public const string MetricsVariable = "PANDAFUZZ_METRICS";

    public static ObservabilitySettings From(Config config, Func<string, string?> env)
    {
        var r = new HoconReader(config, Section);
        HostPort? endpoint = null;
        if (env(MetricsVariable) is { Length: > 0 } text && text.Trim() is var trimmed && !trimmed.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            endpoint = HostPort.TryParse(trimmed, out var parsed)
                ? parsed
                : throw new NodeConfigurationException(MetricsVariable, trimmed, "host:port for a bot-only node's /metrics, /healthz and /readyz, or off");
        }

        return new ObservabilitySettings(endpoint, r.PositiveDuration("metrics-cache"), r.PositiveDuration("check-timeout"),
            r.PositiveDuration("read-model-max-lag"), LoggingSettings.From(config, env));
    }
}
