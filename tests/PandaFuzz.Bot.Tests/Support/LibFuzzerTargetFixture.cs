using Xunit;

namespace PandaFuzz.Bot.Tests.Support;

/// <summary>Builds one C target of tests/targets once as a libFuzzer binary into a temp dir.</summary>
/// <param name="name">The source's name without <c>.c</c>; also the binary's name.</param>
/// <param name="sanitizers">The <c>-fsanitize=</c> list, <c>fuzzer</c> included.</param>
public abstract class LibFuzzerTargetFixture(string name, string sanitizers) : IAsyncLifetime
{
    private string? _error;

    public string OutputDir { get; } = Path.Combine(Path.GetTempPath(), $"pandafuzz-{name.Replace('_', '-')}-" + Guid.NewGuid().ToString("N")[..12]);

    public string Binary => _error is null ? Path.Combine(OutputDir, name) : throw new InvalidOperationException(_error);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(OutputDir);
        if (ExternalTool.FindOnPath("clang") is not { } clang)
        {
            _error = $"clang was not found on PATH, so tests/targets/{name}.c cannot be built (Debian: apt-get install clang llvm).";
            return;
        }

        string[] args = ["-g", "-O1", $"-fsanitize={sanitizers}", Path.Combine(RepoLayout.TargetSources, name + ".c"), "-o", Path.Combine(OutputDir, name)];
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

/// <summary>tests/targets/always_crash.c: every run of it stops at once on the same input.</summary>
public sealed class AlwaysCrashFixture() : LibFuzzerTargetFixture("always_crash", "fuzzer");

/// <summary>tests/targets/planted_bug.c with ASan, the build the bot runs.</summary>
public sealed class PlantedBugFixture() : LibFuzzerTargetFixture("planted_bug", "fuzzer,address");

/// <summary>tests/targets/no_bug.c without sanitizers: a fuzzer that keeps running.</summary>
public sealed class NoBugFixture() : LibFuzzerTargetFixture("no_bug", "fuzzer");

/// <summary>tests/targets/net_connect.c with ASan: connects to 127.0.0.1 and aborts when it can.</summary>
public sealed class NetConnectFixture() : LibFuzzerTargetFixture("net_connect", "fuzzer,address");

/// <summary>tests/targets/fs_escape.c with ASan: writes outside its work dir and aborts when it sees outside.</summary>
public sealed class FsEscapeFixture() : LibFuzzerTargetFixture("fs_escape", "fuzzer,address");

/// <summary>tests/targets/fork_bomb.c with ASan: forks until denied, aborts when nothing denies it.</summary>
public sealed class ForkBombFixture() : LibFuzzerTargetFixture("fork_bomb", "fuzzer,address");

/// <summary>tests/targets/memory_hog.c with ASan: writes 1 GiB into a memfd (outside its RSS), aborts when it gets it.</summary>
public sealed class MemoryHogFixture() : LibFuzzerTargetFixture("memory_hog", "fuzzer,address");

/// <summary>tests/targets/link_planter.c: plants links to a secret and a FIFO among its findings and corpus.</summary>
public sealed class LinkPlanterFixture() : LibFuzzerTargetFixture("link_planter", "fuzzer");
