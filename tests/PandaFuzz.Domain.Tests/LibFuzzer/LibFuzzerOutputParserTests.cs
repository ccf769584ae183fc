using FluentAssertions;
using PandaFuzz.Domain.Engines.LibFuzzer;
using Xunit;
using static PandaFuzz.Domain.Tests.LibFuzzer.LibFuzzerFixtures;

namespace PandaFuzz.Domain.Tests.LibFuzzer;

public sealed class LibFuzzerOutputParserTests
{
    [Fact]
    public void New_line_gives_exactly_its_numbers()
    {
        var line = Line(PlantedBug, "#2670\t");

        LibFuzzerOutputParser.TryParseStatus(line, out var status).Should().BeTrue();

        status.Should().Be(new LibFuzzerStatusLine(
            LibFuzzerStatusKind.New, Execs: 2670, Coverage: 4, Features: 4, CorpusUnits: 3, CorpusBytes: 28,
            ExecsPerSecond: 0, RssMb: 31, Units: null));
    }

    [Fact]
    public void Inited_line_after_a_seed_corpus_gives_its_numbers()
    {
        var line = Line(NoBug, "#6\t");

        LibFuzzerOutputParser.TryParseStatus(line, out var status).Should().BeTrue();

        status.Should().Be(new LibFuzzerStatusLine(
            LibFuzzerStatusKind.Inited, Execs: 6, Coverage: 7, Features: 56, CorpusUnits: 5, CorpusBytes: 1073,
            ExecsPerSecond: 0, RssMb: 30, Units: null));
    }

    [Fact]
    public void Pulse_line_converts_a_Kb_corpus_size_to_bytes()
    {
        var line = Line(NoBug, "#1048576\t");

        LibFuzzerOutputParser.TryParseStatus(line, out var status).Should().BeTrue();

        status.Should().Be(new LibFuzzerStatusLine(
            LibFuzzerStatusKind.Pulse, Execs: 1048576, Coverage: 7, Features: 100, CorpusUnits: 44,
            CorpusBytes: 17 * 1024, ExecsPerSecond: 262144, RssMb: 438, Units: null));
    }

    [Fact]
    public void Done_line_gives_its_numbers()
    {
        var line = Line(NoBug, "#2379984\t");

        LibFuzzerOutputParser.TryParseStatus(line, out var status).Should().BeTrue();

        status.Should().Be(new LibFuzzerStatusLine(
            LibFuzzerStatusKind.Done, Execs: 2379984, Coverage: 7, Features: 100, CorpusUnits: 44,
            CorpusBytes: 16 * 1024, ExecsPerSecond: 264442, RssMb: 476, Units: null));
    }

    [Fact]
    public void Every_status_line_of_a_crashing_run_is_recognised_in_order()
    {
        var kinds = Lines(PlantedBug)
            .Select(l => LibFuzzerOutputParser.TryParseStatus(l, out var s) ? s.Kind : (LibFuzzerStatusKind?)null)
            .OfType<LibFuzzerStatusKind>()
            .ToList();

        kinds.Should().Equal(
            LibFuzzerStatusKind.Inited,
            LibFuzzerStatusKind.New,
            LibFuzzerStatusKind.New,
            LibFuzzerStatusKind.Reduce,
            LibFuzzerStatusKind.Reduce,
            LibFuzzerStatusKind.Reduce,
            LibFuzzerStatusKind.Reduce,
            LibFuzzerStatusKind.Reduce,
            LibFuzzerStatusKind.Reduce);
    }

