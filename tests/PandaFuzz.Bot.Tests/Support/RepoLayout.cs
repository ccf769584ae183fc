namespace PandaFuzz.Bot.Tests.Support;

/// <summary>Where the repository and its C fuzz targets are, found by walking up from the test assembly.</summary>
internal static class RepoLayout
{
    private const string SolutionFile = "PandaFuzz.sln";

    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    /// <summary>The folder with the small C fuzz targets (planted_bug.c, ...).</summary>
    public static string TargetSources => Path.Combine(Root, "tests", "targets");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFile)))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No {SolutionFile} found in any parent of {AppContext.BaseDirectory}; run the tests from the repository.");
    }
}
