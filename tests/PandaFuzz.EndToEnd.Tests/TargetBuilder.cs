using System.Security.Cryptography;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>A fuzz target compiled for these tests.</summary>
/// <param name="Name">The source name without ".c", e.g. "planted_bug".</param>
/// <param name="Path">The built libFuzzer+ASan executable.</param>
public sealed record BuiltTarget(string Name, string Path)
{
    public byte[] ReadBytes() => File.ReadAllBytes(Path);

    public string Sha256() => Convert.ToHexStringLower(SHA256.HashData(ReadBytes()));
}

/// <summary>
/// Builds the C targets in tests/targets with clang (libFuzzer + ASan) into a temp dir, once per test run.
/// A missing clang or a failed build is reported when a test asks for the target, with the fix to apply.
/// </summary>
public sealed class TargetBuilder : IAsyncLifetime
{
    public const string PlantedBugName = "planted_bug";
    public const string NoBugName = "no_bug";

    private const string Hint =
        "Run ops/test.sh, which installs clang, libclang-rt-14-dev and llvm (for llvm-symbolizer) and then runs the tests.";

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

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(OutputDir);
        var clang = FindOnPath("clang");
        foreach (var name in new[] { PlantedBugName, NoBugName })
        {
            if (clang is null)
            {
                _errors[name] = $"clang was not found on PATH, so the fuzz target {name} cannot be built. {Hint}";
                continue;
            }

            await BuildAsync(clang, name);
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

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);
}
