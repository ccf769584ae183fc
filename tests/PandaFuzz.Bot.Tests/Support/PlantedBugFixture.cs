using Xunit;

namespace PandaFuzz.Bot.Tests.Support;

/// <summary>Builds tests/targets/planted_bug.c once as a libFuzzer target with ASan (the build the bot runs) into a temp dir.</summary>
public sealed class PlantedBugFixture : IAsyncLifetime
{
    private string? _error;

    public string OutputDir { get; } = Path.Combine(Path.GetTempPath(), "pandafuzz-planted-bug-" + Guid.NewGuid().ToString("N")[..12]);

    public string Binary => _error is null ? Path.Combine(OutputDir, "planted_bug") : throw new InvalidOperationException(_error);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(OutputDir);
        if (ExternalTool.FindOnPath("clang") is not { } clang)
        {
            _error = "clang was not found on PATH, so tests/targets/planted_bug.c cannot be built (Debian: apt-get install clang llvm).";
            return;
        }

        string[] args = ["-g", "-O1", "-fsanitize=fuzzer,address", Path.Combine(RepoLayout.TargetSources, "planted_bug.c"), "-o", Path.Combine(OutputDir, "planted_bug")];
        var (exitCode, text) = await ExternalTool.RunAsync(clang, args, TimeSpan.FromMinutes(2));
        if (exitCode != 0)
        {
            _error = $"`clang {string.Join(' ', args)}` failed with exit code {exitCode}:\n{text}";
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
