using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Tests.Support;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Bot.Tests.Support.BotFixtures;

namespace PandaFuzz.Bot.Tests.Engines;

/// <summary>The libFuzzer adapter: its command lines, its reading of real output lines, and where its files live.</summary>
public sealed class LibFuzzerEngineTests : IDisposable
{
    private readonly LibFuzzerEngine _engine = new();
    private readonly TempJobDir _temp = new();

    private JobWorkDir Dir => _temp.Dir;

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(3600.0, "-max_total_time=3600")]
    [InlineData(90.9, "-max_total_time=90")]
    [InlineData(0.3, "-max_total_time=1")]
    [InlineData(0.0, "-max_total_time=1")]
    public void Launch_limits_the_run_to_runFor_in_whole_seconds_and_at_least_one(double seconds, string expected)
    {
        var launch = _engine.Launch(Specs.LibFuzzer(), Dir, TimeSpan.FromSeconds(seconds));

        launch.Arguments.Should().ContainSingle(a => a.StartsWith("-max_total_time=")).Which.Should().Be(expected);
    }

    [Fact]
    public void Launch_passes_the_memory_limit_as_rss_limit_mb()
    {
        var launch = _engine.Launch(Specs.LibFuzzer(memoryLimitMb: 3072), Dir, TimeSpan.FromMinutes(5));

        launch.Arguments.Should().ContainSingle(a => a.StartsWith("-rss_limit_mb=")).Which.Should().Be("-rss_limit_mb=3072");
    }

    [Theory]
    [InlineData(1500, "-timeout=2")]
    [InlineData(1000, "-timeout=1")]
    [InlineData(1001, "-timeout=2")]
    [InlineData(25_000, "-timeout=25")]
    [InlineData(1, "-timeout=1")]
    public void Launch_rounds_the_timeout_up_to_whole_seconds(int timeoutMs, string expected)
    {
        var launch = _engine.Launch(Specs.LibFuzzer(timeoutMs: timeoutMs), Dir, TimeSpan.FromMinutes(5));

        launch.Arguments.Should().ContainSingle(a => a.StartsWith("-timeout=")).Which.Should().Be(expected);
    }

    [Fact]
    public void Launch_writes_artifacts_into_the_artifacts_dir_and_prints_final_stats()
    {
        var launch = _engine.Launch(Specs.LibFuzzer(), Dir, TimeSpan.FromMinutes(5));

        launch.Arguments.Should().Contain($"-artifact_prefix={Dir.Artifacts}/");
        launch.Arguments.Should().Contain("-print_final_stats=1");
    }

    [Fact]
    public void Launch_passes_the_dictionary_file_when_the_spec_has_one()
    {
        var launch = _engine.Launch(Specs.LibFuzzer(dictionary: Specs.Dictionary), Dir, TimeSpan.FromMinutes(5));

        launch.Arguments.Should().ContainSingle(a => a.StartsWith("-dict=")).Which.Should().Be($"-dict={Dir.Dictionary}");
    }

    [Fact]
    public void Launch_passes_no_dictionary_when_the_spec_has_none()
    {
        var launch = _engine.Launch(Specs.LibFuzzer(dictionary: null), Dir, TimeSpan.FromMinutes(5));

        launch.Arguments.Should().NotContain(a => a.StartsWith("-dict"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(Specs.Dictionary)]
    public void Launch_runs_the_target_with_the_corpus_dir_last(string? dictionary)
    {
        var launch = _engine.Launch(Specs.LibFuzzer(dictionary: dictionary), Dir, TimeSpan.FromMinutes(5));

        launch.Program.Should().Be(Dir.Target);
        launch.Arguments[^1].Should().Be(Dir.Corpus);
        launch.Arguments.Take(launch.Arguments.Count - 1).Should().OnlyContain(a => a.StartsWith('-'), "flags come before the corpus dir");
        launch.WorkingDirectory.Should().Be(Dir.Root);
    }

    [Fact]
    public void Launch_symbolizes_sanitizer_reports()
    {
        var launch = _engine.Launch(Specs.LibFuzzer(), Dir, TimeSpan.FromMinutes(5));

        launch.Environment.Should().ContainKey("ASAN_OPTIONS");
        launch.Environment["ASAN_OPTIONS"].Split(':').Should().Contain("symbolize=1");
    }

    [Fact]
    public void Reproduce_runs_the_target_once_on_the_input()
    {
        var input = Path.Combine(Dir.Artifacts, "crash-0f27f2bf3d00e604fd40184106d989147f5673e9");

        var launch = _engine.Reproduce(Specs.LibFuzzer(), Dir, input);

        launch.Program.Should().Be(Dir.Target);
        launch.Arguments.Should().Contain("-runs=1");
        launch.Arguments[^1].Should().Be(input);
        launch.Environment["ASAN_OPTIONS"].Split(':').Should().Contain("symbolize=1");
    }

    [Fact]
    public void Reproduce_lets_ASan_report_aborts_and_makes_undefined_behaviour_fatal()
    {
        var launch = _engine.Reproduce(Specs.LibFuzzer(), Dir, "input");

        launch.Environment["ASAN_OPTIONS"].Split(':').Should().Contain("handle_abort=1");
        launch.Environment["UBSAN_OPTIONS"].Split(':').Should().Contain(["print_stacktrace=1", "halt_on_error=1"]);
    }

    [Fact]
    public void MinimizeCrash_bounds_each_step_by_runs_and_the_whole_by_the_time_limit()
    {
        var launch = _engine.MinimizeCrash(Specs.LibFuzzer(), Dir, "crash-input", "crash-minimized", TimeSpan.FromSeconds(90));

        launch.Arguments.Should().ContainInOrder("-minimize_crash=1", $"-runs={LibFuzzerEngine.MinimizeCrashRunsPerStep}");
        launch.Arguments.Should().Contain(["-exact_artifact_path=crash-minimized", "-max_total_time=90"]);
        launch.Arguments[^1].Should().Be("crash-input");
    }

    [Fact]
    public void Read_gives_the_exact_numbers_of_a_real_status_line()
    {
        var line = LibFuzzerLine(LibFuzzerPlantedBugLines, "#2670\t");

        var read = _engine.Read(line);

        var stats = read.Should().BeOfType<EngineLine.Stats>().Subject.Value;
        stats.Should().BeEquivalentTo(
            new FuzzerStats(Execs: 2670, ExecsPerSecond: 0, Coverage: 4, Features: 4, CorpusUnits: 3, CorpusBytes: 28, RssMb: 31, At: default),
            options => options.Excluding(s => s.At));
    }

    [Fact]
    public void Read_sees_the_start_of_a_real_sanitizer_report()
    {
        var line = LibFuzzerLine(LibFuzzerPlantedBugLines, "==8065==ERROR: AddressSanitizer: heap-buffer-overflow");

        _engine.Read(line).Should().BeOfType<EngineLine.ReportStarted>();
    }

    [Fact]
    public void Read_gives_the_path_of_a_real_artifact_line()
    {
        var line = LibFuzzerLine(LibFuzzerPlantedBugLines, "artifact_prefix=");

        var read = _engine.Read(line);

        read.Should().Be(new EngineLine.ArtifactWritten("./crash-0f27f2bf3d00e604fd40184106d989147f5673e9"));
    }

    [Fact]
    public void Read_gives_other_for_a_report_body_line()
    {
        var line = LibFuzzerLine(LibFuzzerPlantedBugLines, "WRITE of size 1");

        _engine.Read(line).Should().Be(EngineLine.Other);
    }

    [Theory]
    [InlineData("crash-0f27f2bf3d00e604fd40184106d989147f5673e9", "crash")]
    [InlineData("timeout-0eb8e4ed029b774d80f2b66408203801cb982a60", "timeout")]
    [InlineData("oom-7d3fc6f0a6c4e36b7f1fd6b05db5d52d2e8a2b7c", "out-of-memory")]
    [InlineData("leak-b3d1b9b7e1c2e30e2c0e8c31d4d2f3a6a9b0c1d2", "leak")]
    public void FindingKind_names_the_kind_of_an_artifact(string name, string kind)
    {
        _engine.FindingKind(Path.Combine(Dir.Artifacts, name)).Should().Be(kind);
    }

    [Theory]
    [InlineData("0f27f2bf3d00e604fd40184106d989147f5673e9")]
    [InlineData("README.txt")]
    [InlineData(".tmp-crash-0f27f2bf")]
    public void FindingKind_is_null_for_files_that_are_not_findings(string name)
    {
        _engine.FindingKind(Path.Combine(Dir.Artifacts, name)).Should().BeNull();
    }

    /// <summary>
    /// libFuzzer writes a <c>slow-unit-</c> file into the artifact prefix for any input slower than -report_slow_units
    /// (10 s by default); that input did not crash, so it must not become a finding.
    /// </summary>
    [Fact]
    public void FindingKind_is_null_for_a_slow_unit_which_is_not_a_finding()
    {
        _engine.FindingKind(Path.Combine(Dir.Artifacts, "slow-unit-0f27f2bf3d00e604fd40184106d989147f5673e9")).Should().BeNull();
    }

    [Fact]
    public void Corpus_and_imports_both_live_in_the_corpus_dir()
    {
        _engine.CorpusDirectory(Dir).Should().Be(Dir.Corpus);
        _engine.ImportDirectory(Dir).Should().Be(Dir.Corpus);
    }

    [Fact]
    public void An_imported_input_is_named_by_its_sha256()
    {
        var input = BlobId.Of("FUZ\u0008"u8);

        _engine.ImportFileName(input, 7).Should().Be(input.Sha256);
    }

    [Fact]
    public void Finding_directories_are_the_artifacts_dir_scanned_because_a_fork_run_does_not_announce_them()
    {
        _engine.FindingDirectories(Dir).Should().Equal(Dir.Artifacts);
        _engine.AnnouncesFindings.Should().BeFalse();
        _engine.ReadStatsFiles(Dir).Should().BeNull();
    }

    [Fact]
    public void A_finding_s_report_is_read_from_its_child_s_sanitizer_log_and_never_through_a_planted_link()
    {
        Directory.CreateDirectory(Dir.Artifacts);
        Directory.CreateDirectory(Dir.SanitizerLogs);
        File.WriteAllText(Path.Combine(Dir.SanitizerLogs, "report.41"), "==41==ERROR: AddressSanitizer: heap-use-after-free");
        var artifact = Path.Combine(Dir.Artifacts, "crash-1");
        File.WriteAllText(artifact, "input");
        File.SetLastWriteTimeUtc(artifact, DateTime.UtcNow.AddSeconds(1));

        _engine.FindingReport(Dir, artifact, 1 << 16).Should().Contain("heap-use-after-free");

        // The target replaced the folder with a link to somewhere of the node's: nothing there is read or deleted.
        var elsewhere = Path.Combine(Path.GetDirectoryName(Dir.Root)!, "elsewhere-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(elsewhere);
        var old = Path.Combine(elsewhere, "report.7");
        File.WriteAllText(old, "==7==ERROR: secret");
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-1));
        Directory.Delete(Dir.SanitizerLogs, recursive: true);
        Directory.CreateSymbolicLink(Dir.SanitizerLogs, elsewhere);

        _engine.FindingReport(Dir, artifact, 1 << 16).Should().BeEmpty();
        File.Exists(old).Should().BeTrue("an old report through a planted link is not cleaned up");
        Directory.Delete(elsewhere, recursive: true);
    }

    [Fact]
    public void Launch_keeps_fuzzing_past_crashes_timeouts_and_ooms_in_child_processes()
    {
        var launch = _engine.Launch(Specs.LibFuzzer(), Dir, TimeSpan.FromMinutes(5));

        launch.Arguments.Should().Contain(["-fork=1", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]);
    }

    [Theory]
    // libFuzzer 14 prints "exec/s 0" (no colon); a child that crashed before its final stats says 0: the run's average stands.
    [InlineData("#442785: cov: 29 ft: 46 corp: 28 exec/s 0 oom/timeout/crash: 1/2/42 time: 20s job: 43 dft_time: 0", 442785, 22139)]
    [InlineData("#1024: cov: 29 ft: 46 corp: 28 exec/s: 3500 oom/timeout/crash: 1/2/42 time: 20s job: 43 dft_time: 0", 1024, 3500)]
    public void Read_gives_the_executions_coverage_and_failures_of_a_fork_line(string line, long execs, long execsPerSecond)
    {
        var stats = _engine.Read(line).Should().BeOfType<EngineLine.Stats>().Subject.Value;

        stats.Should().BeEquivalentTo(
            new FuzzerStats(Execs: execs, ExecsPerSecond: execsPerSecond, Coverage: 29, Features: 46, CorpusUnits: 28, CorpusBytes: 0, RssMb: 0, At: default,
                Crashes: 43, Hangs: 2),
            options => options.Excluding(s => s.At));
    }

    [Fact]
    public void A_fork_run_s_live_figures_are_its_running_child_s_last_status_line_added_to_what_it_printed_and_never_read_through_a_link()
    {
        var launch = _engine.Launch(Specs.LibFuzzer(), Dir, TimeSpan.FromMinutes(5));
        launch.Environment["TMPDIR"].Should().Be(Dir.EngineTemp);
        var fork = Path.Combine(Dir.EngineTemp, "libFuzzerTemp.FuzzWithFork7.dir");
        Directory.CreateDirectory(fork);
        File.WriteAllText(Path.Combine(fork, "4.log"), """
            INFO: Seed: 1234
            #2	INITED cov: 12 ft: 14 corp: 5/20b exec/s: 0 rss: 30Mb
            #4096	pulse  cov: 40 ft: 52 corp: 9/60b lim: 4 exec/s: 2048 rss: 31Mb
            #6000	NEW    cov: 41 ft: 53 corp: 10/70b lim: 4 exec/s: 2000 rss: 32Mb L: 3/3 MS: 1 ChangeByte-
            some target output

            """);
        var printed = new FuzzerStats(Execs: 100_000, ExecsPerSecond: 1500, Coverage: 38, Features: 60, CorpusUnits: 28, CorpusBytes: 0, RssMb: 0,
            At: DateTimeOffset.UtcNow, Crashes: 3);

        var live = _engine.ReadLiveStats(Dir, printed);

        live.Should().BeEquivalentTo(printed with { Execs = 106_000, ExecsPerSecond = 2000, Coverage = 41, Features = 60, CorpusUnits = 28, CorpusBytes = 70, RssMb = 32 },
            options => options.Excluding(s => s.At));

        // The target replaced the folder with a link to somewhere of the node's: nothing is read there.
        var elsewhere = Path.Combine(Path.GetDirectoryName(Dir.Root)!, "elsewhere-" + Guid.NewGuid().ToString("N"));
        Directory.Move(fork, elsewhere);
        Directory.CreateSymbolicLink(fork, elsewhere);
        _engine.ReadLiveStats(Dir, printed).Should().BeNull();
        Directory.Delete(fork);
        Directory.Delete(Dir.EngineTemp);
        Directory.CreateSymbolicLink(Dir.EngineTemp, Path.GetDirectoryName(elsewhere)!);
        _engine.ReadLiveStats(Dir, printed).Should().BeNull();
        new LibFuzzerEngine(fork: false).ReadLiveStats(Dir, printed).Should().BeNull("a plain run prints its figures as it goes");
        Directory.Delete(elsewhere, recursive: true);
    }
}
