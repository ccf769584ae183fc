using System.Diagnostics;
using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Tests.Support;
using Xunit;

namespace PandaFuzz.Bot.Tests.Processes;

/// <summary>Short runs in their own process group: bounded in time, leaving nothing behind.</summary>
public sealed class OneShotRunTests : IDisposable
{
    private readonly TempJobDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_program_that_outlives_the_limit_is_killed_and_gives_no_exit_code()
    {
        // A duration no other process on the machine is likely to sleep, so pgrep sees only ours.
        var duration = UniqueSleepDuration();
        var launch = new FuzzerLaunch("sleep", [duration], _temp.Dir.Root, new Dictionary<string, string>());
        var clock = Stopwatch.StartNew();

        var (exitCode, _) = await OneShotRun.RunAsync(launch, TimeSpan.FromMilliseconds(300), 10_000);

        clock.Elapsed.Should().BeLessThan(SleepEnds, "the run ends at its limit, not when sleep would");
        exitCode.Should().BeNull();
        (await SleepersOf(duration)).Should().BeEmpty("the killed sleep must not be left running");
    }

    [Fact]
    public async Task What_the_program_forked_dies_with_it()
    {
        var duration = UniqueSleepDuration();
        var launch = new FuzzerLaunch(
            "sh", ["-c", $"sleep {duration} & sleep {duration} & wait"], _temp.Dir.Root, new Dictionary<string, string>());
        var clock = Stopwatch.StartNew();

        var (exitCode, _) = await OneShotRun.RunAsync(launch, TimeSpan.FromMilliseconds(500), 10_000);

        clock.Elapsed.Should().BeLessThan(SleepEnds, "the run ends at its limit, not when its children would");
        exitCode.Should().BeNull();
        (await SleepersOf(duration)).Should().BeEmpty("the children of the killed program are in its process group");
    }

    [Fact]
    public async Task A_program_that_ends_in_time_gives_its_exit_code_and_output()
    {
        var launch = new FuzzerLaunch(
            "sh", ["-c", "echo \"out $GREETING\"; echo err >&2; exit 3"], _temp.Dir.Root,
            new Dictionary<string, string> { ["GREETING"] = "hello" });

        var (exitCode, output) = await OneShotRun.RunAsync(launch, TimeSpan.FromSeconds(30), 10_000);

        exitCode.Should().Be(3);
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().BeEquivalentTo(["out hello", "err"]);
    }

    // "30.<random>" seconds: 30 s as the brief asks, and a command line unique to this test.
    private static string UniqueSleepDuration() => "30." + Random.Shared.Next(100_000, 999_999);

    /// <summary>Before the 30 s sleeps end: a run that took longer was not killed at its limit, however loaded the machine.</summary>
    private static readonly TimeSpan SleepEnds = TimeSpan.FromSeconds(29);

    /// <summary>The pids of running <c>sleep</c> processes whose command line is exactly <c>sleep duration</c>.</summary>
    private static async Task<IReadOnlyList<string>> SleepersOf(string duration)
    {
        if (ExternalTool.FindOnPath("pgrep") is null)
        {
            throw new InvalidOperationException("pgrep was not found on PATH (Debian: apt-get install procps).");
        }

        var (exitCode, output) = await ExternalTool.RunAsync("pgrep", ["-f", "-x", $"sleep {duration}"], TimeSpan.FromSeconds(10));
        exitCode.Should().BeOneOf([0, 1], "pgrep exits 0 when it finds processes and 1 when it finds none: {0}", output);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
