using System.Text;
using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Findings;
using PandaFuzz.Bot.Tests.Support;
using PandaFuzz.Domain.Crashes;
using Xunit;

namespace PandaFuzz.Bot.Tests.Crashes;

/// <summary>
/// Real sanitizer reports: crash_zoo.c is built, each bug is run the way the bot reproduces a crash (the libFuzzer
/// engine's reproduction command, a fresh process), and the captured output is analyzed. The expected kinds and
/// states were written by hand from the source and the reports, not from the analyzer.
/// </summary>
public sealed class CrashTriageRealTargetTests(CrashZooFixture zoo) : IClassFixture<CrashZooFixture>
{
    public static TheoryData<string, string, string, bool> Bugs => new()
    {
        { "r", "Heap-buffer-overflow READ 1", "read_past_end", true },
        { "w", "Heap-buffer-overflow WRITE 4", "write_past_end", true },
        { "u", "Heap-use-after-free READ 1", "read_after_free", true },
        { "d", "Heap-double-free", "free_twice", true },
        { "s", "Stack-buffer-overflow WRITE 1", "overflow_stack_buffer", true },
        { "x", "Stack-overflow", "recurse\nrecurse\nrecurse", false },
        { "n", "Null-dereference READ", "read_field", false },
        { "i", "Integer-overflow", "overflow_integer", false },
        { "l", "Direct-leak", "leak_block", false },
        { "t", "Timeout", CrashZooFixture.TargetName, false },
        { "m", "Out-of-memory", CrashZooFixture.TargetName, false },
        { "a", "Abrt", "give_up", false },
        { "A", "Abrt", "check_invariant", false },
        { "pABCDEFGHIJKLMNOP", "Heap-buffer-overflow WRITE 1", "write_one_past\nstore_name\nparse_record", true },
        { "P0123", "Heap-buffer-overflow WRITE 1", "clobber_header\nparse_record\nvia_path_one", true },
    };

    [Theory]
    [MemberData(nameof(Bugs))]
    public async Task Each_bug_parses_to_its_kind_state_and_security_flag(string input, string kind, string state, bool security)
    {
        var analysis = await ReproduceAsync(input);

        analysis.Kind.Should().Be(kind);
        analysis.State.Should().Be(state);
        analysis.Security.Should().Be(security);
        analysis.Frames.Should().NotBeEmpty("every report here carries a symbolized stack");
    }

    [Fact]
    public async Task The_same_bug_through_other_inputs_and_other_callers_keeps_one_signature()
    {
        // p and q reach write_one_past through via_path_one and via_path_two: callers above the top three frames.
        var viaOne = await ReproduceAsync("pABCDEFGHIJKLMNOP");
        var viaOneShort = await ReproduceAsync("p");
        var viaTwo = await ReproduceAsync("qrstuvwxyzabcdef");

        viaOne.Frames.Should().Contain(f => f.Function == "via_path_one");
        viaTwo.Frames.Should().Contain(f => f.Function == "via_path_two");
        viaOneShort.Signature.Should().Be(viaOne.Signature);
        viaTwo.Signature.Should().Be(viaOne.Signature);
    }

    [Fact]
    public async Task Two_different_bugs_in_one_target_get_two_signatures()
    {
        var nameOverflow = await ReproduceAsync("pABC");
        var headerOverflow = await ReproduceAsync("PABC");
        var useAfterFree = await ReproduceAsync("u");

        new[] { nameOverflow.Signature, headerOverflow.Signature, useAfterFree.Signature }.Should().OnlyHaveUniqueItems();
    }

    [Theory]
    [InlineData("u")]
    [InlineData("pABCDEFGHIJKLMNOP")]
    [InlineData("d")]
    public async Task A_report_written_without_symbols_as_AFL_runs_targets_is_symbolized_offline_to_the_same_signature(string input)
    {
        var symbolized = await ReproduceAsync(input);
        using var job = new TempJobDir();
        File.Copy(zoo.Binary, job.Dir.Target);
        Directory.CreateDirectory(job.Dir.SanitizerLogs);
        var inputPath = job.Write("crash-input", Encoding.ASCII.GetBytes(input));
        // AFL++'s sanitizer options for a fuzzing run: no symbols, the report into a file.
        var plain = new FuzzerLaunch(job.Dir.Target, ["-runs=1", inputPath], job.Dir.Root, new Dictionary<string, string>
        {
            ["ASAN_OPTIONS"] = $"abort_on_error=1:symbolize=0:detect_leaks=0:{SanitizerLogFiles.LogPathOption(job.Dir)}",
        });
        (await OneShotRun.RunAsync(plain, TimeSpan.FromSeconds(30), 1 << 16)).ExitCode.Should().NotBe(0);
        var artifact = job.Write("id:000000,sig:06", Encoding.ASCII.GetBytes(input));
        var unsymbolized = SanitizerLogFiles.ReportFor(job.Dir, artifact, 1 << 20);
        unsymbolized.Should().Contain($"({job.Dir.Target}+0x").And.NotMatchRegex(@"#\d+ 0x[0-9a-f]+ in ");
        CrashAnalyzer.Analyze(unsymbolized, "crash", CrashZooFixture.TargetName).Signature.Should().NotBe(symbolized.Signature);

        var offsets = OfflineSymbolizer.OffsetsIn(unsymbolized, job.Dir.Target);
        var (exitCode, output) = await OneShotRun.RunAsync(OfflineSymbolizer.Launch(job.Dir.Target, offsets, job.Dir.Root), TimeSpan.FromSeconds(60), 1 << 20);
        exitCode.Should().Be(0, output);
        var report = OfflineSymbolizer.Apply(unsymbolized, job.Dir.Target, offsets, output);

        var analysis = CrashAnalyzer.Analyze(report, "crash", CrashZooFixture.TargetName);
        analysis.Signature.Should().Be(symbolized.Signature, "the offline symbols give the state the sanitizer's own give:\n{0}", report);
        analysis.Location.Should().Be(symbolized.Location);
    }

