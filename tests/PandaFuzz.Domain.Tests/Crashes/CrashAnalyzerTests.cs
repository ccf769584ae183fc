using PandaFuzz.Protocol;
using FluentAssertions;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Domain.Tests.LibFuzzer;
using Xunit;

namespace PandaFuzz.Domain.Tests.Crashes;

public sealed class CrashAnalyzerTests
{
    [Theory]
    [InlineData("#1 0x55d67e54ca89 in parse_record(char const*, unsigned long) /src/p.cc:21:12", "parse_record", "/src/p.cc", 21, null)]
    [InlineData("#0 0x55d6 in LLVMFuzzerTestOneInput /work/t.c:21", "LLVMFuzzerTestOneInput", "/work/t.c", 21, null)]
    [InlineData("#3 0x5638 in fuzzer::RunOneTest(fuzzer::Fuzzer*, char const*, unsigned long) (/tmp/zoo+0x2d30f) (BuildId: f2328df8)",
        "fuzzer::RunOneTest", null, null, "/tmp/zoo")]
    [InlineData("#3 0x7f2cf3b7a04f  (/lib/x86_64-linux-gnu/libc.so.6+0x3c04f) (BuildId: 93ac61ec)", null, null, null, "/lib/x86_64-linux-gnu/libc.so.6")]
    [InlineData("#2 0x4a in Parser::Next() const /src/parser.cc:7:3", "Parser::Next", "/src/parser.cc", 7, null)]
    [InlineData("#1 0x5589 in ExecuteFilesOnyByOne aflpp_driver.o", "ExecuteFilesOnyByOne", "aflpp_driver.o", null, null)]
    [InlineData("#2 0x4a in (anonymous namespace)::Decode+0x1c", "(anonymous namespace)::Decode", null, null, null)]
    [InlineData("#4 0x4a in std::function<void ()>::operator()() const /usr/include/c++/12/bits/std_function.h:591:9",
        "std::function<void ()>::operator()", "/usr/include/c++/12/bits/std_function.h", 591, null)]
    public void Frames_keep_the_function_and_place_and_drop_arguments_offsets_and_build_ids(
        string line, string? function, string? file, int? lineNumber, string? module)
    {
        StackFrame.TryParse(line, out var frame).Should().BeTrue();

        frame.Function.Should().Be(function);
        frame.File.Should().Be(file);
        frame.Line.Should().Be(lineNumber);
        frame.Module.Should().Be(module);
    }

    [Theory]
    [InlineData("SUMMARY: AddressSanitizer: heap-buffer-overflow")]
    [InlineData("    freed by thread T0 here:")]
    [InlineData("#12 in f")]
    public void Other_lines_are_not_frames(string line) => StackFrame.TryParse(line, out _).Should().BeFalse();

    [Fact]
    public void The_frames_to_fold_are_the_runtime_s_and_the_engine_s_not_the_harness_nor_a_target_s_own_main()
    {
        string[] stack =
        [
            "#0 0x4a in __asan_memcpy /src/llvm/compiler-rt/lib/asan/asan_interceptors_memintrinsics.cpp:63:3",
            "#1 0x4b in handle_record /src/target.c:57:5",
            "#2 0x4c in LLVMFuzzerTestOneInput /src/target.c:80:3",
            "#3 0x4d in fuzzer::Fuzzer::ExecuteCallback(unsigned char const*, unsigned long) /src/llvm/compiler-rt/lib/fuzzer/FuzzerLoop.cpp:614:13",
            "#4 0x7f2cf3b7a04f  (/lib/x86_64-linux-gnu/libc.so.6+0x3c04f) (BuildId: 93ac61ec)",
            "#5 0x4e in main /src/llvm/compiler-rt/lib/fuzzer/FuzzerMain.cpp:20:10",
            "#6 0x4f in main /src/tool.c:12:3",
            "    freed by thread T0 here:",
        ];

        CrashAnalyzer.IgnoredFrames(stack).Should().Equal(0, 3, 4, 5);
        // A crash keeps its frames as StackFrame.Describe writes them: the same frames fold.
        var kept = stack.Select(line => StackFrame.TryParse(line, out var frame) ? frame.Describe() : line).ToList();
        kept[4].Should().Be("#4 libc.so.6 (/lib/x86_64-linux-gnu/libc.so.6)");
        CrashAnalyzer.IgnoredFrames(kept).Should().Equal(0, 3, 4, 5);
    }

