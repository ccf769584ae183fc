using System.Diagnostics;

namespace PandaFuzz.Bot.Tests.Support;

/// <summary>Runs a helper program (compiler, pgrep) for the arrange and assert steps, independently of the code under test.</summary>
internal static class ExternalTool
{
    /// <summary>The full path of <paramref name="program"/> on PATH, or null.</summary>
    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary>Runs the program to its end and returns its exit code and combined output; throws when it outlives <paramref name="timeout"/>.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string program, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', info.ArgumentList)} did not end within {timeout}.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
