using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Tests.Support;
using Xunit;

namespace PandaFuzz.Bot.Tests.Sandboxing;

/// <summary>A real process that runs past the sandbox's CPU time limit is killed by it, and the run says so.</summary>
public sealed class SandboxLimitsTests : IDisposable
{
    private readonly TempJobDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_run_past_its_cpu_time_limit_is_killed_with_sigxcpu_and_explained()
    {
        var settings = SandboxSettings.Default with { Rlimits = SandboxSettings.Default.Rlimits with { CpuTimeSlack = TimeSpan.FromSeconds(1) } };
        var sandbox = Sandbox.Of(settings);
        sandbox.Report.Measures.Single(m => m.Name == "rlimits").Enforced.Should().BeTrue("prlimit is part of util-linux, which the bot needs anyway");
        var spin = new FuzzerLaunch("/bin/sh", ["-c", "while :; do :; done"], _temp.Dir.Root, new Dictionary<string, string>());

        // The run's own time limit (1 s) + the slack (1 s) of CPU: the loop has used it up after about 2 s.
        using var run = sandbox.Prepare(spin, 0, TimeSpan.FromSeconds(1));
        var (exitCode, _) = await OneShotRun.RunAsync(run.Launch, TimeSpan.FromSeconds(60), 10_000);

        exitCode.Should().Be(128 + 24, "SIGXCPU at the soft limit, before the hard one's SIGKILL");
        run.Explain(exitCode!.Value).Should().Be("killed by the sandbox's CPU time limit (RLIMIT_CPU 2 s)");
    }
}