    [Theory]
    [InlineData("#1 0x55d67e54ca89 in parse_record(char const*, unsigned long) /src/p.cc:21:12")]
    [InlineData("#3 0x5638 in fuzzer::RunOneTest(fuzzer::Fuzzer*, char const*, unsigned long) (/tmp/zoo+0x2d30f) (BuildId: f2328df8)")]
    [InlineData("#3 0x7f2cf3b7a04f  (/lib/x86_64-linux-gnu/libc.so.6+0x3c04f) (BuildId: 93ac61ec)")]
    [InlineData("#1 0x5589 in ExecuteFilesOnyByOne aflpp_driver.o")]
    [InlineData("#2 0x4a in (anonymous namespace)::Decode+0x1c")]
    [InlineData("#4 0x4a in std::function<void ()>::operator()() const /usr/include/c++/12/bits/std_function.h:591:9")]
    public void A_kept_frame_reads_back_as_the_frame_it_was(string line)
    {
        StackFrame.TryParse(line, out var frame).Should().BeTrue();

        StackFrame.TryParseDescribed(frame.Describe(), out var back).Should().BeTrue(frame.Describe());

        back.Should().Be(frame with { Line = frame.File is null ? null : frame.Line });
    }

    [Fact]
    public void A_bug_right_in_the_harness_has_the_harness_as_its_state()
    {
        // planted_bug.c writes past its buffer inside LLVMFuzzerTestOneInput itself.
        var analysis = CrashAnalyzer.Analyze(LibFuzzerFixtures.Read(LibFuzzerFixtures.PlantedBug), CrashKinds.Crash, "planted_bug");

        analysis.Kind.Should().Be("Heap-buffer-overflow WRITE 1");
        analysis.State.Should().Be("LLVMFuzzerTestOneInput");
        analysis.Security.Should().BeTrue();
    }

    [Fact]
    public void Undefined_behaviour_takes_its_ClusterFuzz_type()
    {
        var analysis = CrashAnalyzer.Analyze(LibFuzzerFixtures.Read(LibFuzzerFixtures.Ubsan), CrashKinds.Crash, "ubsan");

        analysis.Kind.Should().Be("Undefined-shift");
        analysis.Security.Should().BeFalse();
    }

    [Fact]
    public void An_abort_without_ASan_is_a_deadly_signal_whose_state_skips_the_driver()
    {
        // segv.c's abort() reported by libFuzzer's own handler: libc and fuzzer:: frames above the harness.
        var analysis = CrashAnalyzer.Analyze(LibFuzzerFixtures.Read(LibFuzzerFixtures.Abort), CrashKinds.Crash, "segv");

        analysis.Type.Should().Be("Deadly signal");
        analysis.State.Should().Be("LLVMFuzzerTestOneInput");
        analysis.Security.Should().BeFalse();
    }

    [Fact]
    public void Timeouts_and_out_of_memory_take_the_target_name_as_state()
    {
        CrashAnalyzer.Analyze(LibFuzzerFixtures.Read(LibFuzzerFixtures.HangTimeout), CrashKinds.Timeout, "hang")
            .Should().Match<CrashAnalysis>(a => a.Type == "Timeout" && a.State == "hang");
        CrashAnalyzer.Analyze(LibFuzzerFixtures.Read(LibFuzzerFixtures.OomRss), CrashKinds.OutOfMemory, "oom")
            .Should().Match<CrashAnalysis>(a => a.Type == "Out-of-memory" && a.State == "oom");
    }

    [Fact]
    public void Output_without_a_report_falls_back_on_the_engines_finding_kind()
    {
        CrashAnalyzer.Analyze("Segmentation fault\n", CrashKinds.Crash, "t").Type.Should().Be("Deadly signal");
        CrashAnalyzer.Analyze(string.Empty, CrashKinds.Timeout, "t").State.Should().Be("t");
    }

