using Xunit;

namespace PandaFuzz.Bot.Tests.Support;

/// <summary>
/// Builds tests/targets/crash_zoo.c once as a libFuzzer target with ASan (and UBSan's signed-overflow check) into a
/// temp dir, for the crash triage tests that run real crashes. A missing compiler is reported by the test that asks.
/// </summary>
public sealed class CrashZooFixture : IAsyncLifetime
{
    public const string TargetName = "crash_zoo";

    private string? _error;

    public string OutputDir { get; } = Path.Combine(Path.GetTempPath(), "pandafuzz-crash-zoo-" + Guid.NewGuid().ToString("N")[..12]);

    public string Binary => _error is null ? Path.Combine(OutputDir, TargetName) : throw new InvalidOperationException(_error);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(OutputDir);
        if (ExternalTool.FindOnPath("clang") is not { } clang)
        {
            _error = "clang was not found on PATH, so tests/targets/crash_zoo.c cannot be built (Debian: apt-get install clang llvm).";
            return;
        }

        // UBSan only for signed overflow: its object-size and bounds checks would report ASan's heap and stack
        // overflows first, under other names.
        string[] args =
        [
            "-g", "-O1", "-fno-optimize-sibling-calls", "-fsanitize=fuzzer,address,signed-integer-overflow",
            "-fno-sanitize-recover=signed-integer-overflow", Path.Combine(RepoLayout.TargetSources, "crash_zoo.c"),
            "-o", Path.Combine(OutputDir, TargetName),
        ];
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
