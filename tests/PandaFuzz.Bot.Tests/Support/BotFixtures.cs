namespace PandaFuzz.Bot.Tests.Support;

/// <summary>Real engine output copied into this project (see Fixtures/README.md).</summary>
internal static class BotFixtures
{
    public const string LibFuzzerPlantedBugLines = "planted_bug_lines.txt";
    public const string AflPlantedBugStats = "planted_bug_fuzzer_stats";
    public const string AflPlantedBugStatsAtStart = "planted_bug_fuzzer_stats_at_start";
    public const string AflPlantedBugPlot = "planted_bug_plot_data";
    public const string AflPlantedBugListing = "planted_bug_listing.txt";
    public const string AflHangListing = "hang_listing.txt";
    public const string AflNoInstrumentationOutput = "no_instrumentation_output.txt";

    public static string LibFuzzer(string name) => Read("libfuzzer", name);

    public static string Afl(string name) => Read("aflplusplus", name);

    /// <summary>The one line of a libFuzzer fixture starting with <paramref name="startsWith"/>.</summary>
    public static string LibFuzzerLine(string name, string startsWith) =>
        LibFuzzer(name).Split('\n').Single(l => l.StartsWith(startsWith, StringComparison.Ordinal));

    /// <summary>The lines of an AFL++ listing, e.g. "crashes/id:000000,sig:06,...", in listing order.</summary>
    public static IReadOnlyList<string> AflListing(string name) => Afl(name).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The names a listing shows in one output subdirectory (crashes, hangs, queue).</summary>
    public static IReadOnlyList<string> AflEntries(string listing, string directory) =>
        AflListing(listing)
            .Where(l => l.StartsWith(directory + "/", StringComparison.Ordinal))
            .Select(l => l[(directory.Length + 1)..])
            .ToList();

    private static string Read(string engine, string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", engine, name));
}
