using System.Diagnostics;
using System.Text;

namespace PandaFuzz.Testing;

/// <summary>The outcome of a short-lived helper process.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>Runs short helper processes (clang, a target, pgrep, pkill) with bounded waits.</summary>
public static class ProcessTools
{
    private static readonly TimeSpan ProcessQueryTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Runs a program to completion, killing it if it outlives <paramref name="timeout"/>.</summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? standardInput = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start {fileName}.");
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5_000);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"{fileName} {string.Join(' ', startInfo.ArgumentList)} did not finish within {timeout}.");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Processes whose command line contains <paramref name="literal"/> (<c>pgrep -a -f</c>), as "pid command line".
    /// </summary>
    public static IReadOnlyList<string> FindByCommandLine(string literal)
    {
        var result = RunQuick("pgrep", ["-a", "-f", EscapeForPattern(literal)]);
        return result.ExitCode switch
        {
            0 => result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            1 => [],
            _ => throw new InvalidOperationException($"pgrep failed with {result.ExitCode}: {result.StandardError}"),
        };
    }

    /// <summary>SIGKILLs every process whose command line contains <paramref name="literal"/> (<c>pkill -KILL -f</c>).</summary>
    public static void KillByCommandLine(string literal)
    {
        var result = RunQuick("pkill", ["-KILL", "-f", EscapeForPattern(literal)]);
        if (result.ExitCode is not (0 or 1))
        {
            throw new InvalidOperationException($"pkill failed with {result.ExitCode}: {result.StandardError}");
        }
    }

    /// <summary>Sends SIGTERM with <c>kill -TERM pid</c>; false when the process was already gone.</summary>
    public static bool SendTerminate(int pid) => RunQuick("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]).ExitCode == 0;

    /// <summary>Escapes a literal for the POSIX extended regular expressions pgrep/pkill take.</summary>
    public static string EscapeForPattern(string literal)
    {
        var escaped = new StringBuilder(literal.Length + 8);
        foreach (var c in literal)
        {
            if (@".[]()*+?{}|^$\".Contains(c))
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }

    private static ProcessResult RunQuick(string fileName, IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(ProcessQueryTimeout))
        {
            process.Kill();
            throw new TimeoutException($"{fileName} did not finish within {ProcessQueryTimeout}.");
        }

        // The bounded wait above has returned, so both pipes reach end of file promptly.
        return new ProcessResult(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}
