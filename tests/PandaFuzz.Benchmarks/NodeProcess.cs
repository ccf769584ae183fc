using System.Diagnostics;
using System.Globalization;

namespace PandaFuzz.Benchmarks;

/// <summary>
/// One pandafuzz node (all-in-one, master and bot, unless other roles are asked for) started as <c>taskset -c CORES dotnet pandafuzz.dll</c> from a private
/// copy of the node's build output, on free loopback ports, its output in a log file (adapted from the end-to-end tests).
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logGate = new();
    private bool _logClosed;

    private NodeProcess(Process process, StreamWriter log, string dataDir, string logPath, int httpPort, int remotePort, string command)
    {
        _process = process;
        _log = log;
        DataDir = dataDir;
        LogPath = logPath;
        BaseAddress = new Uri($"http://127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}/");
        RemoteEndpoint = $"127.0.0.1:{remotePort.ToString(CultureInfo.InvariantCulture)}";
        Command = command;
    }

    public string DataDir { get; }

    public string LogPath { get; }

    public Uri BaseAddress { get; }

    /// <summary>PANDAFUZZ_REMOTE (Akka.Remote), host:port: what other nodes name as their seed, and a bot's address in the API.</summary>
    public string RemoteEndpoint { get; }

    /// <summary>The command line the node was started with (environment first).</summary>
    public string Command { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>When the process was started (a monotonic <see cref="Stopwatch"/> timestamp).</summary>
    public long StartedAt { get; private set; }

    /// <summary>
    /// Copies the node build in <paramref name="buildDir"/> to <paramref name="root"/>/node-bin (so a rebuild of src/ by
    /// someone else cannot swap files under the running node) and starts it pinned to <paramref name="cores"/>.
    /// </summary>
    /// <param name="roles">PANDAFUZZ_ROLES: all-in-one by default; <c>master</c> for a master-only node.</param>
    /// <param name="dataDir">PANDAFUZZ_DATA_DIR: <paramref name="root"/>/node/data by default.</param>
    /// <param name="seeds">PANDAFUZZ_SEEDS: empty to found a cluster, or a master's <see cref="RemoteEndpoint"/> to join it.</param>
    /// <param name="environment">More variables for the node (e.g. PANDAFUZZ_CONFIG), set last.</param>
    /// <param name="binDir">Where the copy of the build goes: <paramref name="root"/>/node-bin by default; a given dir is copied
    /// to only once, so several nodes can run from one copy.</param>
    public static NodeProcess Start(
        string buildDir, string root, IReadOnlyCollection<int> cores, string roles = "master,bot", string? dataDir = null, string seeds = "",
        IReadOnlyDictionary<string, string>? environment = null, string? binDir = null)
    {
        var sourceDll = Path.Combine(buildDir, "pandafuzz.dll");
        if (!File.Exists(sourceDll))
        {
            throw new FileNotFoundException(
                $"The node executable is missing at {sourceDll}. Build it with `dotnet build src/PandaFuzz.Node -c {RepoLayout.Configuration}` " +
                "(building this project does that through its ProjectReference), or pass --node-dir.",
                sourceDll);
        }

        var shared = binDir is not null;
        binDir ??= Path.Combine(root, "node-bin");
        var dll = Path.Combine(binDir, "pandafuzz.dll");
        if (!shared || !File.Exists(dll))
        {
            CopyDirectory(buildDir, binDir);
        }

        dataDir ??= Path.Combine(root, "node", "data");
        var logPath = Path.Combine(root, "node", "node.log");
        Directory.CreateDirectory(dataDir);
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);

        var httpPort = FreePort.Next();
        var remotePort = FreePort.Next();
        var variables = new Dictionary<string, string>
        {
            ["PANDAFUZZ_ROLES"] = roles,
            ["PANDAFUZZ_DATA_DIR"] = dataDir,
            ["PANDAFUZZ_HTTP"] = $"127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}",
            ["PANDAFUZZ_REMOTE"] = $"127.0.0.1:{remotePort.ToString(CultureInfo.InvariantCulture)}",
            ["PANDAFUZZ_SEEDS"] = seeds,
            ["PANDAFUZZ_API_TOKENS"] = ApiClient.TestToken,
            ["DOTNET_HOSTBUILDER__RELOADCONFIGONCHANGE"] = "false",
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            variables[name] = value;
        }
        string[] arguments = ["-c", Cpu.Format(cores), RepoLayout.DotnetHost, dll];
        var command = string.Join(' ', variables.Select(kv => $"{kv.Key}={ProcessRunner.Quote(kv.Value)}")) + " " +
                      ProcessRunner.Describe("taskset", arguments);
        var info = ProcessRunner.StartInfo("taskset", arguments, Path.Combine(root, "node"), variables);

        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) { AutoFlush = true };
        log.WriteLine($"# {DateTimeOffset.UtcNow:O} {command}");
        var process = new Process { StartInfo = info };
        var node = new NodeProcess(process, log, dataDir, logPath, httpPort, remotePort, command);
        process.OutputDataReceived += (_, e) => node.WriteLog("out", e.Data);
        process.ErrorDataReceived += (_, e) => node.WriteLog("err", e.Data);
        node.StartedAt = Stopwatch.GetTimestamp();
        if (!process.Start())
        {
            log.Dispose();
            throw new InvalidOperationException($"Could not start the node ({command}).");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>Waits for <c>GET /health/ready</c> = 200 and a bot online with the engines and slots asked for.</summary>
    public async Task<BotView> WaitReadyAsync(ApiClient api, IReadOnlyCollection<string> engines, int slots, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer yet";
        while (true)
        {
            EnsureRunning();
            try
            {
                if (await api.IsReadyAsync(cancellationToken))
                {
                    var bots = await api.GetBotsAsync(cancellationToken);
                    var bot = bots.FirstOrDefault(b => string.Equals(b.State, "online", StringComparison.OrdinalIgnoreCase));
                    var names = bot?.Capabilities?.Engines?.Select(e => e.Name).ToHashSet(StringComparer.OrdinalIgnoreCase) ?? [];
                    if (bot is not null && engines.All(names.Contains) && (bot.Capabilities?.Slots ?? 0) >= slots)
                    {
                        return bot;
                    }

                    last = bot is null
                        ? $"ready, {bots.Count} bot(s), none online"
                        : $"bot {bot.Id} online with engines [{string.Join(", ", names)}] and {bot.Capabilities?.Slots} slot(s)";
                }
                else
                {
                    last = "/health/ready does not answer 200 yet";
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = ex.Message;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"The node was not ready with a bot offering [{string.Join(", ", engines)}] and {slots} slot(s) within {timeout.TotalSeconds:0} s: {last}.\n{LogTail()}");
            }

            await Task.Delay(500, cancellationToken);
        }
    }

    public void EnsureRunning()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"The node (pid {Pid}) exited with code {_process.ExitCode}.\n{LogTail()}");
        }
    }

    public string LogTail(int lines = 40)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            var tail = all.Length <= lines ? all : all[^lines..];
            return $"--- last {tail.Length} lines of {LogPath} ---\n{string.Join('\n', tail)}";
        }
        catch (IOException ex)
        {
            return $"--- node log {LogPath} unreadable: {ex.Message} ---";
        }
    }

    /// <summary>SIGTERM, up to 20 s for a clean exit, then SIGKILL of the tree and of every process naming the data dir.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                using var kill = Process.Start(ProcessRunner.StartInfo("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)], null, null));
                kill?.WaitForExit(5_000);
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // No kill command: killed below.
            }

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!_process.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }

        ProcessRunner.KillTree(_process);
        ProcessTools.KillByCommandLine(DataDir);
        lock (_logGate)
        {
            _logClosed = true;
            _log.Dispose();
        }

        _process.Dispose();
    }

    private readonly List<(Func<string, bool> Matches, TaskCompletionSource<(string Line, TimeSpan At)> Seen)> _watches = [];

    /// <summary>
    /// Completes with the first output line from now on that <paramref name="matches"/>, and when it arrived (since the
    /// process started).
    /// </summary>
    public Task<(string Line, TimeSpan At)> WaitForLineAsync(Func<string, bool> matches)
    {
        var seen = new TaskCompletionSource<(string, TimeSpan)>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_logGate)
        {
            _watches.Add((matches, seen));
        }

        return seen.Task;
    }

    private void WriteLog(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        var at = Stopwatch.GetElapsedTime(StartedAt);
        lock (_logGate)
        {
            foreach (var watch in _watches.Where(w => w.Matches(line)).ToList())
            {
                watch.Seen.TrySetResult((line, at));
                _watches.Remove(watch);
            }
        }

        lock (_logGate)
        {
            if (!_logClosed)
            {
                _log.WriteLine($"[{stream}] {line}");
            }
        }
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var dir in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(destination, Path.GetRelativePath(source, dir)));
        }

        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(destination, Path.GetRelativePath(source, file)), overwrite: true);
        }
    }
}
