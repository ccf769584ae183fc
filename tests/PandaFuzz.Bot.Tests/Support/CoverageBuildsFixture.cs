using PandaFuzz.Bot.Engines;
using Xunit;

namespace PandaFuzz.Bot.Tests.Support;

/// <summary>
/// Builds the coverage binaries of the coverage runner's tests once, in parallel, into a temp dir: coverage_demo for
/// clang's source-based coverage (<c>-fprofile-instr-generate -fcoverage-mapping -fsanitize=fuzzer</c>, a build's
/// coverage binary), the same from a copy of its sources deleted once built, the same as a plain libFuzzer binary
/// without profile instrumentation, and hang.c for coverage. Also finds LLVM's coverage tools. A missing tool or a failed
/// build is reported by the test that asks for it.
/// </summary>
public sealed class CoverageBuildsFixture : IAsyncLifetime
{
    private const string Hint = "Run ops/test.sh, which installs clang, libclang-rt-14-dev and llvm (llvm-profdata, llvm-cov) and then runs the tests.";

    private static readonly string[] CoverageFlags = ["-g", "-O1", "-fprofile-instr-generate", "-fcoverage-mapping", "-fsanitize=fuzzer"];

    private readonly Dictionary<string, string> _errors = new(StringComparer.Ordinal);
    private CoverageTools? _tools;
    private string? _toolsMissing;

    public string OutputDir { get; } = Path.Combine(Path.GetTempPath(), "pandafuzz-coverage-builds-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>coverage_demo.c and coverage_demo_checks.h as the coverage binary names them: in tests/targets.</summary>
    public static string DemoSources => RepoLayout.TargetSources;

    /// <summary>coverage_demo built for coverage from tests/targets.</summary>
    public string CoverageDemo => Get("coverage_demo-coverage");

    /// <summary>The folder coverage_demo's copied sources were built from and which no longer exists.</summary>
    public string AbsentSources => Path.Combine(OutputDir, "absent-sources");

    /// <summary>coverage_demo built for coverage from the copy of its sources in <see cref="AbsentSources"/>, deleted since.</summary>
    public string CoverageDemoWithoutSources => Get("coverage_demo-coverage-without-sources");

    /// <summary>coverage_demo as a plain libFuzzer binary (<c>-fsanitize=fuzzer</c>): it writes no profile.</summary>
    public string PlainDemo => Get("coverage_demo-plain");

    /// <summary>hang.c built for coverage: it spins forever on an input starting with "HANG".</summary>
    public string CoverageHang => Get("hang-coverage");

    /// <summary>llvm-profdata and llvm-cov, found on PATH as a bot finds them.</summary>
    public CoverageTools Tools => _tools ?? throw new InvalidOperationException($"{_toolsMissing}. {Hint}");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(OutputDir);
        _tools = CoverageTools.Find(out _toolsMissing);
        if (ExternalTool.FindOnPath("clang") is not { } clang)
        {
            foreach (var name in new[] { "coverage_demo-coverage", "coverage_demo-coverage-without-sources", "coverage_demo-plain", "hang-coverage" })
            {
                _errors[name] = $"clang was not found on PATH, so {name} cannot be built. {Hint}";
            }

            return;
        }

        Directory.CreateDirectory(AbsentSources);
        foreach (var file in new[] { "coverage_demo.c", "coverage_demo_checks.h" })
        {
            File.Copy(Path.Combine(DemoSources, file), Path.Combine(AbsentSources, file));
        }

        var failures = await Task.WhenAll(
            BuildAsync(clang, "coverage_demo-coverage", [.. CoverageFlags, Path.Combine(DemoSources, "coverage_demo.c")]),
            BuildAsync(clang, "coverage_demo-coverage-without-sources", [.. CoverageFlags, Path.Combine(AbsentSources, "coverage_demo.c")]),
            BuildAsync(clang, "coverage_demo-plain", ["-g", "-O1", "-fsanitize=fuzzer", Path.Combine(DemoSources, "coverage_demo.c")]),
            BuildAsync(clang, "hang-coverage", [.. CoverageFlags, Path.Combine(DemoSources, "hang.c")]));
        foreach (var (name, error) in failures.OfType<(string, string)>())
        {
            _errors[name] = error;
        }

        Directory.Delete(AbsentSources, recursive: true);
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(OutputDir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }

        return Task.CompletedTask;
    }

    private string Get(string name) =>
        _errors.TryGetValue(name, out var error) ? throw new InvalidOperationException(error) : Path.Combine(OutputDir, name);

    /// <summary>The build's name and error when it failed, else null.</summary>
    private async Task<(string Name, string Error)?> BuildAsync(string clang, string name, string[] args)
    {
        var output = Path.Combine(OutputDir, name);
        var (exitCode, text) = await ExternalTool.RunAsync(clang, [.. args, "-o", output], TimeSpan.FromMinutes(2));
        return exitCode == 0 && File.Exists(output)
            ? null
            : (name, $"`clang {string.Join(' ', args)} -o {output}` failed with exit code {exitCode}. {Hint}\n{text}");
    }
}
