namespace PandaFuzz.EndToEnd.Tests;

/// <summary>Prometheus's promtool (Debian package prometheus, installed by ops/test.sh): lints a scrape.</summary>
public static class Promtool
{
    /// <summary>promtool on the PATH, or a message saying how to get it.</summary>
    public static string Path =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => System.IO.Path.Combine(dir, "promtool"))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("promtool is not on the PATH: run the tests with ops/test.sh, which installs it (apt-get install prometheus)");

    /// <summary>
    /// <c>promtool check metrics</c> on a scrape saved to <paramref name="file"/> (it reads standard input); exit 0 is clean,
    /// 3 a lint problem (names, help), 1 a parse error.
    /// </summary>
    public static Task<ProcessResult> CheckMetricsAsync(string file, CancellationToken cancellationToken) =>
        ProcessTools.RunAsync("/bin/sh", ["-c", "exec \"$0\" check metrics < \"$1\"", Path, file], TimeSpan.FromSeconds(30), cancellationToken);
}