    [Fact]
    public void A_run_the_sandbox_s_memory_cgroup_killed_is_out_of_memory_in_the_target()
    {
        var output = "[*] Fuzzing test case #2\npandafuzz: killed by the sandbox's memory cgroup (limit 144 MiB: the job's 128 MiB + 16 MiB headroom)\n";

        CrashAnalyzer.Analyze(output, CrashKinds.Crash, "memory_hog")
            .Should().Match<CrashAnalysis>(a => a.Type == "Out-of-memory" && a.State == "memory_hog" && !a.Security);
    }

    [Fact]
    public void Accesses_wider_than_16_bytes_share_one_bucket()
    {
        const string report = """
            ==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6 at pc 0x5 bp 0x7 sp 0x7
            WRITE of size 200 at 0x6 thread T0
                #0 0x55 in __asan_memcpy (/t+0xde)
                #1 0x55 in copy_header /src/h.c:9:3
            """;

        var analysis = CrashAnalyzer.Analyze(report, CrashKinds.Crash, "t");

        analysis.Kind.Should().Be("Heap-buffer-overflow WRITE {*}");
        analysis.State.Should().Be("copy_header");
    }

    [Fact]
    public void The_signature_depends_on_type_direction_and_state_not_on_the_access_size()
    {
        var signature = CrashIdentity.Signature("Heap-buffer-overflow READ 1", "f\ng");

        signature.Should().MatchRegex("^[0-9a-f]{16}$");
        new CrashAnalysis("Heap-buffer-overflow", "READ 1", [], "f\ng", true).Signature.Should().Be(signature);
        CrashIdentity.Signature("Heap-buffer-overflow READ 2", "f\ng").Should().Be(signature, "the size is a detail of one report");
        CrashIdentity.Signature("Heap-buffer-overflow READ {*}", "f\ng").Should().Be(signature);
        CrashIdentity.Signature("Heap-buffer-overflow WRITE 1", "f\ng").Should().NotBe(signature, "the direction is part of the identity");
        CrashIdentity.Signature("Heap-buffer-overflow READ 1", "f\nh").Should().NotBe(signature);
        CrashIdentity.Signature("Stack-buffer-overflow READ 1", "f\ng").Should().NotBe(signature);
    }

    [Theory]
    [InlineData("Heap-buffer-overflow WRITE 4", "Heap-buffer-overflow WRITE", "4")]
    [InlineData("Heap-buffer-overflow READ {*}", "Heap-buffer-overflow READ", "{*}")]
    [InlineData("Null-dereference READ", "Null-dereference READ", null)]
    [InlineData("Deadly signal", "Deadly signal", null)]
    [InlineData("Timeout", "Timeout", null)]
    [InlineData("Integer-overflow 4", "Integer-overflow 4", null)]
    public void The_access_size_comes_off_the_kind(string kind, string identity, string? size)
    {
        CrashIdentity.WithoutSize(kind).Should().Be(identity);
        CrashIdentity.AccessSize(kind).Should().Be(size);
    }

    [Fact]
    public void Sizes_read_as_a_range()
    {
        CrashIdentity.SizeRange(["9", "2", "16", "3"]).Should().Be("2–16");
        CrashIdentity.SizeRange(["4"]).Should().Be("4");
        CrashIdentity.SizeRange(["2", "{*}", "8"]).Should().Be("2–8, {*}");
        CrashIdentity.SizeRange([]).Should().BeNull();
    }

    [Fact]
    public void The_location_is_the_file_name_and_line_of_the_frame_that_crashed()
    {
        const string report = """
            ==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6 at pc 0x5 bp 0x7 sp 0x7
            WRITE of size 9 at 0x6 thread T0
                #0 0x55 in __asan_memcpy (/t+0xde)
                #1 0x55 in handle_record /build/one/target.c:57:5
                #2 0x55 in parse_packet /build/one/target.c:80:3
            """;

        var analysis = CrashAnalyzer.Analyze(report, CrashKinds.Crash, "t");

        analysis.Location.Should().Be("target.c:57");
        analysis.Signature.Should().Be(CrashIdentity.Signature("Heap-buffer-overflow WRITE", "handle_record\nparse_packet"));
    }
}
