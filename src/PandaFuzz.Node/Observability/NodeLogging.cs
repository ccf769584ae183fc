using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Serilog;
using Serilog.Core;
using PandaFuzz.Infrastructure.Logging;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace PandaFuzz.Node.Observability;

/// <summary>
/// Minimum log levels per namespace, changeable at run time. Serilog's overrides are fixed when the logger is built,
/// so a filter decides per event's source; a level switch keeps events below the lowest level from being built.
/// </summary>
public sealed class LogLevels
{
    private readonly ConcurrentDictionary<string, LogEventLevel> _bySource = new(StringComparer.Ordinal);
    private volatile Snapshot _current;

    public LogLevels(LogEventLevel defaultLevel, IReadOnlyDictionary<string, LogEventLevel> levels)
    {
        _current = new Snapshot(defaultLevel, levels.ToImmutableSortedDictionary(StringComparer.Ordinal));
        Minimum.MinimumLevel = Lowest(_current);
    }

    /// <summary>Raised after a change, with the lowest level now in force (Akka's own filter follows it).</summary>
    public event Action<LogEventLevel>? Changed;

    public LoggingLevelSwitch Minimum { get; } = new();

    public LogEventLevel Default => _current.Default;

    public IReadOnlyDictionary<string, LogEventLevel> Overrides => _current.Levels;

    /// <summary>A namespace set to null goes back to the default.</summary>
    public void Set(LogEventLevel? defaultLevel, IReadOnlyDictionary<string, LogEventLevel?> levels)
    {
        lock (_bySource)
        {
            var levelsNow = _current.Levels.ToBuilder();
            foreach (var (name, level) in levels)
            {
                if (level is { } l)
                {
                    levelsNow[name] = l;
                }
                else
                {
                    levelsNow.Remove(name);
                }
            }

            _current = new Snapshot(defaultLevel ?? _current.Default, levelsNow.ToImmutable());
            _bySource.Clear();
            Minimum.MinimumLevel = Lowest(_current);
        }

        Changed?.Invoke(Minimum.MinimumLevel);
    }

    /// <summary>Whether an event passes its source's level (Microsoft's SourceContext, or Akka's LogSource).</summary>
    public bool IsEnabled(LogEvent e)
    {
        var source = Source(e, "SourceContext") ?? Source(e, "LogSource") ?? "";
        var snapshot = _current;
        var level = _bySource.GetOrAdd(source, s => LevelOf(snapshot, s));
        return e.Level >= level;
    }

    private static string? Source(LogEvent e, string property) =>
        e.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: string s } ? s : null;

    private static LogEventLevel LevelOf(Snapshot snapshot, string source)
    {
        var best = "";
        var level = snapshot.Default;
        foreach (var (name, l) in snapshot.Levels)
        {
            var matches = source.StartsWith(name, StringComparison.Ordinal) && (source.Length == name.Length || source[name.Length] is '.' or '+' or '/' or '(' or ' ');
            if (matches && name.Length > best.Length)
            {
                best = name;
                level = l;
            }
        }

        return level;
    }

    private static LogEventLevel Lowest(Snapshot snapshot) =>
        snapshot.Levels.Values.Append(snapshot.Default).Min();

    private sealed record Snapshot(LogEventLevel Default, ImmutableSortedDictionary<string, LogEventLevel> Levels);
}

/// <summary>The node's Serilog logger: text or compact JSON on the console, levels from <see cref="LogLevels"/>.</summary>
public static class NodeLogging
{
    private const string TextTemplate = "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Message:lj}{NewLine}{Exception}";

    public static LogLevels Levels { get; private set; } = new(LoggingSettings.Defaults.Default, LoggingSettings.Defaults.Levels);

    /// <summary>Until the configuration is read: readable text, information and up.</summary>
    public static Serilog.ILogger Bootstrap() => Create(LoggingSettings.Defaults);

    public static Serilog.ILogger Create(LoggingSettings settings)
    {
        var levels = new LogLevels(settings.Default, settings.Levels);
        Levels = levels;
        var configuration = new LoggerConfiguration()
            .MinimumLevel.ControlledBy(levels.Minimum)
            .Filter.ByIncludingOnly(levels.IsEnabled)
            .Enrich.FromLogContext()
            .Enrich.With<EntityIdEnricher>()
            // Last: whatever a property carries, a URL's user info and secret query values never reach a sink.
            .Enrich.With<SecretRedactingEnricher>()
            .WriteTo.Sink(PandaFuzz.CommandHost.RecentLog.Instance);
        return (settings.Format == LogFormat.Json
                ? configuration.WriteTo.Console(new CompactJsonFormatter())
                : configuration.WriteTo.Console(outputTemplate: TextTemplate))
            .CreateLogger();
    }
}

/// <summary>
/// Gives an Akka log event the id of the entity or job runner that logged it, from its actor path, so every line of a
/// job can be found by its id.
/// </summary>
public sealed partial class EntityIdEnricher : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        if (!logEvent.Properties.TryGetValue("LogSource", out var value) || value is not ScalarValue { Value: string source })
        {
            return;
        }

        var match = EntityPath().Match(source);
        if (!match.Success)
        {
            return;
        }

        var (property, id) = match.Groups["type"].Value switch
        {
            "job" or "job-" => ("JobId", match.Groups["id"].Value),
            "bot" => ("BotId", match.Groups["id"].Value),
            _ => ("CampaignId", match.Groups["id"].Value),
        };
        logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty(property, Uri.UnescapeDataString(id)));
    }

    // Sharded entities live at /system/sharding/<type>/<shard>/<id>; a bot's job runners at /user/bot-agent/job-<id>
    // (/user/bot-agent-<n>/job-<id> for the simulated bots of a node that holds several).
    [GeneratedRegex("/(?:system/sharding/(?<type>campaign|job|bot|corpus)/[^/]+/|user/bot-agent(?:-[0-9]+)?/(?<type>job-))(?<id>[^/]+)")]
    private static partial Regex EntityPath();
}

/// <summary>
/// Masks secrets in URLs (user info, token and key query values) in every string a log event carries, so credentials
/// never reach the console, a log file or the command host's log peek.
/// </summary>
public sealed class SecretRedactingEnricher : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        foreach (var (name, value) in logEvent.Properties.ToList())
        {
            if (Redact(value) is { } redacted)
            {
                logEvent.AddOrUpdateProperty(new LogEventProperty(name, redacted));
            }
        }
    }

    /// <summary>The value with its strings redacted, or null when nothing in it changed.</summary>
    private static LogEventPropertyValue? Redact(LogEventPropertyValue value)
    {
        switch (value)
        {
            case ScalarValue { Value: string text }:
                var redacted = SecretUrls.Redact(text);
                return ReferenceEquals(redacted, text) || redacted == text ? null : new ScalarValue(redacted);
            case ScalarValue { Value: Uri uri }:
                var shown = SecretUrls.Redact(uri.OriginalString);
                return shown == uri.OriginalString ? null : new ScalarValue(shown);
            case SequenceValue sequence:
                var items = sequence.Elements.Select(e => Redact(e) ?? e).ToList();
                return items.SequenceEqual(sequence.Elements) ? null : new SequenceValue(items);
            default:
                return null;
        }
    }
}
