using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using PandaFuzz.EndToEnd.Tests;

namespace PandaFuzz.Chaos.Tests;

/// <summary>A node's network namespace: its name, the address its node binds, and its port on the switch.</summary>
/// <param name="Namespace">The <c>ip netns</c> name to start the node in.</param>
/// <param name="Address">The node's IPv4 address (on its <c>eth0</c>).</param>
/// <param name="SwitchPort">The switch-side end of its veth pair, which <see cref="NetworkNamespaces.CutOffAsync"/> takes down.</param>
public sealed record NamespacedHost(string Namespace, string Address, string SwitchPort);

/// <summary>
/// A private network for one partition test: a master and two bots, each in a network namespace of its own with
/// <c>lo</c> up and an <c>eth0</c> whose veth peer is a port of a bridge in a fourth ("switch") namespace, on a
/// 10.x.y.0/24 that no route of this machine covers. The test process in the root namespace reaches the nodes
/// through one more veth pair from the root namespace to the bridge (address .254), so nothing is routed or filtered
/// by the root namespace's firewall: frames are bridged in the switch namespace, which has no rules.
/// Cutting a node off takes its switch port down; healing brings it up again.
/// Every name starts with <c>pfz</c>, the owner's pid (base 36) and a sequence letter, e.g. <c>pfz1a2b0-m</c>, so
/// disposing removes what this instance made, and creating removes what an earlier run left behind once its owner
/// process is gone. Deleting a namespace destroys the veth ends in it, and with them their peers.
/// </summary>
public sealed partial class NetworkNamespaces : IAsyncDisposable
{
    public const string Prefix = "pfz";

