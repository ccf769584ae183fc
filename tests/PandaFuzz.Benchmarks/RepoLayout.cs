using System.Reflection;

namespace PandaFuzz.Benchmarks;

/// <summary>Where the repository, the built node and the C sources are (adapted from the end-to-end tests).</summary>
public static class RepoLayout
{
    private const string SolutionFile = "PandaFuzz.sln";
    private const string TargetFramework = "net10.0";

    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder holding PandaFuzz.sln, found by walking up from this assembly (or the current directory).</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>The build configuration of this program; the node is looked up under the same one.</summary>
    public static string Configuration { get; } =
        typeof(RepoLayout).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } configuration
            ? configuration
            : "Debug";

    /// <summary>The node's build output folder (pandafuzz.dll and hocon/), built through this project's ProjectReference.</summary>
    public static string NodeBuildDir => Path.Combine(Root, "src", "PandaFuzz.Node", "bin", Configuration, TargetFramework);

    /// <summary>The small C targets of the tests (no_bug.c, ...).</summary>
    public static string TestTargets => Path.Combine(Root, "tests", "targets");

    /// <summary>The harnesses of the benchmarks.</summary>
    public static string BenchmarkTargets => Path.Combine(Root, "tests", "PandaFuzz.Benchmarks", "targets");

    /// <summary>The dotnet host to run the node with: the one running this program when the SDK says so.</summary>
    public static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static string FindRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, SolutionFile)))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException(
            $"No {SolutionFile} found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}; run the benchmarks from the repository.");
    }
}
