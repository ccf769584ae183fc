using System.Security.Cryptography;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>A fuzz target compiled for these tests.</summary>
/// <param name="Name">The source name without ".c", e.g. "planted_bug".</param>
/// <param name="Path">The built executable: libFuzzer+ASan, or for <c>*_afl</c> the AFL++ build (afl-clang-fast, ASan, libFuzzer-style driver).</param>
public sealed record BuiltTarget(string Name, string Path)
{
    public byte[] ReadBytes() => File.ReadAllBytes(Path);

    public string Sha256() => Convert.ToHexStringLower(SHA256.HashData(ReadBytes()));
}

/// <summary>
/// Builds the C targets in tests/targets with clang (libFuzzer + ASan), and the AFL++ builds with afl-clang-fast,
/// into a temp dir, once per test run.
/// A missing clang or a failed build is reported when a test asks for the target, with the fix to apply.
/// </summary>
public sealed class TargetBuilder : IAsyncLifetime
{
    public const string PlantedBugName = "planted_bug";
    public const string NoBugName = "no_bug";
    public const string TwoBugsName = "two_bugs";
    public const string FlakyName = "flaky";
    public const string HostileZooName = "hostile_zoo";
    public const string BugFarmName = "bug_farm";

    /// <summary>coverage_demo: functions and branches in two source files, never crashing; built on demand (<see cref="BuildCoverageAsync"/>).</summary>
    public const string CoverageDemoName = "coverage_demo";

    /// <summary>The AFL++ build of planted_bug (also the name it is uploaded under).</summary>
    public const string PlantedBugAflName = "planted_bug_afl";

    /// <summary>The AFL++ build of no_bug (also the name it is uploaded under).</summary>
    public const string NoBugAflName = "no_bug_afl";

    /// <summary>The suffix naming the AFL++ build of a source.</summary>
    public const string AflSuffix = "_afl";

    private const string Hint =
        "Run ops/test.sh, which installs clang, libclang-rt-14-dev and llvm (for llvm-symbolizer) and then runs the tests.";

    private const string AflHint = "Install AFL++ (afl++ 4.x: afl-clang-fast and afl-fuzz on PATH) to run the AFL++ tests.";

    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(2);

    private readonly Dictionary<string, BuiltTarget> _built = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _errors = new(StringComparer.Ordinal);

    /// <summary>The temp folder holding the built executables.</summary>
    public string OutputDir { get; } =
        Path.Combine(Path.GetTempPath(), $"pandafuzz-e2e-targets-{Guid.NewGuid().ToString("N")[..12]}");

    /// <summary>planted_bug: a heap-buffer-overflow libFuzzer finds in seconds.</summary>
    public BuiltTarget PlantedBug => Get(PlantedBugName);

    /// <summary>no_bug: fuzzes without ever crashing.</summary>
    public BuiltTarget NoBug => Get(NoBugName);

    /// <summary>two_bugs: two distinct bugs behind the prefix "BUG" (dictionary <c>kw="BUG"</c>), picked by the fourth byte.</summary>
    public BuiltTarget TwoBugs => Get(TwoBugsName);

    /// <summary>flaky: a crash on input "FLK" that happens on every third execution only.</summary>
    public BuiltTarget Flaky => Get(FlakyName);

    /// <summary>bug_farm: eight known bugs of different kinds behind their own prefixes (see its header and bug_farm.dict).</summary>
    public BuiltTarget BugFarm => Get(BugFarmName);

    /// <summary>hostile_zoo: links, FIFOs, connects, forks, a full disk or writes outside, as its dictionary says (see its header).</summary>
    public BuiltTarget HostileZoo => Get(HostileZooName);

    /// <summary>
    /// planted_bug built for AFL++: <c>AFL_USE_ASAN=1 afl-clang-fast -g -O1 -fsanitize=fuzzer</c>. From an empty seed
    /// AFL++ needs the dictionary <c>kw="FUZ"</c> to find the overflow quickly.
    /// </summary>
    public BuiltTarget PlantedBugAfl => Get(PlantedBugAflName);

