using System.Text.RegularExpressions;

namespace PandaFuzz.Chaos.Tests;

/// <summary>What a bot node's log says it found: one line per crash input it took from a fuzzer.</summary>
public static partial class BotLog
{
    /// <summary>The distinct crash inputs (sha256) the bot reported finding, per the log at <paramref name="logPath"/>.</summary>
    public static IReadOnlySet<string> FoundInputs(string logPath)
    {
        using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return FoundLine().Matches(reader.ReadToEnd()).Select(m => m.Groups["input"].Value).ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"Job \S+ found .+ (?<input>[0-9a-f]{64}) \(\d+ bytes\)")]
    private static partial Regex FoundLine();
}
