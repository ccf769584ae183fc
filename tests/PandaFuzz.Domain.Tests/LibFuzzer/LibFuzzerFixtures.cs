namespace PandaFuzz.Domain.Tests.LibFuzzer;

/// <summary>Real libFuzzer stderr captured from the targets in tests/targets (see Fixtures/libfuzzer/README.md).</summary>
internal static class LibFuzzerFixtures
{
    public const string PlantedBug = "planted_bug_heap_overflow.txt";
    public const string PlantedBugReproduce = "planted_bug_reproduce.txt";
    public const string HangTimeout = "hang_timeout.txt";
    public const string OomRss = "oom_rss_limit.txt";
    public const string OomMalloc = "oom_malloc_limit.txt";
    public const string Leak = "leak.txt";
    public const string Segv = "segv_reproduce.txt";
    public const string Abort = "abrt_deadly_signal.txt";
    public const string Ubsan = "ubsan_shift.txt";
    public const string DoubleFree = "double_free.txt";
    public const string NoBug = "no_bug_seed_corpus_done.txt";

    public static string Read(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "libfuzzer", name));

    public static string[] Lines(string name) => Read(name).Split('\n');

    /// <summary>The one fixture line starting with the given text; fails the test if there is not exactly one.</summary>
    public static string Line(string name, string startsWith) =>
        Lines(name).Single(l => l.StartsWith(startsWith, StringComparison.Ordinal));
}
