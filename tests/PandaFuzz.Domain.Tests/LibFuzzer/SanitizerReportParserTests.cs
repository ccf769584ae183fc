using FluentAssertions;
using PandaFuzz.Domain.Engines.LibFuzzer;
using Xunit;
using static PandaFuzz.Domain.Tests.LibFuzzer.LibFuzzerFixtures;

namespace PandaFuzz.Domain.Tests.LibFuzzer;

public sealed class SanitizerReportParserTests
{
    [Theory]
    [InlineData(PlantedBug, "heap-buffer-overflow", "SUMMARY: AddressSanitizer: heap-buffer-overflow /work/main/tests/targets/planted_bug.c:21:12 in LLVMFuzzerTestOneInput")]
    [InlineData(PlantedBugReproduce, "heap-buffer-overflow", "SUMMARY: AddressSanitizer: heap-buffer-overflow /work/main/tests/targets/planted_bug.c:21:12 in LLVMFuzzerTestOneInput")]
    [InlineData(HangTimeout, "timeout", "SUMMARY: libFuzzer: timeout")]
    [InlineData(OomRss, "out-of-memory", "SUMMARY: libFuzzer: out-of-memory")]
    [InlineData(OomMalloc, "out-of-memory", "SUMMARY: libFuzzer: out-of-memory")]
    [InlineData(Leak, "leak", "SUMMARY: AddressSanitizer: 64 byte(s) leaked in 1 allocation(s).")]
    [InlineData(Segv, "SEGV", "SUMMARY: AddressSanitizer: SEGV /work/main/tests/targets/segv.c:13:12 in LLVMFuzzerTestOneInput")]
    [InlineData(Abort, "deadly signal", "SUMMARY: libFuzzer: deadly signal")]
    [InlineData(Ubsan, "undefined-behavior", "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior ubsan.c:12:16 in")]
    [InlineData(DoubleFree, "double-free", "SUMMARY: AddressSanitizer: double-free (/tmp/pf/double_free+0xde952) (BuildId: dbd8b5249327960e6b962fb705e4c9d3b84f146c) in __interceptor_free")]
    public void Kind_and_summary_come_from_the_report(string fixture, string kind, string summary)
    {
        var report = SanitizerReportParser.Parse(Read(fixture));

        report.Kind.Should().Be(kind);
        report.Summary.Should().Be(summary);
    }

