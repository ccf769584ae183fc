using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Tests.Support;
using Xunit;

namespace PandaFuzz.Bot.Tests.Sandboxing;

/// <summary>
/// A bundle job's libraries, through the shipped sandbox: every run in the job's dir gets <c>LD_LIBRARY_PATH</c> and sees
/// the unpacked bundle, read-only where the sandbox isolates the filesystem; runs of other dirs get neither.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class JobLaunchExtrasTests : IDisposable
{
    private readonly TempJobDir _job = new();
    private readonly TempJobDir _other = new();
    private readonly string _bundle = Path.Combine(Path.GetTempPath(), "pandafuzz-bundle-" + Guid.NewGuid().ToString("N")[..12]);

    public JobLaunchExtrasTests()
    {
        Directory.CreateDirectory(Path.Combine(_bundle, "lib"));
        var library = Path.Combine(_bundle, "lib", "libbundle.so");
        File.WriteAllText(library, "not really a library");
        // Writable by anyone: only the read-only bind keeps the target from changing it.
        File.SetUnixFileMode(library, (UnixFileMode)Convert.ToInt32("666", 8));
    }

    public void Dispose()
    {
        JobLaunchExtras.ForgetLibraries(_job.Dir.Root);
        _job.Dispose();
        _other.Dispose();
        Directory.Delete(_bundle, recursive: true);
    }

    [Fact]
    public async Task A_bundle_jobs_runs_load_its_libraries_and_cannot_change_them()
    {
        var sandbox = Sandbox.Of(SandboxSettings.Default);
        var library = Path.Combine(_bundle, "lib", "libbundle.so");
        const string script = "echo \"path=$LD_LIBRARY_PATH\"; cat \"$0\"; echo; echo tampered > \"$0\" && echo wrote";
        JobLaunchExtras.UseLibraries(_job.Dir.Root, _bundle, [Path.Combine(_bundle, "lib")]);

        var (code, output) = await RunAsync(new FuzzerLaunch("sh", ["-c", script, library], _job.Dir.Root, new Dictionary<string, string>()), sandbox);
        var (_, elsewhere) = await RunAsync(new FuzzerLaunch("sh", ["-c", "echo \"path=$LD_LIBRARY_PATH\""], _other.Dir.Root, new Dictionary<string, string>()), sandbox);

        output.Should().Contain($"path={Path.Combine(_bundle, "lib")}\n").And.Contain("not really a library");
        elsewhere.Should().Contain("path=\n");
        if (sandbox.Report.Measures.Single(m => m.Name == "filesystem").Enforced)
        {
            output.Should().NotContain("wrote", "the bundle is bound read-only");
            code.Should().NotBe(0);
            (await File.ReadAllTextAsync(library)).Should().Be("not really a library");
        }

        JobLaunchExtras.ForgetLibraries(_job.Dir.Root);
        var (_, forgotten) = await RunAsync(new FuzzerLaunch("sh", ["-c", "echo \"path=$LD_LIBRARY_PATH\""], _job.Dir.Root, new Dictionary<string, string>()), sandbox);
        forgotten.Should().Contain("path=\n");
    }

    private static Task<(int? ExitCode, string Output)> RunAsync(FuzzerLaunch launch, Sandbox sandbox) =>
        OneShotRun.RunAsync(launch, TimeSpan.FromSeconds(30), 10_000, default, sandbox, 256);
}