    /// <summary>no_bug built for AFL++ (<c>AFL_USE_ASAN=1 afl-clang-fast -g -O1 -fsanitize=fuzzer</c>): fuzzes without ever crashing.</summary>
    public BuiltTarget NoBugAfl => Get(NoBugAflName);

    public Task InitializeAsync() =>
        BuildAsync([PlantedBugName, NoBugName, TwoBugsName, FlakyName, HostileZooName, BugFarmName], [PlantedBugAflName, NoBugAflName]);

    /// <summary>Builds only these libFuzzer targets (no AFL++ builds): for a fixture that needs one target, not the whole set.</summary>
    public Task BuildOnlyAsync(params string[] names) => BuildAsync(names, []);

    private async Task BuildAsync(IReadOnlyList<string> names, IReadOnlyList<string> aflNames)
    {
        Directory.CreateDirectory(OutputDir);
        var clang = FindOnPath("clang");
        foreach (var name in names)
        {
            if (clang is null)
            {
                _errors[name] = $"clang was not found on PATH, so the fuzz target {name} cannot be built. {Hint}";
                continue;
            }

            await BuildAsync(clang, name);
        }

        // The AFL++ builds: a missing afl-clang-fast fails only the tests that ask for them.
        var aflClang = aflNames.Count > 0 ? FindOnPath("afl-clang-fast") : null;
        foreach (var name in aflNames)
        {
            if (aflClang is null)
            {
                _errors[name] = $"afl-clang-fast was not found on PATH, so the AFL++ build {name} cannot be built. {AflHint}";
                continue;
            }

            await BuildAflAsync(aflClang, name);
        }
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

    private BuiltTarget Get(string name)
    {
        if (_built.TryGetValue(name, out var target))
        {
            return target;
        }

        throw new InvalidOperationException(
            _errors.TryGetValue(name, out var error) ? error : $"The fuzz target {name} was not built. {Hint}");
    }

    /// <summary>
    /// Builds <c>tests/targets/NAME.c</c> again with <paramref name="defines"/> (<c>-D</c> switches) into <c>NAME-VARIANT</c>:
    /// another build of the same target, such as one that fixes a bug.
    /// </summary>
    public async Task<BuiltTarget> BuildVariantAsync(string name, string variant, params string[] defines)
    {
        var clang = FindOnPath("clang") ?? throw new InvalidOperationException($"clang was not found on PATH. {Hint}");
        var output = Path.Combine(OutputDir, $"{name}-{variant}");
        var result = await ProcessTools.RunAsync(clang,
            ["-g", "-O1", "-fsanitize=fuzzer,address", .. defines.Select(d => "-D" + d), Path.Combine(RepoLayout.TargetSources, name + ".c"), "-o", output],
            BuildTimeout, CancellationToken.None, workingDirectory: OutputDir);
        if (result.ExitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException($"Building {name} with {string.Join(' ', defines)} failed: {result.StandardError}{result.StandardOutput}");
        }

        return new BuiltTarget(name, output);
    }

    /// <summary>
    /// Builds <c>tests/targets/NAME.c</c> for clang's source-based coverage into <c>NAME-coverage</c>: profile
    /// instrumentation and coverage mapping, linked with the libFuzzer driver and no sanitizer, as a build's coverage
    /// binary is (<c>kind=coverage</c>).
    /// </summary>
    /// <summary>
    /// <c>tests/targets/X.c</c> as AFL++'s CMPLOG build (<c>AFL_LLVM_CMPLOG=1 afl-clang-fast -fsanitize=fuzzer</c>, no
    /// sanitizer, as AFL++'s docs build it), built on demand: the binary a secondary runs beside the target with <c>-c</c>.
    /// </summary>
    public async Task<BuiltTarget> BuildAflCmplogAsync(string name)
    {
        var aflClang = FindOnPath("afl-clang-fast") ?? throw new InvalidOperationException($"afl-clang-fast was not found on PATH. {AflHint}");
        var output = Path.Combine(OutputDir, $"{name}-cmplog");
        var result = await ProcessTools.RunAsync(aflClang, ["-g", "-O1", "-fsanitize=fuzzer", Path.Combine(RepoLayout.TargetSources, name + ".c"), "-o", output],
            BuildTimeout, CancellationToken.None, workingDirectory: OutputDir,
            environment: new Dictionary<string, string> { ["AFL_LLVM_CMPLOG"] = "1", ["AFL_QUIET"] = "1" });
        if (result.ExitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException($"Building {name} for CMPLOG failed: {result.StandardError}{result.StandardOutput}");
        }

        return new BuiltTarget(name, output);
    }

    public async Task<BuiltTarget> BuildCoverageAsync(string name)
    {
        var clang = FindOnPath("clang") ?? throw new InvalidOperationException($"clang was not found on PATH. {Hint}");
        var output = Path.Combine(OutputDir, $"{name}-coverage");
        string[] flags = ["-g", "-O1", "-fprofile-instr-generate", "-fcoverage-mapping", "-fsanitize=fuzzer"];
        var result = await ProcessTools.RunAsync(clang, [.. flags, Path.Combine(RepoLayout.TargetSources, name + ".c"), "-o", output],
            BuildTimeout, CancellationToken.None, workingDirectory: OutputDir);
        if (result.ExitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException($"Building {name} with {string.Join(' ', flags)} failed: {result.StandardError}{result.StandardOutput}");
        }

        return new BuiltTarget(name, output);
    }

    private async Task BuildAsync(string clang, string name)
    {
        var source = Path.Combine(RepoLayout.TargetSources, name + ".c");
        if (!File.Exists(source))
        {
            _errors[name] = $"The fuzz target source {source} does not exist.";
            return;
        }

        var output = Path.Combine(OutputDir, name);
        ProcessResult result;
        try
        {
            result = await ProcessTools.RunAsync(
                clang,
                ["-g", "-O1", "-fsanitize=fuzzer,address", source, "-o", output],
                BuildTimeout,
                CancellationToken.None,
                workingDirectory: OutputDir);
        }
        catch (Exception ex) when (ex is TimeoutException or System.ComponentModel.Win32Exception)
        {
            _errors[name] = $"Building {name} with {clang} failed: {ex.Message}. {Hint}";
            return;
        }

        if (result.ExitCode != 0 || !File.Exists(output))
        {
            _errors[name] =
                $"`clang -g -O1 -fsanitize=fuzzer,address {source} -o {output}` failed with exit code {result.ExitCode}. {Hint}" +
                $"{Environment.NewLine}{result.StandardError}{result.StandardOutput}";
            return;
        }

        _built[name] = new BuiltTarget(name, output);
    }

    /// <summary>Builds <c>tests/targets/X.c</c> into <c>X_afl</c> with AFL++'s instrumentation, ASan and its libFuzzer-style driver.</summary>
    private async Task BuildAflAsync(string aflClang, string name)
    {
        var source = Path.Combine(RepoLayout.TargetSources, name[..^AflSuffix.Length] + ".c");
        if (!File.Exists(source))
        {
            _errors[name] = $"The fuzz target source {source} does not exist.";
            return;
        }

        var output = Path.Combine(OutputDir, name);
        string[] arguments = ["-g", "-O1", "-fsanitize=fuzzer", source, "-o", output];
        var command = $"AFL_USE_ASAN=1 {aflClang} {string.Join(' ', arguments)}";
        ProcessResult result;
        try
        {
            result = await ProcessTools.RunAsync(
                aflClang,
                arguments,
                BuildTimeout,
                CancellationToken.None,
                workingDirectory: OutputDir,
                environment: new Dictionary<string, string> { ["AFL_USE_ASAN"] = "1", ["AFL_QUIET"] = "1" });
        }
        catch (Exception ex) when (ex is TimeoutException or System.ComponentModel.Win32Exception)
        {
            _errors[name] = $"`{command}` failed: {ex.Message}. {AflHint}";
            return;
        }

        if (result.ExitCode != 0 || !File.Exists(output))
        {
            _errors[name] =
                $"`{command}` failed with exit code {result.ExitCode}. {AflHint}" +
                $"{Environment.NewLine}{result.StandardError}{result.StandardOutput}";
            return;
        }

        _built[name] = new BuiltTarget(name, output);
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);
}