    [Fact]
    public async Task An_AFL_crash_no_rerun_reproduces_keeps_the_state_of_its_own_report_symbolized_in_the_sandbox()
    {
        var symbolized = await ReproduceAsync("u");
        using var job = new TempJobDir();
        File.Copy(zoo.Binary, job.Dir.Target);
        job.Dir.Create();
        var crashing = job.Write("crashing-input", "u");
        var plain = new FuzzerLaunch(job.Dir.Target, ["-runs=1", crashing], job.Dir.Root, new Dictionary<string, string>
        {
            ["ASAN_OPTIONS"] = $"abort_on_error=1:symbolize=0:detect_leaks=0:{SanitizerLogFiles.LogPathOption(job.Dir)}",
        });
        (await OneShotRun.RunAsync(plain, TimeSpan.FromSeconds(30), 1 << 16)).ExitCode.Should().NotBe(0);
        // What a flaky crash leaves: afl-fuzz kept an input that crashed in its run and that no rerun crashes.
        var artifact = job.Write(Path.Combine("out", AflPlusPlusEngine.InstanceName, "crashes", "id:000000,sig:06,src:000000,time:1,execs:1,op:havoc,rep:1"), "z");
        var engine = new AflPlusPlusEngine();
        var found = new ArtifactFound(artifact, engine.FindingKind(artifact)!, engine.FindingReport(job.Dir, artifact, 1 << 20)!, DateTimeOffset.UtcNow);

        var triage = await CrashTriage.RunAsync(engine, Specs.AflPlusPlus(), job.Dir, found, BotTestConfig.Fast() with { ReproduceAttempts = 2 });

        triage.Reproduced.Should().Be(0);
        triage.Attempts.Should().Be(2);
        triage.Analysis.Signature.Should().Be(symbolized.Signature, "its report, symbolized on the bot:\n{0}", triage.Report);
        triage.Analysis.State.Should().Be("read_after_free");
    }

    [Fact]
    public void A_hang_s_rerun_is_bounded_by_the_timeout_not_by_the_grace_for_symbolizing_a_report()
    {
        var settings = BotTestConfig.Fast() with { ReproduceGrace = TimeSpan.FromSeconds(30) };

        CrashTriage.RerunLimit(Specs.AflPlusPlus(timeoutMs: 1000), "timeout", settings).Should().Be(TimeSpan.FromSeconds(3));
        CrashTriage.RerunLimit(Specs.AflPlusPlus(timeoutMs: 1000), "crash", settings).Should().Be(TimeSpan.FromSeconds(31));
        CrashTriage.RerunLimit(Specs.AflPlusPlus(timeoutMs: 60_000), "timeout", settings).Should().Be(TimeSpan.FromSeconds(90), "never more than a crash's");
    }

    [Fact]
    public async Task An_AFL_hang_whose_driver_has_no_timeout_reproduces_on_each_rerun()
    {
        using var job = new TempJobDir();
        File.Copy(zoo.Binary, job.Dir.Target);
        job.Dir.Create();
        var artifact = job.Write(Path.Combine("out", AflPlusPlusEngine.InstanceName, "hangs", "id:000000,src:000000,time:1,execs:1,op:havoc,rep:1"), "t");
        var engine = new AflPlusPlusEngine();
        // The libFuzzer build run the way AFL++'s driver runs a file: without -timeout, so only the bot ends the hang.
        var found = new ArtifactFound(artifact, engine.FindingKind(artifact)!, "", DateTimeOffset.UtcNow);

        var triage = await CrashTriage.RunAsync(engine, Specs.AflPlusPlus(timeoutMs: 1000), job.Dir, found, BotTestConfig.Fast() with { ReproduceAttempts = 2 });

        triage.Reproduced.Should().Be(2);
        triage.Analysis.Kind.Should().Be("Timeout");
    }

    private async Task<CrashAnalysis> ReproduceAsync(string input)
    {
        using var job = new TempJobDir();
        File.Copy(zoo.Binary, job.Dir.Target);
        var inputPath = job.Write("crash-input", Encoding.ASCII.GetBytes(input));
        // Only the timeout bug waits out the time limit; the others get room: libFuzzer sees the OOM by its RSS, checked once a
        // second, and a loaded machine took the 1 GiB memset past a 1 s limit (a "Timeout").
        var timeoutMs = input == "t" ? 1000 : 20_000;
        var launch = new LibFuzzerEngine().Reproduce(Specs.LibFuzzer(memoryLimitMb: 256, timeoutMs: timeoutMs), job.Dir, inputPath);

        var (exitCode, output) = await OneShotRun.RunAsync(launch, TimeSpan.FromSeconds(30), 256 * 1024);

        exitCode.Should().NotBe(0, "input {0} must crash crash_zoo; output:\n{1}", input, output);
        return CrashAnalyzer.Analyze(output, findingKind: null, CrashZooFixture.TargetName);
    }
}