    private const string Bridge = "br0";
    private const string NodeInterface = "eth0";
    private const string HostPort = "sw-host";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);
    private static readonly Lazy<string?> LazyUnavailable = new(Probe);
    private static int _sequence;

    private readonly string _tag;
    private readonly List<string> _namespaces = [];
    private bool _disposed;

    private NetworkNamespaces(string tag, string subnetPrefix)
    {
        _tag = tag;
        Subnet = subnetPrefix + "0/24";
        Switch = tag + "-s";
        HostInterface = tag + "-h";
        HostAddress = subnetPrefix + "254";
        Master = new NamespacedHost(tag + "-m", subnetPrefix + "1", "sw-m");
        BotA = new NamespacedHost(tag + "-a", subnetPrefix + "2", "sw-a");
        BotB = new NamespacedHost(tag + "-b", subnetPrefix + "3", "sw-b");
    }

    /// <summary>
    /// Why this machine cannot run namespace tests (not Linux, not root, or creating a namespace with a bridge and a
    /// veth pair failed), or null when it can. Probed once per test process.
    /// </summary>
    public static string? Unavailable => LazyUnavailable.Value;

    /// <summary>The network's CIDR, e.g. 10.213.57.0/24.</summary>
    public string Subnet { get; }

    /// <summary>The namespace holding the bridge.</summary>
    public string Switch { get; }

    /// <summary>The root-namespace interface the test process reaches the nodes through.</summary>
    public string HostInterface { get; }

    /// <summary>The test process's address on the network.</summary>
    public string HostAddress { get; }

    public NamespacedHost Master { get; }

    public NamespacedHost BotA { get; }

    public NamespacedHost BotB { get; }

    /// <summary>Removes what aborted earlier runs left, then builds the network; on any failure removes what it made.</summary>
    public static async Task<NetworkNamespaces> CreateAsync(CancellationToken cancellationToken)
    {
        await RemoveLeftoversAsync(cancellationToken);
        var network = new NetworkNamespaces(NewTag(), await FreeSubnetPrefixAsync(cancellationToken));
        try
        {
            await network.BuildAsync(cancellationToken);
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    /// <summary>Cuts <paramref name="host"/> off: its switch port goes down, so nothing reaches it or leaves it.</summary>
    public Task CutOffAsync(NamespacedHost host, CancellationToken cancellationToken) =>
        IpAsync(cancellationToken, "-n", Switch, "link", "set", host.SwitchPort, "down");

    /// <summary>Ends the cut: <paramref name="host"/>'s switch port comes up again.</summary>
    public Task HealAsync(NamespacedHost host, CancellationToken cancellationToken) =>
        IpAsync(cancellationToken, "-n", Switch, "link", "set", host.SwitchPort, "up");

    /// <summary>Deletes every namespace this instance created (and so every veth and the bridge), and the root-side veth.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var problems = new List<string>();
        foreach (var name in Enumerable.Reverse(_namespaces))
        {
            await RemoveNamespaceAsync(name, problems);
        }

        await RemoveRootLinkAsync(HostInterface, problems);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"Could not remove all of network {_tag}:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
        }
    }

    /// <summary>Runs <c>ip args</c> with a bounded wait; throws with the command, exit code and stderr when it fails.</summary>
    private static async Task<ProcessResult> IpAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        ProcessResult result;
        try
        {
            result = await ProcessTools.RunAsync("ip", arguments, CommandTimeout, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new InvalidOperationException($"`ip {string.Join(' ', arguments)}` did not finish within {CommandTimeout.TotalSeconds:0} s.", ex);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new InvalidOperationException($"`ip {string.Join(' ', arguments)}` could not be started (is iproute2 installed?): {ex.Message}", ex);
        }

        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"`ip {string.Join(' ', arguments)}` failed with exit code {result.ExitCode}: {result.StandardError.Trim()}");
        }

        return result;
    }

    private async Task BuildAsync(CancellationToken cancellationToken)
    {
        await AddNamespaceAsync(Switch, cancellationToken);
        await IpAsync(cancellationToken, "-n", Switch, "link", "add", "name", Bridge, "type", "bridge");
        await IpAsync(cancellationToken, "-n", Switch, "link", "set", Bridge, "up");
        foreach (var host in new[] { Master, BotA, BotB })
        {
            await AddNamespaceAsync(host.Namespace, cancellationToken);

            // Both ends are made where they live, so no name ever has to be unique in the root namespace.
            await IpAsync(cancellationToken, "-n", Switch, "link", "add", "name", host.SwitchPort, "type", "veth", "peer", "name", NodeInterface, "netns", host.Namespace);
            await IpAsync(cancellationToken, "-n", Switch, "link", "set", host.SwitchPort, "master", Bridge);
            await IpAsync(cancellationToken, "-n", Switch, "link", "set", host.SwitchPort, "up");
            await IpAsync(cancellationToken, "-n", host.Namespace, "addr", "add", host.Address + "/24", "dev", NodeInterface);
            await IpAsync(cancellationToken, "-n", host.Namespace, "link", "set", NodeInterface, "up");
        }

        await IpAsync(cancellationToken, "link", "add", "name", HostInterface, "type", "veth", "peer", "name", HostPort, "netns", Switch);
        await IpAsync(cancellationToken, "-n", Switch, "link", "set", HostPort, "master", Bridge);
        await IpAsync(cancellationToken, "-n", Switch, "link", "set", HostPort, "up");
        await IpAsync(cancellationToken, "addr", "add", HostAddress + "/24", "dev", HostInterface);
        await IpAsync(cancellationToken, "link", "set", HostInterface, "up");
    }

    private async Task AddNamespaceAsync(string name, CancellationToken cancellationToken)
    {
        await IpAsync(cancellationToken, "netns", "add", name);
        _namespaces.Add(name);
        await IpAsync(cancellationToken, "-n", name, "link", "set", "lo", "up");
    }

    private static async Task RemoveNamespaceAsync(string name, List<string> problems)
    {
        try
        {
            await IpAsync(CancellationToken.None, "netns", "delete", name);
        }
        catch (InvalidOperationException ex)
        {
            problems.Add(ex.Message);
        }
    }

    private static async Task RemoveRootLinkAsync(string name, List<string> problems)
    {
        try
        {
            if ((await RootLinksAsync(CancellationToken.None)).Contains(name))
            {
                await IpAsync(CancellationToken.None, "link", "delete", name);
            }
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("Cannot find device", StringComparison.Ordinal))
        {
            // Deleting its namespace took the veth's root end with it, a moment after the check (the kernel tears a
            // namespace's links down in the background, later on a loaded machine).
        }
        catch (InvalidOperationException ex)
        {
            problems.Add(ex.Message);
        }
    }

    private static string NewTag() =>
        Prefix + ToBase36(Environment.ProcessId) + ToBase36(Interlocked.Increment(ref _sequence) % 36);

    // Namespaces and root links named by a tag whose owner process is gone: left by a run that was killed mid-test.
    private static async Task RemoveLeftoversAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var namespaces = (await IpAsync(cancellationToken, "netns", "list")).StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ')[0]);
        foreach (var name in namespaces.Where(IsLeftover))
        {
            await RemoveNamespaceAsync(name, problems);
        }

        foreach (var name in (await RootLinksAsync(cancellationToken)).Where(IsLeftover))
        {
            await RemoveRootLinkAsync(name, problems);
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"Could not remove the leftovers of earlier runs:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
        }
    }

    private static bool IsLeftover(string name) =>
        OwnedName().Match(name) is { Success: true } match
        && FromBase36(match.Groups["pid"].Value) is { } pid
        && pid != Environment.ProcessId
        && !Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");

    private static async Task<IReadOnlyList<string>> RootLinksAsync(CancellationToken cancellationToken) =>
        (await IpAsync(cancellationToken, "-o", "link", "show")).StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 1)
            .Select(fields => fields[1].TrimEnd(':').Split('@')[0])
            .ToList();

    // A /24 in 10.200.0.0-10.249.255.0 that no route of the root namespace (any table) overlaps.
    private static async Task<string> FreeSubnetPrefixAsync(CancellationToken cancellationToken)
    {
        var routes = (await IpAsync(cancellationToken, "-4", "-o", "route", "show", "table", "all")).StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(RouteDestination)
            .OfType<IPNetwork>()
            .ToList();
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var prefix = $"10.{Random.Shared.Next(200, 250).ToString(CultureInfo.InvariantCulture)}.{Random.Shared.Next(1, 255).ToString(CultureInfo.InvariantCulture)}.";
            var candidate = IPNetwork.Parse(prefix + "0/24");
            if (!routes.Any(r => r.Contains(candidate.BaseAddress) || candidate.Contains(r.BaseAddress)))
            {
                return prefix;
            }
        }

        throw new InvalidOperationException("No 10.2xx.y.0/24 free of routes found in 50 tries.");
    }

    private static IPNetwork? RouteDestination(string route)
    {
        var fields = route.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var destination = fields.FirstOrDefault(f => f.Length > 0 && char.IsAsciiDigit(f[0]));
        if (destination is null || !fields.Take(2).Contains(destination))
        {
            return null;
        }

        if (IPNetwork.TryParse(destination, out var network))
        {
            return network;
        }

        return IPAddress.TryParse(destination, out var address) && address.AddressFamily == AddressFamily.InterNetwork
            ? new IPNetwork(address, 32)
            : null;
    }

    // Builds and removes a throw-away namespace with a bridge and a veth pair: what the tests need, nothing more.
    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespaces exist on Linux only.";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "the test process is not root, and creating network namespaces needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN).";
        }

        var name = NewTag() + "-p";

        // Test discovery is synchronous; these are a few bounded `ip` calls, once per test process.
        return Task.Run(async () =>
        {
            try
            {
                await IpAsync(CancellationToken.None, "netns", "add", name);
                try
                {
                    await IpAsync(CancellationToken.None, "-n", name, "link", "add", "name", Bridge, "type", "bridge");
                    await IpAsync(CancellationToken.None, "-n", name, "link", "add", "name", "v0", "type", "veth", "peer", "name", "v1");
                    await IpAsync(CancellationToken.None, "-n", name, "link", "set", "v0", "master", Bridge);
                }
                finally
                {
                    await IpAsync(CancellationToken.None, "netns", "delete", name);
                }

                return null;
            }
            catch (InvalidOperationException ex)
            {
                return $"creating a network namespace with a bridge and a veth pair failed: {ex.Message}";
            }
        }).GetAwaiter().GetResult();
    }

    private static string ToBase36(int value)
    {
        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var text = "";
        do
        {
            text = digits[value % 36] + text;
            value /= 36;
        }
        while (value > 0);

        return text;
    }

    private static int? FromBase36(string text)
    {
        var value = 0L;
        foreach (var c in text)
        {
            var digit = char.IsAsciiDigit(c) ? c - '0' : c - 'a' + 10;
            value = (value * 36) + digit;
            if (value > int.MaxValue)
            {
                return null;
            }
        }

        return (int)value;
    }

    // pfz + owner pid in base 36 + one sequence character, then "-" and the role letter.
    [GeneratedRegex("^pfz(?<pid>[0-9a-z]+)[0-9a-z]-[a-z]$")]
    private static partial Regex OwnedName();
}
