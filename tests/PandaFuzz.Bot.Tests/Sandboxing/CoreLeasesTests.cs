using System.Diagnostics;
using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Tests.Support;
using Xunit;

namespace PandaFuzz.Bot.Tests.Sandboxing;

/// <summary>
/// Fuzzers on cores of their own: a core is held by one job of the machine at a time (another process's flock counts too),
/// the core with the fewest interrupts goes first, a fuzzing job's engine run starts on its core through the shipped
/// sandbox and every other run on the cores no fuzzer holds, and the node's own threads keep off the fuzzers' cores.
/// </summary>
public sealed class CoreLeasesTests : IDisposable
{
    private readonly string _locks = Path.Combine(Path.GetTempPath(), "pandafuzz-core-locks-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly TempJobDir _first = new();
    private readonly TempJobDir _second = new();

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
        if (Directory.Exists(_locks))
        {
            Directory.Delete(_locks, recursive: true);
        }
    }

    [Fact]
    public void Each_core_goes_to_one_job_at_a_time_and_is_free_again_when_its_job_lets_go()
    {
        var leases = new CoreLeases(_locks, [0, 1]);

        using var first = leases.TryTake(_first.Dir.Root);
        var second = leases.TryTake(_second.Dir.Root);
        var third = leases.TryTake(_first.Dir.Root + "-other");

        first.Should().NotBeNull();
        second.Should().NotBeNull();
        new[] { first!.Core, second!.Core }.Should().BeEquivalentTo([0, 1]);
        third.Should().BeNull("both cores are held");
        second.Dispose();
        using var again = leases.TryTake(_second.Dir.Root);
        again!.Core.Should().Be(second.Core);
    }

    [Fact]
    public async Task A_core_another_process_holds_is_not_taken()
    {
        // Arrange: util-linux's flock holds core 0's lock file, as another bot of this machine would.
        Directory.CreateDirectory(_locks);
        var info = new ProcessStartInfo("flock", ["--exclusive", Path.Combine(_locks, "core0.lock"), "-c", "echo held; cat"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        using var holder = Process.Start(info)!;
        (await holder.StandardOutput.ReadLineAsync()).Should().Be("held");
        var leases = new CoreLeases(_locks, [0, 1]);

        // Act, assert: only core 1 is free; once the other process lets go, core 0 is.
        using (var lease = leases.TryTake(_first.Dir.Root))
        {
            lease!.Core.Should().Be(1);
            leases.TryTake(_second.Dir.Root).Should().BeNull();
        }

        holder.StandardInput.Close();
        await holder.WaitForExitAsync();
        using var freed = leases.TryTake(_second.Dir.Root);
        freed.Should().NotBeNull();
    }

    [Fact]
    public async Task A_fuzzing_jobs_engine_run_gets_its_core_and_every_other_run_the_cores_no_fuzzer_holds_through_the_shipped_sandbox()
    {
        var allowed = CoreLeases.AllowedCores();
        var leases = new CoreLeases(_locks, allowed);
        var sandbox = Sandbox.Of(SandboxSettings.Default);
        JobLaunchExtras.KeepOffFuzzingCores(leases);
        try
        {
            var lease = leases.TryTake(_first.Dir.Root)!;
            var others = allowed.Where(c => c != lease.Core).ToList();

            (await CoresOfAsync(_first.Dir.Root, sandbox, engineRun: true)).Should().Equal(lease.Core);
            (await CoresOfAsync(_first.Dir.Root, sandbox, engineRun: false)).Should().Equal(others, "the fuzzer's own triage reruns keep off its core");
            (await CoresOfAsync(_second.Dir.Root, sandbox, engineRun: false)).Should().Equal(others, "a coverage report's or a minimization's run too");
            (await CoresOfAsync(_second.Dir.Root, sandbox, engineRun: true)).Should().Equal(others, "an engine run of a job without a core is no fuzzer's");

            lease.Dispose();
            (await CoresOfAsync(_first.Dir.Root, sandbox, engineRun: true)).Should().Equal(allowed, "with no fuzzer pinned, runs go anywhere");
        }
        finally
        {
            JobLaunchExtras.KeepOffFuzzingCores(null);
        }
    }

    [Fact]
    public void The_nodes_own_threads_keep_off_its_fuzzing_jobs_cores_while_one_is_left_and_come_back_when_they_end()
    {
        var allowed = CoreLeases.AllowedCores();
        var leases = new CoreLeases(_locks, allowed, nodeOffFuzzingCores: true);

        var fuzzing = leases.TryTake(_first.Dir.Root)!;
        var whileFuzzing = ThreadCores();
        fuzzing.Dispose();
        var after = ThreadCores();

        whileFuzzing.Should().OnlyContain(cores => !cores.Contains(fuzzing.Core) && cores.Count == allowed.Count - 1);
        after.Should().OnlyContain(cores => cores.SequenceEqual(allowed));
    }

    [Fact]
    public void Core_lists_and_interrupt_counts_are_read_as_the_kernel_writes_them()
    {
        CoreLeases.ParseCoreList("0-3,6, 8-9\n").Should().Equal(0, 1, 2, 3, 6, 8, 9);
        CoreLeases.ParseCoreList("1").Should().Equal(1);
        var interrupts = CoreLeases.ParseInterrupts(
        [
            "           CPU0       CPU1       ",
            "  1:          0          9   IO-APIC   1-edge      i8042",
            " 24:        120      91000   PCI-MSI 49152-edge      virtio1-req.0",
            "LOC:       5000       4000   Local timer interrupts",
            "ERR:          0",
        ]);
        interrupts.Should().BeEquivalentTo(new Dictionary<int, long> { [0] = 5120, [1] = 95009 });
    }

    [Fact]
    public void The_free_core_that_handled_the_fewest_interrupts_goes_first()
    {
        var interrupts = CoreLeases.InterruptsByCore();
        var allowed = CoreLeases.AllowedCores();
        var quietest = allowed.OrderBy(c => interrupts.GetValueOrDefault(c)).ThenBy(c => c).First();

        using var lease = new CoreLeases(_locks, allowed).TryTake(_first.Dir.Root);

        // The counts grow while the test runs; only a near tie could reorder them in between.
        var now = CoreLeases.InterruptsByCore();
        if (allowed.Count(c => Math.Abs(now.GetValueOrDefault(c) - now.GetValueOrDefault(quietest)) < 10_000) == 1)
        {
            lease!.Core.Should().Be(quietest);
        }
    }

    /// <summary>The cores each thread of this process may run on.</summary>
    private static List<IReadOnlyList<int>> ThreadCores()
    {
        var cores = new List<IReadOnlyList<int>>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var line = File.ReadLines(Path.Combine(task, "status")).First(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
                cores.Add(CoreLeases.ParseCoreList(line["Cpus_allowed_list:".Length..]));
            }
            catch (IOException)
            {
                // The thread ended since the listing.
            }
        }

        return cores;
    }

    private static async Task<IReadOnlyList<int>> CoresOfAsync(string jobDir, Sandbox sandbox, bool engineRun)
    {
        var launch = new FuzzerLaunch("sh", ["-c", "grep Cpus_allowed_list /proc/self/status"], jobDir, new Dictionary<string, string>());
        using var run = sandbox.Prepare(launch, 256, TimeSpan.FromSeconds(30), engineRun);
        var (exitCode, output) = await OneShotRun.RunAsync(run.Launch, TimeSpan.FromSeconds(30), 10_000);
        exitCode.Should().Be(0, output);
        var line = output.Split('\n').Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
        return CoreLeases.ParseCoreList(line["Cpus_allowed_list:".Length..]);
    }
}
