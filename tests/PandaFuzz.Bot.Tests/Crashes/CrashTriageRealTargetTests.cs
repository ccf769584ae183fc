using System.Text;
using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
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