    [Fact]
    public void Every_hash_line_of_a_long_run_is_a_status_line_and_execs_never_decrease()
    {
        var statusLines = Lines(NoBug).Where(l => l.StartsWith('#') && l.Length > 1 && char.IsAsciiDigit(l[1])).ToList();

        var parsed = statusLines
            .Select(l => LibFuzzerOutputParser.TryParseStatus(l, out var s) ? s : null)
            .ToList();

        parsed.Should().HaveCount(statusLines.Count).And.NotContainNulls();
        parsed.Select(s => s!.Execs).Should().BeInAscendingOrder();
        parsed.Count(s => s!.Kind == LibFuzzerStatusKind.Pulse).Should().Be(2);
        parsed.Last()!.Kind.Should().Be(LibFuzzerStatusKind.Done);
    }

    [Theory]
    [InlineData("#100\tpulse  cov: 7 ft: 100 corp: 44/3Mb exec/s: 10 rss: 40Mb", 44, 3L * 1024 * 1024)]
    [InlineData("#7\tNEW    cov: 1 ft: 1 corp: 1 exec/s: 0 rss: 30Mb L: 0/0 MS: 1 EraseBytes-", 1, 0L)]
    public void Corpus_size_suffixes_convert_to_bytes(string line, long units, long bytes)
    {
        LibFuzzerOutputParser.TryParseStatus(line, out var status).Should().BeTrue();

        status!.CorpusUnits.Should().Be(units);
        status.CorpusBytes.Should().Be(bytes);
    }

    [Fact]
    public void Read_units_line_carries_units_and_lacks_coverage()
    {
        LibFuzzerOutputParser.TryParseStatus("#0\tREAD units: 12 exec/s: 0 rss: 25Mb", out var status).Should().BeTrue();

        status.Should().Be(new LibFuzzerStatusLine(
            LibFuzzerStatusKind.ReadUnits, Execs: 0, Coverage: null, Features: null, CorpusUnits: null,
            CorpusBytes: null, ExecsPerSecond: 0, RssMb: 25, Units: 12));
    }

    [Fact]
    public void Dictionary_entries_after_MS_do_not_confuse_the_parser()
    {
        // A DE: entry can hold any bytes, including text that looks like a key.
        var line = "#9\tNEW    cov: 3 ft: 4 corp: 2/5b lim: 4 exec/s: 0 rss: 30Mb L: 4/4 MS: 1 CMP- DE: \"cov: x\"-";

        LibFuzzerOutputParser.TryParseStatus(line, out var status).Should().BeTrue();

        status!.Coverage.Should().Be(3);
        status.Features.Should().Be(4);
    }

    [Theory]
    [InlineData("INFO: seed corpus: files: 5 min: 1b max: 512b total: 1073b rss: 29Mb")]
    [InlineData("###### Recommended dictionary. ######")]
    [InlineData("    #0 0x55d67e54ca89 in LLVMFuzzerTestOneInput /work/main/tests/targets/planted_bug.c:21:12")]
    [InlineData("#12\tNEW_FUNC cov: 3")]
    [InlineData("#12\tNEW    cov: many ft: 3")]
    [InlineData("stat::number_of_executed_units: 2379984")]
    [InlineData("#")]
    [InlineData("")]
    public void Other_lines_are_not_status_lines(string line)
    {
        LibFuzzerOutputParser.TryParseStatus(line, out var status).Should().BeFalse();
        status.Should().BeNull();
    }

    [Theory]
    [InlineData(PlantedBug, "./crash-0f27f2bf3d00e604fd40184106d989147f5673e9")]
    [InlineData(HangTimeout, "art/timeout-488131d4326ac23583b8575eef94631b3c9a7823")]
    [InlineData(OomRss, "art/oom-e6c3d24c3b06523b9908fad854eb265d84c789dd")]
    [InlineData(OomMalloc, "art/oom-dc740a7071179c9f62b5ac13ba67653d939bfe99")]
    [InlineData(Leak, "art/leak-a5d94c0756d55ea5cb5f88c3021174b7860b5d9a")]
    [InlineData(Ubsan, "art/crash-6109c9e80a83baae637a70dc6128d3e9adb7ac17")]
    public void Artifact_line_gives_the_written_path(string fixture, string expectedPath)
    {
        var paths = Lines(fixture)
            .Select(l => LibFuzzerOutputParser.TryParseArtifactWritten(l, out var p) ? p : null)
            .OfType<string>()
            .ToList();

        paths.Should().Equal(expectedPath);
    }

