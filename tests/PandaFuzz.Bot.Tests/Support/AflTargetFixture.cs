using Xunit;

namespace PandaFuzz.Bot.Tests.Support;

/// <summary>tests/targets/planted_bug.c as AFL++ runs it.</summary>
public sealed class AflTargetFixture() : AflBuildFixture("planted_bug")
{
    /// <summary>The planted_bug executable built with afl-clang-fast and ASan.</summary>
    public string PlantedBug => Binary;
}

/// <summary>tests/targets/memory_hog.c as AFL++ runs it.</summary>
public sealed class AflMemoryHogFixture() : AflBuildFixture("memory_hog");

/// <summary>
/// Builds one C target of tests/targets once with <c>AFL_USE_ASAN=1 afl-clang-fast -g -O1 -fsanitize=fuzzer</c> (the AFL++
/// build the bot runs) into a temp dir. A missing compiler or a failed build is reported by the test that asks for it.
/// </summary>
public abstract class AflBuildFixture(string name) : IAsyncLifetime
{
    private const string Compiler = "afl-clang-fast";

    private const string Hint =
        "The real-engine tests need AFL++'s afl-clang-fast and clang on PATH (Debian: apt-get install afl++ clang llvm).";

    private string? _error;

    public string OutputDir { get; } =
        Path.Combine(Path.GetTempPath(), "pandafuzz-bot-targets-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The executable built with afl-clang-fast and ASan.</summary>
    public string Binary => _error is null
        ? Path.Combine(OutputDir, name)
        : throw new InvalidOperationException(_error);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(OutputDir);
        if (ExternalTool.FindOnPath(Compiler) is not { } compiler)
        {
            _error = $"{Compiler} was not found on PATH, so tests/targets/{name}.c cannot be built. {Hint}";
            return;
        }

        var source = Path.Combine(RepoLayout.TargetSources, name + ".c");
        var output = Path.Combine(OutputDir, name);
        string[] args = ["-g", "-O1", "-fsanitize=fuzzer", source, "-o", output];
        var (exitCode, text) = await ExternalTool.RunAsync(
            compiler, args, TimeSpan.FromMinutes(2), new Dictionary<string, string> { ["AFL_USE_ASAN"] = "1" });
        if (exitCode != 0 || !File.Exists(output))
        {
            _error = $"`AFL_USE_ASAN=1 {Compiler} {string.Join(' ', args)}` failed with exit code {exitCode}. {Hint}\n{text}";
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
}
