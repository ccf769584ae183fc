namespace PandaFuzz.Domain.Tests.AflPlusPlus;

/// <summary>Real afl-fuzz 4.04c output files captured from the targets in tests/targets (see Fixtures/aflplusplus/README.md).</summary>
internal static class AflFixtures
{
    public const string PlantedBugStats = "planted_bug_fuzzer_stats";
    public const string PlantedBugStatsAtStart = "planted_bug_fuzzer_stats_at_start";
    public const string PlantedBugStatsTruncated = "planted_bug_fuzzer_stats_truncated";
    public const string PlantedBugPlot = "planted_bug_plot_data";
    public const string PlantedBugListing = "planted_bug_listing.txt";
    public const string NoBugStats = "no_bug_fuzzer_stats";
    public const string NoBugPlot = "no_bug_plot_data";
    public const string NoBugListing = "no_bug_listing.txt";
    public const string HangStats = "hang_fuzzer_stats";
    public const string HangPlot = "hang_plot_data";
    public const string HangListing = "hang_listing.txt";

    public static string Read(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "aflplusplus", name));

    /// <summary>The file names a listing shows in one output subdirectory (crashes, hangs, queue), in listing order.</summary>
    public static IReadOnlyList<string> Entries(string listing, string directory) =>
        Read(listing)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith(directory + "/", StringComparison.Ordinal))
            .Select(l => l[(directory.Length + 1)..])
            .ToList();

    public static DateTimeOffset Unix(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds);
}
