using System.Diagnostics;
using System.Globalization;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>How to start one pandafuzz node: its roles, its own data dir, ports and seeds.</summary>
/// <param name="Name">A label for logs and messages, e.g. "master".</param>
/// <param name="Roles">PANDAFUZZ_ROLES: "master", "bot" or "master,bot".</param>
/// <param name="DataDir">PANDAFUZZ_DATA_DIR; also the marker of this node's fuzzer processes on their command lines.</param>
/// <param name="HttpPort">Port for PANDAFUZZ_HTTP on <paramref name="Host"/> (only master-role nodes serve on it).</param>
/// <param name="RemotePort">Port for PANDAFUZZ_REMOTE (Akka.Remote) on <paramref name="Host"/>.</param>
/// <param name="Seeds">PANDAFUZZ_SEEDS: empty to found a cluster, or the master's remote host:port.</param>
/// <param name="LogPath">File receiving the node's stdout and stderr.</param>
/// <param name="Webhooks">PANDAFUZZ_WEBHOOKS, when set.</param>
/// <param name="Postgres">PANDAFUZZ_POSTGRES, when set: the master's journal, snapshots and read model in PostgreSQL.</param>
/// <param name="BlobDir">PANDAFUZZ_BLOB_DIR, when set: a blob store shared by several masters.</param>
/// <param name="CommandPort">PANDAFUZZ_CMD's port on loopback: the node's command host for pandafuzz-cmd (off unless set, so nodes never compete for 9110).</param>
/// <param name="Host">The IPv4 address the node binds and is reached at (HTTP and Akka.Remote); loopback unless set.</param>
/// <param name="NetworkNamespace">When set, the node runs in this network namespace (<c>ip netns exec</c>); it must exist.</param>
/// <param name="Arguments">Command-line arguments after the dll, e.g. <c>db backup --to FILE</c> (none: the node starts).</param>
/// <param name="Metrics">PANDAFUZZ_METRICS, when set: where a bot-only node serves /metrics, /healthz and /readyz.</param>
/// <param name="Environment">More variables for the node, e.g. PANDAFUZZ_LOG_FORMAT.</param>
/// <param name="OwnProcessGroup">Start the node in a session and process group of its own (through <c>setsid</c>), as a
/// service manager does, so a test can kill the whole group (<c>kill -9 -PGID</c>) without killing itself.</param>
public sealed record NodeOptions(
    string Name,
    string Roles,
    string DataDir,
    int HttpPort,
    int RemotePort,
    string Seeds,
    string LogPath,
    string? Webhooks = null,
    string Host = NodeOptions.Loopback,
    string? NetworkNamespace = null,
    string? Postgres = null,
    string? BlobDir = null,
    IReadOnlyList<string>? Arguments = null,
    int? CommandPort = null,
    string? Metrics = null,
    IReadOnlyDictionary<string, string>? Environment = null,
    bool OwnProcessGroup = false)
{
    public const string Loopback = "127.0.0.1";

    public string HttpEndpoint => $"{Host}:{HttpPort.ToString(CultureInfo.InvariantCulture)}";

    public string RemoteEndpoint => $"{Host}:{RemotePort.ToString(CultureInfo.InvariantCulture)}";

    public Uri BaseAddress => new($"http://{HttpEndpoint}/");
}

