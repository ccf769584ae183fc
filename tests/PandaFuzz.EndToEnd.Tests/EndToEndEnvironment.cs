using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>A test's failure, with the node log tails and the processes left under the test's temp dir.</summary>
public sealed class EndToEndFailureException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// One test's sandbox: a unique temp dir holding each node's data dir and log, the nodes started in it,
/// and the overall time budget. Disposing kills every node and every process whose command line names
/// the temp dir, and deletes the dir unless the test failed (then its logs stay for CI to collect).
/// </summary>
public sealed class EndToEndEnvironment : IAsyncDisposable
{
    private readonly List<NodeProcess> _nodes = [];
    private bool _failed;

    public EndToEndEnvironment([CallerFilePath] string testFile = "")
    {
        var label = Path.GetFileNameWithoutExtension(testFile).ToLowerInvariant();
        Root = Path.Combine(Path.GetTempPath(), $"pandafuzz-e2e-{label}-{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(Root);
    }

    /// <summary>The test's temp dir; every node data dir and fuzzer lives below it.</summary>
    public string Root { get; }

    /// <summary>
    /// Options for a fresh node named <paramref name="name"/> with its own data dir and free ports, on loopback unless
    /// <paramref name="host"/> (and the <paramref name="networkNamespace"/> holding that address) say otherwise.
    /// </summary>
    public NodeOptions NewNodeOptions(string name, string roles, string seeds = "", string host = NodeOptions.Loopback, string? networkNamespace = null) =>
        new(
            name,
            roles,
            DataDir: Path.Combine(Root, name, "data"),
            HttpPort: FreePort.Next(),
            RemotePort: FreePort.Next(),
            Seeds: seeds,
            LogPath: Path.Combine(Root, name + ".log"),
            Host: host,
            NetworkNamespace: networkNamespace);

    /// <summary>Starts a node that this environment will kill at the end.</summary>
    public NodeProcess StartNode(NodeOptions options)
    {
        var node = NodeProcess.Start(options);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Starts a master-role node and waits until <c>/health/ready</c> answers 200.</summary>
    public async Task<NodeProcess> StartReadyNodeAsync(NodeOptions options, CancellationToken cancellationToken)
    {
        var node = StartNode(options);
        await node.WaitReadyAsync(Timeouts.NodeReady, cancellationToken);
        return node;
    }

    /// <summary>SIGKILLs every process whose command line contains the test's temp dir.</summary>
    public void KillOrphans() => ProcessTools.KillByCommandLine(Root);

    /// <summary>
    /// Runs the test body under a time budget; any failure is rethrown with the tail of every node's log
    /// and the processes still alive under the temp dir, so a CI failure can be read from the message alone.
    /// </summary>
    public async Task RunAsync(TimeSpan budget, Func<CancellationToken, Task> body)
    {
        using var budgetSource = new CancellationTokenSource(budget);
        try
        {
            await body(budgetSource.Token);
        }
        catch (Exception ex)
        {
            _failed = true;
            var headline = ex is OperationCanceledException && budgetSource.IsCancellationRequested
                ? $"The test exceeded its overall budget of {budget.TotalSeconds:0} s."
                : ex.Message;
            throw new EndToEndFailureException(Diagnose(headline), ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        KillOrphans();
        if (_failed)
        {
            return;
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A fuzzer killed a moment ago may still be releasing files; a leftover temp dir is harmless.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }

    private string Diagnose(string headline)
    {
        var message = new StringBuilder(headline);
        message.AppendLine().AppendLine();
        message.AppendLine(CultureInfo.InvariantCulture, $"Test temp dir (kept): {Root}");
        foreach (var node in _nodes)
        {
            message.AppendLine(node.LogTail());
        }

        try
        {
            var alive = ProcessTools.FindByCommandLine(Root);
            message.AppendLine(CultureInfo.InvariantCulture, $"--- processes naming the temp dir: {alive.Count} ---");
            foreach (var process in alive)
            {
                message.AppendLine(process);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            message.AppendLine(CultureInfo.InvariantCulture, $"--- could not list processes: {ex.Message} ---");
        }

        return message.ToString();
    }
}

/// <summary>The deadlines these tests wait with.</summary>
public static class Timeouts
{
    /// <summary>From process start to <c>/health/ready</c> = 200 (cold .NET start, Akka cluster formation, SQLite).</summary>
    public static readonly TimeSpan NodeReady = TimeSpan.FromSeconds(60);

    /// <summary>From campaign creation to the planted crash being listed.</summary>
    public static readonly TimeSpan FirstCrash = TimeSpan.FromSeconds(60);

    /// <summary>From campaign creation to the first AFL++ crash listed (afl-fuzz calibrates, then needs the dictionary's "FUZ").</summary>
    public static readonly TimeSpan AflFirstCrash = TimeSpan.FromSeconds(90);

    /// <summary>For a running job's stats to show executions (AFL++ 4.04c writes fuzzer_stats at its start, then once a minute).</summary>
    public static readonly TimeSpan JobStats = TimeSpan.FromSeconds(60);

    /// <summary>For the master to see a bot node as online.</summary>
    public static readonly TimeSpan BotOnline = TimeSpan.FromSeconds(60);

    /// <summary>For a job to be assigned and running, or to settle after a stop.</summary>
    public static readonly TimeSpan JobState = TimeSpan.FromSeconds(30);

    /// <summary>For fuzzer processes to appear or disappear.</summary>
    public static readonly TimeSpan FuzzerProcess = TimeSpan.FromSeconds(15);

    /// <summary>For a short helper (the target reproducing a crash).</summary>
    public static readonly TimeSpan Reproduce = TimeSpan.FromSeconds(30);
}
