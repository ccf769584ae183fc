using System.Net;

namespace PandaFuzz.Node;

/// <summary>A host and port as written in the environment ("127.0.0.1:8080").</summary>
public sealed record HostPort(string Host, int Port)
{
    /// <summary>IPv6 hosts keep their brackets, so the text fits in a URL and an Akka address.</summary>
    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    public static bool TryParse(string text, out HostPort value)
    {
        value = new HostPort("", 0);
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out var port) || port is < 0 or > 65535)
        {
            return false;
        }

        var host = text[..colon].Trim('[', ']');
        if (Uri.CheckHostName(host) == UriHostNameType.Unknown && !IPAddress.TryParse(host, out _))
        {
            return false;
        }

        value = new HostPort(host, port);
        return true;
    }
}

/// <summary>What an operator sets per node through the environment; every bad value stops start-up naming its variable.</summary>
public sealed record NodeSettings(
    IReadOnlySet<string> Roles,
    string DataDir,
    HostPort Http,
    HostPort Remote,
    IReadOnlyList<HostPort> Seeds)
{
    public const string RolesVariable = "PANDAFUZZ_ROLES";
    public const string DataDirVariable = "PANDAFUZZ_DATA_DIR";
    public const string HttpVariable = "PANDAFUZZ_HTTP";
    public const string RemoteVariable = "PANDAFUZZ_REMOTE";
    public const string SeedsVariable = "PANDAFUZZ_SEEDS";
    public const string BlobDirVariable = "PANDAFUZZ_BLOB_DIR";

    public static readonly IReadOnlySet<string> KnownRoles = new HashSet<string> { "master", "bot" };

    public bool IsMaster => Roles.Contains("master");

    /// <summary>A master's blob store when it is not under the data dir: storage every master shares (PostgreSQL, several masters).</summary>
    public string? SharedBlobDir { get; init; }

    public string BlobDir => SharedBlobDir ?? Path.Combine(DataDir, "blobs");

    public bool IsBot => Roles.Contains("bot");

    public static NodeSettings FromEnvironment(Func<string, string?> env)
    {
        var rolesText = Value(env, RolesVariable) ?? "master,bot";
        var roles = rolesText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(r => r.ToLowerInvariant()).ToHashSet();
        if (roles.Count == 0 || roles.Any(r => !KnownRoles.Contains(r)))
        {
            throw new NodeConfigurationException(RolesVariable, rolesText, "a comma-separated list of the roles master and bot");
        }

        var dataDir = Value(env, DataDirVariable) ?? Path.Combine(Environment.CurrentDirectory, "data");
        try
        {
            dataDir = Path.GetFullPath(dataDir);
            Directory.CreateDirectory(dataDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new NodeConfigurationException(DataDirVariable, dataDir, $"a directory this process can create and write ({e.Message})");
        }

        var http = Endpoint(env, HttpVariable, "127.0.0.1:8080");
        var remote = Endpoint(env, RemoteVariable, "127.0.0.1:4053");
        var seedsText = Value(env, SeedsVariable) ?? "";
        var seeds = new List<HostPort>();
        foreach (var seed in seedsText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!HostPort.TryParse(seed, out var parsed) || parsed.Port == 0)
            {
                throw new NodeConfigurationException(SeedsVariable, seedsText, "a comma-separated list of host:port remote endpoints (empty: this node founds the cluster)");
            }

            seeds.Add(parsed);
        }

        if (seeds.Count == 0 && !roles.Contains("master"))
        {
            throw new NodeConfigurationException(SeedsVariable, seedsText, "the master's remote endpoint: a bot-only node must join a cluster founded by a master");
        }

        string? blobDir = null;
        if (Value(env, BlobDirVariable) is { } blobText)
        {
            try
            {
                blobDir = Path.GetFullPath(blobText);
                Directory.CreateDirectory(blobDir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new NodeConfigurationException(BlobDirVariable, blobText, $"a directory this process can create and write ({e.Message})");
            }
        }

        return new NodeSettings(roles, dataDir, http, remote, seeds) { SharedBlobDir = blobDir };
    }

    private static string? Value(Func<string, string?> env, string name) => env(name) is { Length: > 0 } v ? v.Trim() : null;

    private static HostPort Endpoint(Func<string, string?> env, string name, string fallback)
    {
        var text = Value(env, name) ?? fallback;
        return HostPort.TryParse(text, out var value)
            ? value
            : throw new NodeConfigurationException(name, text, "host:port, such as 127.0.0.1:8080");
    }
}

/// <summary>A bad setting: names the variable, the value and what was expected.</summary>
public sealed class NodeConfigurationException(string setting, string value, string expected)
    : Exception($"{setting}='{value}' is invalid: expected {expected}")
{
    public string Setting { get; } = setting;
}