/// <summary>
/// A real pandafuzz node run as <c>dotnet pandafuzz.dll</c> (in a network namespace: <c>ip netns exec ns dotnet pandafuzz.dll</c>,
/// which execs the host, so <see cref="Pid"/> is the node's), its output captured to a log file.
/// Disposing kills it (and its fuzzers) if it still runs.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    /// <summary>The variable of <c>pandafuzz.bot.libfuzzer-fork</c>: a test that wants -fork sets it to "on" in its options.</summary>
    public const string LibFuzzerFork = "PANDAFUZZ__PANDAFUZZ__BOT__LIBFUZZER_FORK";

    /// <summary>The variable of <c>pandafuzz.bot.cpu-pinning.enabled</c>: a test that wants jobs pinned sets it to "on".</summary>
    public const string CpuPinning = "PANDAFUZZ__PANDAFUZZ__BOT__CPU_PINNING__ENABLED";

    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(10);

    // Variables the test host may carry that would change what the node binds or how it runs.
    private static readonly string[] ScrubbedVariables =
        ["ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS"];

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logGate = new();
    private bool _logClosed;

    private NodeProcess(NodeOptions options, Process process, StreamWriter log)
    {
        Options = options;
        _process = process;
        _log = log;
    }

    public NodeOptions Options { get; }

    public string Name => Options.Name;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the node; does not wait for it to be ready.</summary>
    public static NodeProcess Start(NodeOptions options)
    {
        var dll = RepoLayout.NodeDll;
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException(
                $"The node executable is missing at {dll}. Build it with `dotnet build src/PandaFuzz.Node -c {RepoLayout.Configuration}` " +
                "(building this test project does that through its ProjectReference).",
                dll);
        }

        Directory.CreateDirectory(options.DataDir);
        Directory.CreateDirectory(Path.GetDirectoryName(options.LogPath)!);

        // setsid execs the rest in place (a child of the test never leads a group), so Pid stays the node's.
        var startInfo = new ProcessStartInfo(options.OwnProcessGroup ? "setsid" : options.NetworkNamespace is null ? RepoLayout.DotnetHost : "ip")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(options.DataDir)!,
        };
        if (options.OwnProcessGroup)
        {
            startInfo.ArgumentList.Add(options.NetworkNamespace is null ? RepoLayout.DotnetHost : "ip");
        }

        if (options.NetworkNamespace is { } networkNamespace)
        {
            foreach (var argument in new[] { "netns", "exec", networkNamespace, RepoLayout.DotnetHost })
            {
                startInfo.ArgumentList.Add(argument);
            }
        }

        startInfo.ArgumentList.Add(dll);
        foreach (var argument in options.Arguments ?? [])
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var key in startInfo.Environment.Keys.Where(IsScrubbed).ToList())
        {
            startInfo.Environment.Remove(key);
        }

        startInfo.Environment["PANDAFUZZ_ROLES"] = options.Roles;
        startInfo.Environment["PANDAFUZZ_DATA_DIR"] = options.DataDir;
        startInfo.Environment["PANDAFUZZ_HTTP"] = options.HttpEndpoint;
        startInfo.Environment["PANDAFUZZ_REMOTE"] = options.RemoteEndpoint;
        startInfo.Environment["PANDAFUZZ_SEEDS"] = options.Seeds;
        startInfo.Environment["DOTNET_HOSTBUILDER__RELOADCONFIGONCHANGE"] = "false";

        // Plain libFuzzer runs unless a test asks for -fork (BugGroupsTests, EnsembleTests): on the shallow planted bug most
        // tests fuzz, -fork keeps both cores busy with children and reruns, and the suite would outgrow its time budget.
        // (A node without the bot role knows no bot setting and would refuse the variable.)
        // Nor are jobs pinned to cores unless a test asks (BundleCampaignTests): pinning is for a bot that owns its cores,
        // while a test run packs dozens of nodes and two test streams onto 2 cores, where a job held to one core (and a node
        // held off it) waits behind whatever else was put there and its reruns time out.
        if (options.Roles.Split(',').Contains("bot"))
        {
            startInfo.Environment[LibFuzzerFork] = "off";
            startInfo.Environment[CpuPinning] = "off";
        }
        startInfo.Environment["PANDAFUZZ_API_TOKENS"] = ApiClient.TestToken;
        if (options.Webhooks is { } webhooks)
        {
            startInfo.Environment["PANDAFUZZ_WEBHOOKS"] = webhooks;
        }

        if (options.Postgres is { } postgres)
        {
            startInfo.Environment["PANDAFUZZ_POSTGRES"] = postgres;
        }

        if (options.BlobDir is { } blobDir)
        {
            startInfo.Environment["PANDAFUZZ_BLOB_DIR"] = blobDir;
        }

        startInfo.Environment["PANDAFUZZ_CMD"] = options.CommandPort is { } commandPort
            ? $"127.0.0.1:{commandPort.ToString(CultureInfo.InvariantCulture)}"
            : "off";

        if (options.Metrics is { } metrics)
        {
            startInfo.Environment["PANDAFUZZ_METRICS"] = metrics;
        }

        foreach (var (name, value) in options.Environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        var log = new StreamWriter(new FileStream(options.LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            AutoFlush = true,
        };
        log.WriteLine(
            $"# {DateTimeOffset.UtcNow:O} starting {options.Name}: roles={options.Roles} data={options.DataDir} " +
            $"http={options.HttpEndpoint} remote={options.RemoteEndpoint} seeds='{options.Seeds}' dll={dll}" +
            (options.Arguments is { Count: > 0 } arguments ? $" args='{string.Join(' ', arguments)}'" : "") +
            (options.NetworkNamespace is { } ns ? $" netns={ns}" : ""));

        var process = new Process { StartInfo = startInfo };
        var node = new NodeProcess(options, process, log);
        process.OutputDataReceived += (_, e) => node.WriteLog("out", e.Data);
        process.ErrorDataReceived += (_, e) => node.WriteLog("err", e.Data);
        if (!process.Start())
        {
            log.Dispose();
            throw new InvalidOperationException($"Could not start node {options.Name} ({startInfo.FileName} {string.Join(' ', startInfo.ArgumentList)}).");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>Polls <c>GET /health/ready</c> until it answers 200; fails early if the process exits.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var api = new ApiClient(Options.BaseAddress);
        await Eventually.SatisfyAsync(
            $"node {Name} answers 200 on http://{Options.HttpEndpoint}/health/ready",
            timeout,
            api.IsReadyAsync,
            ready => ready,
            cancellationToken,
            guard: EnsureRunning);
    }

    /// <summary>Waits for a one-shot command (<see cref="NodeOptions.Arguments"/>) to end; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    /// <summary>Throws when the node process has exited, with its exit code and log tail.</summary>
    public void EnsureRunning()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException(
                $"Node {Name} (pid {Pid}) exited with code {_process.ExitCode}.{Environment.NewLine}{LogTail()}");
        }
    }

    /// <summary>
    /// SIGKILLs the node and its process tree, then every process whose command line names this node's
    /// data dir: fuzzers run in their own process group and must not outlive the node.
    /// </summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited between the check and the kill.
            }
        }

        _process.WaitForExit(ExitWait);
        ProcessTools.KillByCommandLine(Options.DataDir);
        WriteLog("test", "killed with SIGKILL");
    }

    /// <summary>Sends SIGTERM and waits up to <paramref name="grace"/> for a clean exit, then kills hard.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        var wait = grace ?? TimeSpan.FromSeconds(20);
        if (!_process.HasExited && ProcessTools.SendTerminate(Pid))
        {
            WriteLog("test", "sent SIGTERM");
            var deadline = DateTime.UtcNow + wait;
            while (!_process.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }

        KillHard();
    }

    /// <summary>This node's whole log so far (its standard output and error).</summary>
    public string Log()
    {
        using var stream = new FileStream(Options.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The last lines of this node's log, for failure messages.</summary>
    public string LogTail(int lines = 80)
    {
        string[] all;
        try
        {
            all = Log().Split('\n');
        }
        catch (IOException ex)
        {
            return $"--- log of node {Name} unreadable: {ex.Message} ---";
        }

        var tail = all.Length <= lines ? all : all[^lines..];
        return $"--- last {tail.Length} lines of node {Name} log ({Options.LogPath}) ---{Environment.NewLine}" +
               string.Join(Environment.NewLine, tail);
    }

    public ValueTask DisposeAsync()
    {
        KillHard();
        lock (_logGate)
        {
            _logClosed = true;
            _log.Dispose();
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private static bool IsScrubbed(string key) =>
        ScrubbedVariables.Contains(key, StringComparer.Ordinal) || key.StartsWith("PANDAFUZZ_", StringComparison.Ordinal);

    private void WriteLog(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logGate)
        {
            if (!_logClosed)
            {
                _log.WriteLine($"[{stream}] {line}");
            }
        }
    }
}
