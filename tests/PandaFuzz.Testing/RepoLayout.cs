using System.Reflection;

namespace PandaFuzz.Testing;

/// <summary>Where the repository, the built node executable and the C target sources are.</summary>
public static class RepoLayout
{
    private const string SolutionFile = "PandaFuzz.sln";
    private const string TargetFramework = "net10.0";

    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder holding PandaFuzz.sln, found by walking up from the test assembly.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>The build configuration of the test build; the node is looked up under the same one.</summary>
    public static string Configuration { get; } =
        typeof(RepoLayout).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } configuration
            ? configuration
            : "Debug";

    /// <summary>The node executable, built by the ProjectReference in this test project.</summary>
    public static string NodeDll =>
        Path.Combine(Root, "src", "PandaFuzz.Node", "bin", Configuration, TargetFramework, "pandafuzz.dll");

    /// <summary>The operator CLI, built by the ProjectReference in this test project.</summary>
    public static string CmdDll =>
        Path.Combine(Root, "src", "PandaFuzz.Cmd", "bin", Configuration, TargetFramework, "pandafuzz-cmd.dll");

    /// <summary>The node's build output folder (pandafuzz.dll and hocon/).</summary>
    public static string NodeBuildDir => Path.Combine(Root, "src", "PandaFuzz.Node", "bin", Configuration, TargetFramework);

    /// <summary>The folder with the small C fuzz targets (planted_bug.c, no_bug.c).</summary>
    public static string TargetSources => Path.Combine(Root, "tests", "targets");

    /// <summary>The harnesses of the benchmarks.</summary>
    public static string BenchmarkTargets => Path.Combine(Root, "tests", "PandaFuzz.Benchmarks", "targets");

    /// <summary>The dotnet host to start the node with: the one running the tests when the SDK says so.</summary>
    public static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static string FindRoot()
    {
        // From the assembly's folder (tests), else the current directory (a benchmark run from the repository).
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
            $"No {SolutionFile} found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}; run from the repository.");
    }
}
