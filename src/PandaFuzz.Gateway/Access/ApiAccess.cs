using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Akka.Configuration;
using PandaFuzz.Infrastructure.Configuration;

namespace PandaFuzz.Gateway.Access;

/// <summary>
/// Who may call the API: token hashes (SHA-256, compared in constant time) and whether reads need one; writes always
/// do. With no token configured the master makes one (<c>api-token</c>, mode 0600), so a laptop run is protected too.
/// </summary>
public sealed partial class ApiAccess
{
    public const string Section = "pandafuzz.master.api";
    public const string TokensVariable = "PANDAFUZZ_API_TOKENS";
    public const string TokenFileVariable = "PANDAFUZZ_API_TOKEN_FILE";
    public const string ReadsRequireTokenVariable = "PANDAFUZZ_API_READS_REQUIRE_TOKEN";
    public const string HostsVariable = "PANDAFUZZ_API_HOSTS";
    public const string GeneratedTokenFile = "api-token";
    public const int MinTokenLength = 16;
    public const int MaxTokenLength = 512;
    private const string TokenForm = "16 to 512 characters of A-Z a-z 0-9 - . _ ~ + / (an RFC 6750 b64token)";

    private readonly byte[][] _hashes;

    private ApiAccess(IReadOnlyList<string> tokens, bool readsRequireToken, string source, bool generated)
    {
        _hashes = [.. tokens.Select(Hash)];
        ClientToken = tokens[0];
        ReadsRequireToken = readsRequireToken;
        Source = source;
        Generated = generated;
    }

    public bool ReadsRequireToken { get; }

