using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PandaFuzz.CommandHost;

/// <summary>
/// Who is at the other end of a loopback connection: the user that owns the client's socket, from the kernel's socket
/// table (<c>/proc/net/tcp</c>, <c>tcp6</c>), for the log line of each command.
/// </summary>
public static class PeerIdentity
{
    /// <summary>"127.0.0.1:51234 (uid 1000)", or the address alone where the table does not say.</summary>
    public static string Describe(IPEndPoint? peer)
    {
        if (peer is null)
        {
            return "an unknown peer";
        }

        return UidOf(peer) is { } uid ? $"{peer} (uid {uid})" : peer.ToString();
    }

    /// <summary>The uid owning the socket whose local end is <paramref name="peer"/> on this machine; null when none is found.</summary>
    public static int? UidOf(IPEndPoint peer)
    {
        var address = peer.Address.IsIPv4MappedToIPv6 ? peer.Address.MapToIPv4() : peer.Address;
        var (table, hex) = address.AddressFamily == AddressFamily.InterNetwork
            ? ("/proc/net/tcp", Convert.ToHexString(address.GetAddressBytes().Reverse().ToArray()))
            : ("/proc/net/tcp6", Ipv6Hex(address));
        var local = $"{hex}:{peer.Port:X4}";
        try
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 7 && string.Equals(fields[1], local, StringComparison.OrdinalIgnoreCase)
                    && int.TryParse(fields[7], NumberStyles.Integer, CultureInfo.InvariantCulture, out var uid))
                {
                    return uid;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc here: the address alone says who.
        }

        return null;
    }

    // The kernel prints an IPv6 address as four 32-bit words, each in the host's (little-endian) byte order.
    private static string Ipv6Hex(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        var text = new System.Text.StringBuilder(32);
        for (var word = 0; word < 4; word++)
        {
            for (var b = 3; b >= 0; b--)
            {
                text.Append(bytes[word * 4 + b].ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }
}
