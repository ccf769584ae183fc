using System.Net;
using Akka.Configuration;
using PandaFuzz.Infrastructure.Configuration;

namespace PandaFuzz.CommandHost;

/// <summary>
/// Where a node's command host listens and the token it asks for (<c>pandafuzz.command-host</c>; the environment
/// variables <c>PANDAFUZZ_CMD</c> — <c>host:port</c> or <c>off</c> — and <c>PANDAFUZZ_CMD_TOKEN</c> override it).
/// Bound beyond loopback, it refuses to start without a token: the commands can down nodes and stop campaigns. On
/// loopback without one, the node makes its own (<see cref="WithLocalToken"/>): nothing runs unauthenticated.
/// </summary>
public sealed record CommandHostSettings(bool Enabled, IPAddress Address, int Port, string? Token)
{
    public const string Section = "pandafuzz.command-host";
    public const string EndpointVariable = "PANDAFUZZ_CMD";
    public const string TokenVariable = "PANDAFUZZ_CMD_TOKEN";

    /// <summary>The token a node makes when none is configured, in its data dir (mode 0600); pandafuzz-cmd reads it there.</summary>
    public const string GeneratedTokenFile = "cmd-token";

    /// <summary>Where the token came from, for the start-up log (never the token itself).</summary>
    public string TokenSource { get; init; } = "configured";

    /// <summary>
    /// These settings with a token whatever was configured: with none, the one kept in <see cref="GeneratedTokenFile"/>
    /// under <paramref name="dataDir"/>, made at the first start. Anyone on the machine can connect to loopback; only
    /// who can read the node's data dir gets in.
    /// </summary>
    public CommandHostSettings WithLocalToken(string dataDir)
    {
        if (!Enabled || Token is not null)
        {
            return this;
        }

        var path = Path.Combine(dataDir, GeneratedTokenFile);
        var token = GeneratedToken.ReadOrCreate(path, IsGeneratedShape)
            ?? throw new ConfigurationException($"{path} is invalid: expected the command host token this node generated; delete it to make a new one");
        return this with { Token = token, TokenSource = $"generated, in {path}" };
    }

    private static bool IsGeneratedShape(string token) =>
        token.Length >= 16 && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public static CommandHostSettings From(Config config, Func<string, string?> env)
    {
        var endpoint = env(EndpointVariable) is { Length: > 0 } e ? e.Trim() : config.GetString($"{Section}.endpoint", $"127.0.0.1:9110");
        var endpointKey = env(EndpointVariable) is { Length: > 0 } ? EndpointVariable : $"{Section}.endpoint";
        var token = env(TokenVariable) is { Length: > 0 } t ? t.Trim() : config.GetString($"{Section}.token", "")?.Trim();
        if (string.Equals(endpoint, "off", StringComparison.OrdinalIgnoreCase))
        {
            return new CommandHostSettings(false, IPAddress.Loopback, 0, null);
        }

        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !IPAddress.TryParse(endpoint[..colon].Trim('[', ']'), out var address)
            || !int.TryParse(endpoint.AsSpan(colon + 1), out var port) || port is < 0 or > 65535)
        {
            throw new ConfigurationException($"{endpointKey}='{endpoint}' is invalid: expected an IP address and port such as 127.0.0.1:9110, or off");
        }

        if (!IPAddress.IsLoopback(address) && string.IsNullOrEmpty(token))
        {
            throw new ConfigurationException(
                $"{endpointKey} binds {endpoint}, beyond loopback, without a token: set {Section}.token ({TokenVariable}) or bind 127.0.0.1");
        }

        return new CommandHostSettings(true, address, port, string.IsNullOrEmpty(token) ? null : token);
    }
}
