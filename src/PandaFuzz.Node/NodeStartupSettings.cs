using Akka.Configuration;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.CommandHost;
using PandaFuzz.Infrastructure.Cluster;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Node.Observability;

namespace PandaFuzz.Node;

/// <summary>
/// Every setting a node starts with, read and validated at once: the one path start-up, a reload and the
/// shipped-configuration tests all take. A bad or missing value throws naming its key and the expected form.
/// </summary>
public sealed record NodeStartupSettings(
    NodeSettings Node,
    Config Config,
    DowningSettings Downing,
    MasterSettings? Master,
    BotSettings? Bot,
    CommandHostSettings CommandHost,
    ObservabilitySettings Observability,
    RemoteTlsSettings? RemoteTls,
    TimeSpan ReloadPollInterval)
{
    /// <summary>The operator's file's content hash when these settings were read (null: no file); a reload compares with it.</summary>
    public string? OperatorFileFingerprint { get; init; }

    public static NodeStartupSettings Load(IReadOnlyDictionary<string, string> environment)
    {
        string? Env(string name) => environment.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
        return Load(NodeSettings.FromEnvironment(Env), environment);
    }

    public static NodeStartupSettings Load(NodeSettings node, IReadOnlyDictionary<string, string> environment)
    {
        string? Env(string name) => environment.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
        var fingerprint = NodeConfiguration.OperatorFile(Env) is { } file ? Fingerprint(file) : null;
        var config = NodeConfiguration.Load(node, environment);
        return new NodeStartupSettings(
            node,
            config,
            DowningSettings.From(config),
            node.IsMaster ? MasterSettings.From(config) : null,
            node.IsBot ? BotSettings.From(config) : null,
            CommandHostSettings.From(config, Env),
            ObservabilitySettings.From(config, Env),
            RemoteTlsSettings.From(config, Env),
            new PandaFuzz.Infrastructure.Configuration.HoconReader(config, ConfigurationReloader.Section).PositiveDuration("poll-interval"))
        {
            OperatorFileFingerprint = fingerprint,
        };
    }

    /// <summary>Null when the file cannot be read; an editor's save, a copy over it and a symlink swap all change it.</summary>
    public static string? Fingerprint(string file)
    {
        try
        {
            return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
