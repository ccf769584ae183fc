using System.Net;
using System.Net.Sockets;

namespace PandaFuzz.Testing;

/// <summary>
/// Hands out free loopback TCP ports, never the same one twice in a test run, nor one another test process on this
/// machine holds: the test streams run side by side, and a node restarted on its old port must not find it taken by a
/// node of another process that was handed it while it was free.
/// </summary>
public static class FreePort
{
    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();

    // One file per port handed out, held open with an exclusive lock (flock) until the process ends, even by a kill.
    private static readonly string Registry = Path.Combine(Path.GetTempPath(), "pandafuzz-test-ports");
    private static readonly List<FileStream> Held = [];

    /// <summary>A port that was free a moment ago: the OS picks it when binding 127.0.0.1:0.</summary>
    public static int Next()
    {
        lock (Gate)
        {
            Directory.CreateDirectory(Registry);
            for (var attempt = 0; attempt < 100; attempt++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (!HandedOut.Contains(port) && TryHold(port))
                {
                    HandedOut.Add(port);
                    return port;
                }
            }

            throw new InvalidOperationException("No unused free loopback port found after 100 attempts.");
        }
    }

    private static bool TryHold(int port)
    {
        try
        {
            Held.Add(new FileStream(Path.Combine(Registry, port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            return true;
        }
        catch (IOException)
        {
            // Another test process holds it.
            return false;
        }
    }
}