    [Theory]
    [InlineData(NoBug)]
    [InlineData(PlantedBugReproduce)]
    public void Runs_without_an_artifact_have_no_artifact_line(string fixture)
    {
        Lines(fixture).Where(l => LibFuzzerOutputParser.TryParseArtifactWritten(l, out _)).Should().BeEmpty();
    }

    [Theory]
    [InlineData(PlantedBug, "==8065==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x60200022eb38 at pc 0x55d67e54ca8a bp 0x7fffe86cd860 sp 0x7fffe86cd858")]
    [InlineData(HangTimeout, "==8069== ERROR: libFuzzer: timeout after 1 seconds")]
    [InlineData(OomRss, "==8093== ERROR: libFuzzer: out-of-memory (used: 159Mb; limit: 64Mb)")]
    [InlineData(OomMalloc, "==8125== ERROR: libFuzzer: out-of-memory (malloc(2097152))")]
    [InlineData(Leak, "==8129==ERROR: LeakSanitizer: detected memory leaks")]
    [InlineData(Segv, "AddressSanitizer:DEADLYSIGNAL")]
    [InlineData(Abort, "==8622== ERROR: libFuzzer: deadly signal")]
    [InlineData(Ubsan, "ubsan.c:12:16: runtime error: shift exponent 255 is too large for 32-bit type 'int'")]
    public void First_crash_report_line_is_the_sanitizer_error(string fixture, string expectedLine)
    {
        Lines(fixture).First(LibFuzzerOutputParser.IsCrashReportStart).Should().Be(expectedLine);
    }

    [Theory]
    [InlineData(PlantedBug, "SUMMARY: AddressSanitizer: heap-buffer-overflow /work/main/tests/targets/planted_bug.c:21:12 in LLVMFuzzerTestOneInput")]
    [InlineData(HangTimeout, "SUMMARY: libFuzzer: timeout")]
    [InlineData(Leak, "SUMMARY: AddressSanitizer: 64 byte(s) leaked in 1 allocation(s).")]
    public void Summary_lines_count_as_report_lines(string fixture, string summary)
    {
        var line = Line(fixture, "SUMMARY: ");

        line.Should().Be(summary);
        LibFuzzerOutputParser.IsCrashReportStart(line).Should().BeTrue();
    }

    [Fact]
    public void A_run_that_never_crashes_has_no_report_line()
    {
        Lines(NoBug).Should().NotContain(l => LibFuzzerOutputParser.IsCrashReportStart(l));
    }

    [Theory]
    [InlineData("==8144==The signal is caused by a READ memory access.")]
    [InlineData("==8065==ABORTING")]
    [InlineData("==77==WARNING: AddressSanitizer failed to allocate 0x100000000 bytes")]
    [InlineData("ALARM: working on the last Unit for 1 seconds")]
    [InlineData("INFO: to ignore leaks on libFuzzer side use -detect_leaks=0.")]
    [InlineData("WRITE of size 1 at 0x60200022eb38 thread T0")]
    public void Lines_inside_or_around_a_report_are_not_report_starts(string line)
    {
        LibFuzzerOutputParser.IsCrashReportStart(line).Should().BeFalse();
    }

    [Theory]
    [InlineData("==1==WARNING: MemorySanitizer: use-of-uninitialized-value")]
    [InlineData("WARNING: ThreadSanitizer: data race (pid=12)")]
    [InlineData("==1==ERROR: UndefinedBehaviorSanitizer: SEGV on unknown address 0x000000000006")]
    public void Other_sanitizers_report_starts_are_recognised(string line)
    {
        LibFuzzerOutputParser.IsCrashReportStart(line).Should().BeTrue();
    }
}
