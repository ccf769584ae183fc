using System.Net;
using System.Net.Sockets;

namespace PandaFuzz.Testing;

/// <summary>Hands out free loopback TCP ports, never the same one twice in a test run.</summary>
public static class FreePort
{
    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();

    /// <summary>A port that was free a moment ago: the OS picks it when binding 127.0.0.1:0.</summary>
    public static int Next()
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }

            throw new InvalidOperationException("No unused free loopback port found after 100 attempts.");
        }
    }
}
