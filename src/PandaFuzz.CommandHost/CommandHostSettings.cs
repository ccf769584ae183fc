using System.Net;
using Akka.Configuration;

namespace PandaFuzz.CommandHost;

/// <summary>
/// Where a node's command host listens and the token it asks for (<c>pandafuzz.command-host</c>; the environment
/// variables <c>PANDAFUZZ_CMD</c> — <c>host:port</c> or <c>off</c> — and <c>PANDAFUZZ_CMD_TOKEN</c> override it).
/// Bound beyond loopback, it refuses to start without a token: the commands can down nodes and stop campaigns.
/// </summary>
public sealed record CommandHostSettings(bool Enabled, IPAddress Address, int Port, string? Token)
{
    public const string Section = "pandafuzz.command-host";
    public const string EndpointVariable = "PANDAFUZZ_CMD";
    public const string TokenVariable = "PANDAFUZZ_CMD_TOKEN";

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