    [Fact]
    public void Frames_are_the_first_stack_only_not_the_allocation_stack()
    {
        var report = SanitizerReportParser.Parse(Read(PlantedBug));

        report.Frames.Should().HaveCount(10);
        report.Frames[0].Should().Be("#0 0x55d67e54ca89 in LLVMFuzzerTestOneInput /work/main/tests/targets/planted_bug.c:21:12");
        report.Frames[9].Should().Be("#9 0x55d67e459990 in _start (/tmp/pf/planted_bug+0x26990) (BuildId: bff664cdc43ca8ed73af8114d3ec29d55cd762a9)");
        report.Frames.Should().NotContain(f => f.Contains("in malloc", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(HangTimeout, 14, 4, "#4 0x56075efc9a17 in LLVMFuzzerTestOneInput /work/main/tests/targets/hang.c:11:11")]
    [InlineData(OomRss, 9, 1, "#1 0x55dc341c2a29 in LLVMFuzzerTestOneInput /work/main/tests/targets/oom.c:18:17")]
    [InlineData(OomMalloc, 18, 8, "#8 0x56135dd3ba29 in LLVMFuzzerTestOneInput /work/main/tests/targets/oom.c:18:17")]
    [InlineData(Leak, 9, 1, "#1 0x55aac5ca3a36 in LLVMFuzzerTestOneInput /work/main/tests/targets/leak.c:11:12")]
    [InlineData(Segv, 8, 0, "#0 0x563458ad4a67 in LLVMFuzzerTestOneInput /work/main/tests/targets/segv.c:13:12")]
    [InlineData(Abort, 15, 7, "#7 0x56392b972c78 in LLVMFuzzerTestOneInput /work/main/tests/targets/segv.c:16:5")]
    [InlineData(DoubleFree, 11, 1, "#1 0x55db71650a55 in LLVMFuzzerTestOneInput /work/main/tests/targets/double_free.c:14:5")]
    [InlineData(Ubsan, 10, 0, "#0 0x563fec9821ec in LLVMFuzzerTestOneInput /work/main/tests/targets/ubsan.c:12:16")]
    public void Frames_of_each_report_kind_reach_the_fuzz_target(string fixture, int count, int index, string frame)
    {
        var report = SanitizerReportParser.Parse(Read(fixture));

        report.Frames.Should().HaveCount(count);
        report.Frames[index].Should().Be(frame);
        report.Frames.Select((f, i) => f.StartsWith($"#{i} ", StringComparison.Ordinal)).Should().AllBeEquivalentTo(true);
    }

    [Theory]
    [InlineData(PlantedBug, "./crash-0f27f2bf3d00e604fd40184106d989147f5673e9")]
    [InlineData(HangTimeout, "art/timeout-488131d4326ac23583b8575eef94631b3c9a7823")]
    [InlineData(Leak, "art/leak-a5d94c0756d55ea5cb5f88c3021174b7860b5d9a")]
    [InlineData(PlantedBugReproduce, null)]
    public void Artifact_path_is_taken_from_the_output(string fixture, string? path)
    {
        SanitizerReportParser.Parse(Read(fixture)).ArtifactPath.Should().Be(path);
    }

    [Fact]
    public void Without_a_summary_line_the_error_line_is_the_summary()
    {
        var output = string.Join('\n', Lines(PlantedBug).Where(l => !l.StartsWith("SUMMARY: ", StringComparison.Ordinal)));

        var report = SanitizerReportParser.Parse(output);

        report.Kind.Should().Be("heap-buffer-overflow");
        report.Summary.Should().Be("==8065==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x60200022eb38 at pc 0x55d67e54ca8a bp 0x7fffe86cd860 sp 0x7fffe86cd858");
    }

    [Fact]
    public void Without_a_summary_line_the_kind_is_the_error_lines_first_word()
    {
        // ASan's ERROR line says "attempting double-free"; only the SUMMARY says "double-free".
        var output = string.Join('\n', Lines(DoubleFree).Where(l => !l.StartsWith("SUMMARY: ", StringComparison.Ordinal)));

        SanitizerReportParser.Parse(output).Kind.Should().Be("attempting");
    }

    [Fact]
    public void A_stack_printed_before_the_error_line_is_not_the_reports()
    {
        var strayStack = Lines(HangTimeout).Where(l => l.StartsWith("    #", StringComparison.Ordinal));
        var lines = Lines(PlantedBug).ToList();
        var error = lines.FindIndex(l => l.StartsWith("==8065==ERROR", StringComparison.Ordinal));
        lines.InsertRange(error, strayStack);

        var report = SanitizerReportParser.Parse(string.Join('\n', lines));

        report.Frames.Should().HaveCount(10);
        report.Frames[0].Should().Be("#0 0x55d67e54ca89 in LLVMFuzzerTestOneInput /work/main/tests/targets/planted_bug.c:21:12");
    }

    [Fact]
    public void Without_a_summary_line_a_timeout_is_still_a_timeout()
    {
        var output = string.Join('\n', Lines(HangTimeout).Where(l => !l.StartsWith("SUMMARY: ", StringComparison.Ordinal)));

        SanitizerReportParser.Parse(output).Kind.Should().Be("timeout");
    }

    [Fact]
    public void Output_without_a_report_is_unknown()
    {
        var report = SanitizerReportParser.Parse(Read(NoBug));

        report.Kind.Should().Be(CrashKinds.Unknown);
        report.Summary.Should().BeEmpty();
        report.Frames.Should().BeEmpty();
        report.ArtifactPath.Should().BeNull();
    }

    [Theory]
    [InlineData("./crash-0f27f2bf3d00e604fd40184106d989147f5673e9", "crash")]
    [InlineData("art/timeout-488131d4326ac23583b8575eef94631b3c9a7823", "timeout")]
    [InlineData("/var/pf/oom-e6c3d24c3b06523b9908fad854eb265d84c789dd", "out-of-memory")]
    [InlineData("leak-a5d94c0756d55ea5cb5f88c3021174b7860b5d9a", "leak")]
    [InlineData("slow-unit-3f786850e387550fdab836ed7e6dc881de23001b", "slow-unit")]
    [InlineData("id:000000,sig:06,src:000003,time:521", null)]
    [InlineData("crash-dir/input", null)]
    [InlineData("mycrash-0f27", null)]
    public void Artifact_kind_follows_the_file_name_prefix(string path, string? kind)
    {
        SanitizerReportParser.ArtifactKind(path).Should().Be(kind);
    }
}
