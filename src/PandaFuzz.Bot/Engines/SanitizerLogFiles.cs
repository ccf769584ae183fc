using PandaFuzz.Bot.Sandboxing;

namespace PandaFuzz.Bot.Engines;

/// <summary>
/// Sanitizer reports kept in files (<c>log_path</c>), for runs whose output lacks them (libFuzzer -fork, AFL++). A process
/// writes its report before it dies and the engine the finding after, so a finding's report is the newest one no later.
/// </summary>
public static class SanitizerLogFiles
{
    private const string Prefix = "report";

    // Reports older than this were paired with their findings long ago (finding folders are scanned every second).
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);

    public static string LogPathOption(JobWorkDir dir) => $"log_path={Path.Combine(dir.SanitizerLogs, Prefix)}";

    public static string ReportFor(JobWorkDir dir, string artifact, int maxBytes)
    {
        if (!IsOwnFolder(dir))
        {
            return string.Empty;
        }

        var written = File.GetLastWriteTimeUtc(artifact);
        string? newest = null;
        var newestAt = DateTime.MinValue;
        foreach (var (file, at) in Prune(dir))
        {
            if (at <= written && at > newestAt)
            {
                (newest, newestAt) = (file, at);
            }
        }

        var bytes = newest is null ? null : UntrustedFiles.ReadAllBytes(dir.Root, newest, maxBytes);
        return bytes is null ? string.Empty : System.Text.Encoding.UTF8.GetString(bytes);
    }

    /// <summary>An engine that hits a known bug again and again writes a report each time: old ones go.</summary>
    public static IReadOnlyList<(string File, DateTime At)> Prune(JobWorkDir dir)
    {
        if (!IsOwnFolder(dir))
        {
            return [];
        }

        var now = DateTime.UtcNow;
        var kept = new List<(string, DateTime)>();
        foreach (var file in Directory.EnumerateFiles(dir.SanitizerLogs, Prefix + ".*"))
        {
            var at = File.GetLastWriteTimeUtc(file);
            if (now - at > Lifetime)
            {
                File.Delete(file);
            }
            else
            {
                kept.Add((file, at));
            }
        }

        return kept;
    }

    // The folder sits in the target's work dir: one it replaced with a link is not looked into (nor cleaned up).
    private static bool IsOwnFolder(JobWorkDir dir) =>
        Directory.Exists(dir.SanitizerLogs) && new DirectoryInfo(dir.SanitizerLogs).LinkTarget is null;
}