    /// <summary>
    /// Extra Host names the API answers to while reads need no token: a DNS-rebinding page sends its own name as Host
    /// and is refused, so it cannot read crashes through the browser. Empty: loopback, the bound address, this machine.
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; private init; } = [];

    /// <summary>Where the tokens came from, for the start-up log (never the tokens themselves).</summary>
    public string Source { get; }

    /// <summary>No token was configured: the master made its own.</summary>
    public bool Generated { get; }

    /// <summary>A token this node's own clients (the command host on loopback) present.</summary>
    public string ClientToken { get; }

    /// <summary>Takes the same time whichever token matches.</summary>
    public bool Accepts(string presented)
    {
        var hash = Hash(presented);
        var match = false;
        foreach (var known in _hashes)
        {
            match |= CryptographicOperations.FixedTimeEquals(hash, known);
        }

        return match;
    }

    /// <summary>A warning when the API listens beyond loopback with the master's own token or open reads; else null.</summary>
    public string? ExposureWarning(string host, string httpVariable)
    {
        var loopback = host is "localhost" || (System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address));
        if (loopback || (!Generated && ReadsRequireToken))
        {
            return null;
        }

        var without = Generated ? "no API token configured (writes take only the generated one)" : "reads that need no token";
        return $"The API listens on {host}, beyond this machine, with {without}: anyone who reaches it can read campaigns, crashes and "
               + $"their inputs. Set {TokensVariable} and {ReadsRequireTokenVariable}=true, or bind {httpVariable} to 127.0.0.1";
    }

    /// <summary>A bad value names its key or variable, never its text.</summary>
    public static ApiAccess From(Config config, Func<string, string?> env, string dataDir)
    {
        var r = new HoconReader(config, Section);
        var readsRequireToken = env(ReadsRequireTokenVariable) is { Length: > 0 } readsText
            ? ParseBool(ReadsRequireTokenVariable, readsText)
            : r.Bool("reads-require-token");

        var tokens = new List<string>();
        var sources = new List<string>();
        if (env(TokensVariable) is { Length: > 0 } listed)
        {
            var parts = listed.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            tokens.AddRange(Checked(parts, TokensVariable));
            sources.Add($"{parts.Length} from {TokensVariable}");
        }
        else if (config.HasPath($"{Section}.tokens"))
        {
            IReadOnlyList<string> configured = [.. config.GetStringList($"{Section}.tokens") ?? []];
            tokens.AddRange(Checked(configured, $"{Section}.tokens"));
            if (configured.Count > 0)
            {
                sources.Add($"{configured.Count} from {Section}.tokens");
            }
        }

        var (fileKey, file) = env(TokenFileVariable) is { Length: > 0 } fromEnv
            ? (TokenFileVariable, fromEnv)
            : ($"{Section}.token-file", r.String("token-file"));
        if (file.Length > 0)
        {
            if (!File.Exists(file))
            {
                throw new ConfigurationException($"{fileKey}='{file}' is invalid: expected a file holding one token per line (it does not exist)");
            }

            var lines = File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
            if (lines.Count == 0)
            {
                throw new ConfigurationException($"{fileKey}='{file}' is invalid: expected a file holding one token per line (it holds none)");
            }

            tokens.AddRange(Checked(lines, fileKey));
            sources.Add($"{lines.Count} from {file}");
        }

        IReadOnlyList<string> hosts = env(HostsVariable) is { Length: > 0 } hostList
            ? Hosts(hostList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), HostsVariable)
            : Hosts(config.HasPath($"{Section}.allowed-hosts") ? [.. config.GetStringList($"{Section}.allowed-hosts") ?? []] : [], $"{Section}.allowed-hosts");
        if (tokens.Count > 0)
        {
            return new ApiAccess(tokens, readsRequireToken, string.Join(", ", sources), generated: false) { AllowedHosts = hosts };
        }

        var path = Path.Combine(dataDir, GeneratedTokenFile);
        return new ApiAccess([GeneratedToken(path)], readsRequireToken, $"generated, in {path}", generated: true) { AllowedHosts = hosts };
    }

    /// <summary>The Host names a request may carry, or null for any: reads need a token, which a rebinding page cannot send.</summary>
    public IReadOnlyList<string>? HostsAnswered(string boundHost, string machineName) => ReadsRequireToken
        ? null
        : [.. new[] { "localhost", "127.0.0.1", "[::1]", "::1", machineName }
            .Concat(boundHost is "0.0.0.0" or "::" or "[::]" or "*" or "+" ? [] : [boundHost])
            .Concat(AllowedHosts)
            .Distinct(StringComparer.OrdinalIgnoreCase)];

    /// <summary><c>*.domain</c> takes subdomains.</summary>
    public static bool IsAnswered(string host, IReadOnlyList<string> answered) =>
        answered.Any(a => a.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(a[1..], StringComparison.OrdinalIgnoreCase) && host.Length > a.Length - 1
            : string.Equals(host, a, StringComparison.OrdinalIgnoreCase));

    private static IReadOnlyList<string> Hosts(IReadOnlyList<string> hosts, string key) =>
        hosts.FirstOrDefault(h => !HostShape().IsMatch(h)) is { } bad
            ? throw new ConfigurationException($"{key} holds '{bad}', which is not a host name, an IP address or *.domain")
            : hosts;

    [GeneratedRegex(@"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?$|^\[?[0-9A-Fa-f:.]+\]?$")]
    private static partial Regex HostShape();

    /// <summary>Made and written (mode 0600) when there is none.</summary>
    private static string GeneratedToken(string path) =>
        Infrastructure.Configuration.GeneratedToken.ReadOrCreate(path, TokenShape().IsMatch)
        ?? throw new ConfigurationException($"{path} is invalid: expected the token this master generated ({TokenForm}); delete it to make a new one");

    private static IEnumerable<string> Checked(IReadOnlyList<string> tokens, string key)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            if (!TokenShape().IsMatch(tokens[i]))
            {
                // A secret: say which and what is wrong, not what it is.
                throw new ConfigurationException($"{key} is invalid: token {i + 1} of {tokens.Count} ({tokens[i].Length} characters) is not {TokenForm}");
            }
        }

        return tokens;
    }

    private static bool ParseBool(string variable, string text) => text.Trim().ToLowerInvariant() switch
    {
        "true" or "on" or "yes" or "1" => true,
        "false" or "off" or "no" or "0" => false,
        _ => throw new ConfigurationException($"{variable}='{text}' is invalid: expected true or false"),
    };

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    [GeneratedRegex(@"^[A-Za-z0-9\-._~+/]{16,512}=*\z")]
    private static partial Regex TokenShape();
}
