using System.Diagnostics;

namespace PandaFuzz.Benchmarks;

/// <summary>The end of a bounded child process: exit code (-1 when killed at its limit), wall-clock time and output.</summary>
public sealed record RunResult(int ExitCode, bool TimedOut, TimeSpan Wall, string Output)
{
    public bool Succeeded => ExitCode == 0 && !TimedOut;

    public string Tail(int lines = 30)
    {
        var all = Output.Split('\n');
        return string.Join('\n', all.Length <= lines ? all : all[^lines..]);
    }
}

/// <summary>Runs child processes with a hard time limit, a clean environment and their output kept (and logged).</summary>
public static class ProcessRunner
{
    private const int MaxKeptLines = 50_000;

    // Variables of the caller's shell that would change how a fuzzer or the node behaves: both sides of a
    // comparison start from the same clean environment, and each gets only what is set explicitly.
    private static readonly string[] ScrubbedPrefixes = ["AFL_", "ASAN_", "UBSAN_", "MSAN_", "LSAN_", "PANDAFUZZ_"];
    private static readonly string[] ScrubbedNames = ["ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS"];

    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var key in info.Environment.Keys.Where(IsScrubbed).ToList())
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return info;
    }

    /// <summary>
    /// Runs a program to its end, killing its whole process tree when it outlives <paramref name="limit"/> or the run is
    /// cancelled (then <see cref="OperationCanceledException"/>). Output (stdout and stderr interleaved) is returned and,
    /// when <paramref name="logPath"/> is given, written there.
    /// </summary>
    public static async Task<RunResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan limit,
        CancellationToken cancellationToken,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? logPath = null)
    {
        var info = StartInfo(fileName, arguments, workingDirectory, environment);
        var lines = new Queue<string>();
        var gate = new Lock();
        void Keep(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (gate)
            {
                if (lines.Count == MaxKeptLines)
                {
                    lines.Dequeue();
                }

                lines.Enqueue(line);
            }
        }

        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        var clock = Stopwatch.StartNew();
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {fileName}.");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var timedOut = false;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(limit);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                KillTree(process);
                cancellationToken.ThrowIfCancellationRequested();
                timedOut = true;
            }
        }

        clock.Stop();
        // WaitForExit without a timeout also waits for the output pipes to reach their end (bounded: the tree is gone).
        if (!timedOut)
        {
            await process.WaitForExitAsync(CancellationToken.None);
        }

        string output;
        lock (gate)
        {
            output = string.Join('\n', lines);
        }

        if (logPath is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
            await File.WriteAllTextAsync(
                logPath,
                $"# {Describe(fileName, info.ArgumentList)}{Environment.NewLine}# wall {clock.Elapsed.TotalSeconds:0.000} s, " +
                $"exit {(timedOut ? "killed at the limit" : process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture))}{Environment.NewLine}{output}",
                CancellationToken.None);
        }

        return new RunResult(timedOut ? -1 : process.ExitCode, timedOut, clock.Elapsed, output);
    }

    public static void KillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(5_000);
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
    }

    /// <summary>A shell-like rendering of a command line, for reports.</summary>
    public static string Describe(string fileName, IEnumerable<string> arguments) =>
        string.Join(' ', new[] { fileName }.Concat(arguments).Select(Quote));

    public static string Quote(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsLetterOrDigit(c) || "-_./=:,+@%".Contains(c))
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static bool IsScrubbed(string key) =>
        ScrubbedNames.Contains(key, StringComparer.Ordinal) || ScrubbedPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));
}
