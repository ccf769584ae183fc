using PandaFuzz.Domain.Crashes;
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
        var analysis = CrashAnalyzer.Analyze(output, "crash", "planted_bug");
        analysis.Kind.Should().Be("Heap-buffer-overflow WRITE 1");
        analysis.State.Should().Be("LLVMFuzzerTestOneInput");
        analysis.Frames[0].Function.Should().Be("LLVMFuzzerTestOneInput");
        analysis.Frames[0].File.Should().EndWith("planted_bug.c", "reports are symbolized");
        analysis.Frames[0].Line.Should().Be(21);
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

/// <summary>Crash and corpus minimization and coverage measurement with the real AFL++ tools on planted_bug.</summary>
public sealed class AflPlusPlusMinimizationTests(AflTargetFixture targets) : IClassFixture<AflTargetFixture>, IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly AflPlusPlusEngine _engine = new();
    private readonly TempJobDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Afl_tmin_shrinks_a_crash_and_keeps_it_crashing()
    {
        File.Copy(targets.PlantedBug, _temp.Dir.Target);
        var input = _temp.Write("crash-long", [.. "FUZ"u8, 0x10, .. Enumerable.Repeat((byte)'A', 200)]);
        var output = Path.Combine(_temp.Dir.Root, "crash-min");

        var (exitCode, log) = await OneShotRun.RunAsync(_engine.MinimizeCrash(Specs.AflPlusPlus(), _temp.Dir, input, output, Limit), Limit, 1_000_000);

        exitCode.Should().Be(0, log);
        File.ReadAllBytes(output).Length.Should().BeLessThan(204);
        var (_, report) = await OneShotRun.RunAsync(_engine.Reproduce(Specs.AflPlusPlus(), _temp.Dir, output), Limit, 1_000_000);
        report.Should().Contain("AddressSanitizer: heap-buffer-overflow");
    }

    [Fact]
    public async Task Afl_cmin_keeps_the_coverage_of_a_redundant_corpus()
    {
        File.Copy(targets.PlantedBug, _temp.Dir.Target);
        var original = Path.Combine(_temp.Dir.Root, "original");
        for (var i = 0; i < 20; i++)
        {
            _temp.Write($"original/x{i:D2}", [(byte)'x', (byte)('0' + i % 10)]);
        }

        _temp.Write("original/fuz", [.. "FUZ"u8, 0x01]);
        var minimized = Path.Combine(_temp.Dir.Root, "minimized");

        var (exitCode, log) = await OneShotRun.RunAsync(_engine.MinimizeCorpus(Specs.AflPlusPlus(), _temp.Dir, original, minimized), Limit, 1_000_000);
        var before = _engine.ReadCoverage((await OneShotRun.RunAsync(_engine.MeasureCoverage(Specs.AflPlusPlus(), _temp.Dir, original), Limit, 1_000_000)).Output);
        var after = _engine.ReadCoverage((await OneShotRun.RunAsync(_engine.MeasureCoverage(Specs.AflPlusPlus(), _temp.Dir, minimized), Limit, 1_000_000)).Output);

        exitCode.Should().Be(0, log);
        Directory.GetFiles(minimized).Length.Should().BeLessThan(21);
        before.Should().NotBeNull();
        after.Should().Be(before);
    }
}
