using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Tests.Support;
using Xunit;

namespace PandaFuzz.Bot.Tests.Engines;

/// <summary>The AFL++ engine's reproduction run on planted_bug built for real with afl-clang-fast and ASan.</summary>
public sealed class AflPlusPlusRealTargetTests(AflTargetFixture targets) : IClassFixture<AflTargetFixture>, IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private readonly AflPlusPlusEngine _engine = new();
    private readonly TempJobDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Reproducing_the_crashing_input_prints_the_heap_overflow_report()
    {
        File.Copy(targets.PlantedBug, _temp.Dir.Target);
        var input = _temp.Write("out/job/crashes/id:000000,sig:06,src:000000,time:8,execs:128,op:havoc,rep:2", [.. "FUZ"u8, 0x10]);

        var (exitCode, output) = await OneShotRun.RunAsync(_engine.Reproduce(Specs.AflPlusPlus(), _temp.Dir, input), Limit, 1_000_000);

        exitCode.Should().NotBeNull("the target ends by itself long before the limit");
        exitCode.Should().NotBe(0, "ASan stops the target with an error");
        output.Should().Contain("AddressSanitizer: heap-buffer-overflow");
        var (kind, summary, stack) = _engine.DescribeFinding("crash", output);
        kind.Should().Be("heap-buffer-overflow");
        summary.Should().StartWith("SUMMARY: AddressSanitizer: heap-buffer-overflow");
        stack.Should().NotBeEmpty();
        stack[0].Should().Contain("LLVMFuzzerTestOneInput").And.Contain("planted_bug.c:21", "reports are symbolized");
    }

    [Fact]
    public async Task Reproducing_a_harmless_input_prints_no_report()
    {
        File.Copy(targets.PlantedBug, _temp.Dir.Target);
        var input = _temp.Write("corpus/seed", [.. "FUZ"u8, 0x08]);

        var (exitCode, output) = await OneShotRun.RunAsync(_engine.Reproduce(Specs.AflPlusPlus(), _temp.Dir, input), Limit, 1_000_000);

        exitCode.Should().Be(0);
        output.Should().NotContain("AddressSanitizer");
    }

    [Fact]
    public void The_real_asan_build_is_recognised_so_afl_fuzz_gets_no_memory_limit()
    {
        File.Copy(targets.PlantedBug, _temp.Dir.Target);

        AflPlusPlusEngine.UsesAddressSanitizer(_temp.Dir.Target).Should().BeTrue();
        ValueAfter(_engine.Launch(Specs.AflPlusPlus(), _temp.Dir, TimeSpan.FromMinutes(1)).Arguments, "-m").Should().Be("none");
    }

    private static string ValueAfter(IReadOnlyList<string> args, string flag) => args[args.ToList().IndexOf(flag) + 1];
}
