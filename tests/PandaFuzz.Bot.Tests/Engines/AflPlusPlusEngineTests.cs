using System.Text;
using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Tests.Support;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Bot.Tests.Support.BotFixtures;

namespace PandaFuzz.Bot.Tests.Engines;

/// <summary>The AFL++ adapter: its afl-fuzz command line, its reading of a real run's output dir, and where its files live.</summary>
public sealed class AflPlusPlusEngineTests : IDisposable
{
    private const string Instance = "out/job";

    private readonly AflPlusPlusEngine _engine = new();
    private readonly TempJobDir _temp = new();

    public AflPlusPlusEngineTests()
    {
        // Most launches need a target to inspect; the ASan tests overwrite it.
        WriteTarget(asan: false);
    }

    private JobWorkDir Dir => _temp.Dir;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Launch_runs_a_campaigns_first_job_as_the_main_instance_on_the_corpus_and_output_dirs()
    {
        var launch = _engine.Launch(Specs.AflPlusPlus(), Dir, TimeSpan.FromMinutes(5));

        launch.Program.Should().Be("afl-fuzz");
        ValueOf(launch, "-i").Should().Be(Dir.Corpus);
        ValueOf(launch, "-o").Should().Be(Dir.Output);
        ValueOf(launch, "-M").Should().Be("job");
        launch.Arguments.Should().NotContain("-S").And.NotContain("-p", "the main instance keeps afl-fuzz's default schedule");
        launch.WorkingDirectory.Should().Be(Dir.Root);
    }

    [Fact]
    public void Of_three_jobs_with_a_cmplog_build_one_is_main_two_are_secondaries_with_other_schedules_and_one_runs_cmplog()
    {
        var cmplog = BlobId.Of("cmplog build"u8);
        var campaign = new CampaignSpec("parser", BlobId.Of("afl build"u8), EngineNames.AflPlusPlus, 3, 600, 2048, 1000, null) { Cmplog = cmplog };

        var launches = Enumerable.Range(0, 3).Select(i => _engine.Launch(campaign.ToJobSpec(i), Dir, TimeSpan.FromMinutes(5))).ToList();

        launches.Select(l => l.Arguments.Contains("-M") ? "M" : "S").Should().Equal("M", "S", "S");
        launches.Select(l => l.Arguments.Contains("-c") ? ValueOf(l, "-c") : null).Should().Equal(null, Dir.CmplogTarget, null);
        launches.Skip(1).Select(l => ValueOf(l, "-p")).Should().Equal(AflPlusPlusEngine.SecondarySchedules[0], AflPlusPlusEngine.SecondarySchedules[1]);
        new AflPlusPlusEngine(cmplogEvery: 1).Launch(campaign.ToJobSpec(2), Dir, TimeSpan.FromMinutes(5)).Arguments.Should().Contain("-c",
            "with cmplog-every = 1 every secondary runs it");
    }

    [Fact]
    public void A_campaigns_only_afl_job_runs_cmplog_alone_or_beside_libfuzzer_and_a_job_of_an_older_release_as_before()
    {
        var cmplog = BlobId.Of("cmplog build"u8);
        var alone = new CampaignSpec("parser", BlobId.Of("afl build"u8), EngineNames.AflPlusPlus, 1, 600, 2048, 1000, null) { Cmplog = cmplog };
        var ensemble = alone with
        {
            Jobs = 3,
            Ensemble = [new EngineTarget(EngineNames.LibFuzzer, BlobId.Of("lf build"u8)), new EngineTarget(EngineNames.AflPlusPlus, BlobId.Of("afl build"u8))],
        };

        ensemble.ToJobSpec(1).Instances.Should().Be(1, "of 3 jobs on 2 engines, libFuzzer runs 2 and AFL++ 1");
        ensemble.ToJobSpec(0).Instances.Should().Be(2);
        foreach (var spec in new[] { alone.ToJobSpec(0), ensemble.ToJobSpec(1) })
        {
            var launch = _engine.Launch(spec, Dir, TimeSpan.FromMinutes(5));
            launch.Arguments.Should().Contain("-M");
            ValueOf(launch, "-c").Should().Be(Dir.CmplogTarget);
        }

        _engine.Launch(alone.ToJobSpec(0) with { Instances = 0 }, Dir, TimeSpan.FromMinutes(5)).Arguments.Should().NotContain("-c");
    }

    [Fact]
    public void A_campaigns_afl_options_reach_afl_fuzz_its_schedule_for_every_instance_and_its_cmplog_level_only_with_c()
    {
        var options = new EngineOptions(AflPlusPlus: new Dictionary<string, string> { ["p"] = "rare", ["L"] = "0", ["l"] = "2AT", ["input"] = "file" });
        var campaign = new CampaignSpec("parser", BlobId.Of("afl build"u8), EngineNames.AflPlusPlus, 3, 600, 2048, 1000, null)
        {
            Cmplog = BlobId.Of("cmplog build"u8), Options = options,
        };

        var main = _engine.Launch(campaign.ToJobSpec(0), Dir, TimeSpan.FromMinutes(5));
        var withCmplog = _engine.Launch(campaign.ToJobSpec(1), Dir, TimeSpan.FromMinutes(5));

        ValueOf(main, "-p").Should().Be("rare");
        ValueOf(main, "-L").Should().Be("0");
        main.Arguments.Should().NotContain("-l", "the CMPLOG level means nothing without -c");
        main.Arguments.Should().EndWith([Dir.Target, "@@"], "input=file passes each input's path");
        ValueOf(withCmplog, "-p").Should().Be("rare", "the campaign's schedule is every instance's");
        ValueOf(withCmplog, "-l").Should().Be("2AT");
        withCmplog.Arguments.Count(a => a == "-p").Should().Be(1);
    }

    [Theory]
    [InlineData(3600.0, "3600")]
    [InlineData(90.9, "90")]
    [InlineData(0.3, "1")]
    public void Launch_limits_the_run_with_V_in_seconds(double seconds, string expected)
    {
        var launch = _engine.Launch(Specs.AflPlusPlus(), Dir, TimeSpan.FromSeconds(seconds));

        ValueOf(launch, "-V").Should().Be(expected);
    }

    [Theory]
    [InlineData(1500, "1500")]
    [InlineData(5, "5")]
    [InlineData(1, "5")]
    public void Launch_passes_the_timeout_in_milliseconds_and_at_least_5(int timeoutMs, string expected)
    {
        var launch = _engine.Launch(Specs.AflPlusPlus(timeoutMs: timeoutMs), Dir, TimeSpan.FromMinutes(5));

        ValueOf(launch, "-t").Should().Be(expected);
    }

    [Fact]
    public void Launch_sets_no_memory_limit_for_an_asan_target()
    {
        WriteTarget(asan: true);

        var launch = _engine.Launch(Specs.AflPlusPlus(memoryLimitMb: 3072), Dir, TimeSpan.FromMinutes(5));

        ValueOf(launch, "-m").Should().Be("none");
    }

    [Fact]
    public void Launch_passes_the_memory_limit_for_a_target_without_asan()
    {
        WriteTarget(asan: false);

        var launch = _engine.Launch(Specs.AflPlusPlus(memoryLimitMb: 3072), Dir, TimeSpan.FromMinutes(5));

        ValueOf(launch, "-m").Should().Be("3072");
    }

    [Fact]
    public void Launch_passes_the_dictionary_file_when_the_spec_has_one()
    {
        var launch = _engine.Launch(Specs.AflPlusPlus(dictionary: Specs.Dictionary), Dir, TimeSpan.FromMinutes(5));

        ValueOf(launch, "-x").Should().Be(Dir.Dictionary);
    }

    [Fact]
    public void Launch_passes_the_bundles_dictionaries_the_campaign_names_from_where_the_job_sees_the_bundle()
    {
        var options = new EngineOptions(AflPlusPlus: new Dictionary<string, string> { ["x"] = "fuzz_parse.dict,dicts/common.dict" });
        var spec = Specs.AflPlusPlus(dictionary: Specs.Dictionary) with { Options = options };
        var bundle = Path.Combine(Path.GetTempPath(), "bundles", new string('a', 64));
        var before = _engine.Launch(spec, Dir, TimeSpan.FromMinutes(5));
        JobLaunchExtras.UseLibraries(Dir.Root, bundle, []);
        try
        {
            var launch = _engine.Launch(spec, Dir, TimeSpan.FromMinutes(5));

            launch.Arguments.Select((a, i) => (a, i)).Where(p => p.a == "-x").Select(p => launch.Arguments[p.i + 1])
                .Should().Equal(Dir.Dictionary, Path.Combine(bundle, "fuzz_parse.dict"), Path.Combine(bundle, "dicts/common.dict"));
            before.Arguments.Count(a => a == "-x").Should().Be(1, "without the bundle (a job not yet prepared) only the campaign's own");
        }
        finally
        {
            JobLaunchExtras.ForgetLibraries(Dir.Root);
        }
    }

    [Fact]
    public void Launch_passes_no_dictionary_when_the_spec_has_none()
    {
        var launch = _engine.Launch(Specs.AflPlusPlus(dictionary: null), Dir, TimeSpan.FromMinutes(5));

        launch.Arguments.Should().NotContain("-x");
    }

    [Theory]
    [InlineData(null)]
    [InlineData(Specs.Dictionary)]
    public void Launch_ends_with_the_target_after_a_double_dash(string? dictionary)
    {
        var launch = _engine.Launch(Specs.AflPlusPlus(dictionary: dictionary), Dir, TimeSpan.FromMinutes(5));

        launch.Arguments.TakeLast(2).Should().Equal("--", Dir.Target);
        launch.Arguments.Count(a => a == "--").Should().Be(1);
    }

    [Fact]
    public void Launch_runs_headless_resumable_unpinned_with_the_asan_options_afl_fuzz_needs()
    {
        var launch = _engine.Launch(Specs.AflPlusPlus(), Dir, TimeSpan.FromMinutes(5));

        launch.Environment.Should().Contain("AFL_NO_UI", "1");
        launch.Environment.Should().Contain("AFL_AUTORESUME", "1");
        launch.Environment.Should().Contain("AFL_NO_AFFINITY", "1");
        launch.Environment.Should().ContainKey("ASAN_OPTIONS");
        launch.Environment["ASAN_OPTIONS"].Split(':').Should().Contain(["abort_on_error=1", "symbolize=0"]);
    }

    [Fact]
    public void Launch_puts_one_seed_into_an_empty_corpus()
    {
        Directory.EnumerateFileSystemEntries(Dir.Corpus).Should().BeEmpty();

        _engine.Launch(Specs.AflPlusPlus(), Dir, TimeSpan.FromMinutes(5));

        Directory.GetFiles(Dir.Corpus).Should().ContainSingle().Which.Should().Match(f => new FileInfo(f).Length > 0);
    }

    [Fact]
    public void Launch_leaves_a_corpus_with_inputs_as_it_is()
    {
        var seed = _temp.Write("corpus/seed", "FUZ\u0008");

        _engine.Launch(Specs.AflPlusPlus(), Dir, TimeSpan.FromMinutes(5));

        Directory.GetFiles(Dir.Corpus).Should().Equal(seed);
    }

    [Fact]
    public void Reproduce_runs_the_target_on_the_input_with_symbolized_reports()
    {
        var input = Path.Combine(Dir.Output, "job", "crashes", "id:000000,sig:06,src:000000,time:8,execs:128,op:havoc,rep:2");

        var launch = _engine.Reproduce(Specs.AflPlusPlus(), Dir, input);

        launch.Program.Should().Be(Dir.Target);
        launch.Arguments.Should().Equal(input);
        launch.Environment["ASAN_OPTIONS"].Split(':').Should().Contain("symbolize=1");
    }

    [Fact]
    public void UsesAddressSanitizer_finds_the_marker_straddling_the_1_MiB_read_boundary()
    {
        var bytes = new byte[2 << 20];
        "__asan_init"u8.CopyTo(bytes.AsSpan((1 << 20) - 5));
        var target = _temp.Write("straddle", bytes);

        AflPlusPlusEngine.UsesAddressSanitizer(target).Should().BeTrue();
    }

    [Fact]
    public void UsesAddressSanitizer_finds_the_marker_in_a_later_chunk()
    {
        var bytes = new byte[3 << 20];
        "__asan_init"u8.CopyTo(bytes.AsSpan((2 << 20) + 100));
        var target = _temp.Write("later", bytes);

        AflPlusPlusEngine.UsesAddressSanitizer(target).Should().BeTrue();
    }

    [Fact]
    public void UsesAddressSanitizer_is_false_without_the_marker_even_when_its_halves_are_apart()
    {
        var bytes = new byte[2 << 20];
        "__asan_"u8.CopyTo(bytes.AsSpan((1 << 20) - 7));
        "init"u8.CopyTo(bytes.AsSpan((1 << 20) + 10));
        var target = _temp.Write("halves", bytes);

        AflPlusPlusEngine.UsesAddressSanitizer(target).Should().BeFalse();
    }

    [Fact]
    public void ReadStatsFiles_gives_the_exact_numbers_of_a_real_run()
    {
        LayOutRealRun(AflPlantedBugStats, Afl(AflPlantedBugPlot));

        var stats = _engine.ReadStatsFiles(Dir);

        stats.Should().NotBeNull();
        stats!.Execs.Should().Be(1_007_675);
        stats.Coverage.Should().Be(14, "edges_found");
        stats.TotalEdges.Should().Be(17);
        stats.Stability.Should().Be(100.0);
        stats.Crashes.Should().Be(2);
        stats.Hangs.Should().Be(0);
        stats.Imported.Should().Be(0);
        stats.CorpusUnits.Should().Be(11);
        stats.LastFindAt.Should().Be(DateTimeOffset.FromUnixTimeSeconds(1_795_709_326));
    }

    [Fact]
    public void ReadStatsFiles_takes_execs_and_edges_from_plot_data_when_it_is_newer_than_fuzzer_stats()
    {
        // fuzzer_stats as written at start (run_time 0, execs 15, edges 6), plot_data up to 70 s.
        LayOutRealRun(AflPlantedBugStatsAtStart, Afl(AflPlantedBugPlot));

        var stats = _engine.ReadStatsFiles(Dir);

        stats.Should().NotBeNull();
        stats!.Execs.Should().Be(1_007_675, "the plot_data row at 70 s is newer than fuzzer_stats at 0 s");
        stats.Coverage.Should().Be(14);
        stats.ExecsPerSecond.Should().Be(16_133);
        stats.TotalEdges.Should().Be(17);
        stats.Crashes.Should().Be(2, "the crashes dir already holds two crash files");
    }

    [Fact]
    public void ReadStatsFiles_reads_the_last_row_of_a_long_plot_data()
    {
        // A long run: the real header and first row, hundreds of later rows, the real last row at the end.
        var plot = Afl(AflPlantedBugPlot).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var filler = Enumerable.Range(0, 400).Select(i => $"{61 + i % 9}, 1, 1, 11, 0, 0, 80.00%, 2, 0, 3, 1.00, {500_000 + i}, 13");
        LayOutRealRun(AflPlantedBugStatsAtStart, string.Join('\n', [plot[0], plot[1], .. filler, plot[^1]]) + "\n");

        var stats = _engine.ReadStatsFiles(Dir);

        stats.Should().NotBeNull();
        stats!.Execs.Should().Be(1_007_675, "the last row of plot_data is the newest");
        stats.Coverage.Should().Be(14);
    }

    [Fact]
    public void ReadStatsFiles_takes_execs_from_fuzzer_stats_when_plot_data_is_older()
    {
        // plot_data's first row only (60 s, 847620 execs); fuzzer_stats at 70 s.
        var plot = Afl(AflPlantedBugPlot).Split('\n');
        LayOutRealRun(AflPlantedBugStats, plot[0] + "\n" + plot[1] + "\n");

        var stats = _engine.ReadStatsFiles(Dir);

        stats.Should().NotBeNull();
        stats!.Execs.Should().Be(1_007_675, "fuzzer_stats at 70 s is newer than the plot_data row at 60 s");
        stats.ExecsPerSecond.Should().Be(14_393);
    }

    [Fact]
    public void ReadStatsFiles_counts_imported_inputs_from_fuzzer_stats()
    {
        LayOutRealRun(AflPlantedBugStats, Afl(AflPlantedBugPlot));
        // The captured run was alone; as a synced run it would carry a non-zero corpus_imported.
        var stats = Afl(AflPlantedBugStats).Replace("corpus_imported   : 0\n", "corpus_imported   : 4\n");
        stats.Should().Contain("corpus_imported   : 4\n");
        _temp.Write($"{Instance}/fuzzer_stats", stats);

        _engine.ReadStatsFiles(Dir)!.Imported.Should().Be(4);
    }

    [Fact]
    public void ReadStatsFiles_is_null_when_fuzzer_stats_is_missing()
    {
        Directory.CreateDirectory(Path.Combine(Dir.Root, Instance));
        _temp.Write($"{Instance}/plot_data", Afl(AflPlantedBugPlot));

        _engine.ReadStatsFiles(Dir).Should().BeNull();
    }

    [Fact]
    public void ReadStatsFiles_is_null_when_the_output_dir_is_empty()
    {
        _engine.ReadStatsFiles(Dir).Should().BeNull();
    }

    [Fact]
    public void ReadStatsFiles_is_null_when_fuzzer_stats_is_empty()
    {
        LayOutRealRun(AflPlantedBugStats, Afl(AflPlantedBugPlot));
        _temp.Write($"{Instance}/fuzzer_stats", []);

        _engine.ReadStatsFiles(Dir).Should().BeNull();
    }

    [Fact]
    public void FindingKind_of_a_real_crash_file_is_crash()
    {
        var name = AflEntries(AflPlantedBugListing, "crashes").First(n => n.StartsWith("id:"));

        _engine.FindingKind(Path.Combine(Dir.Output, "job", "crashes", name)).Should().Be("crash");
    }

    [Fact]
    public void FindingKind_of_a_real_hang_file_is_timeout()
    {
        var name = AflEntries(AflHangListing, "hangs").Single();

        _engine.FindingKind(Path.Combine(Dir.Output, "job", "hangs", name)).Should().Be("timeout");
    }

    [Fact]
    public void FindingKind_of_the_crashes_readme_is_null()
    {
        AflEntries(AflPlantedBugListing, "crashes").Should().Contain("README.txt");

        _engine.FindingKind(Path.Combine(Dir.Output, "job", "crashes", "README.txt")).Should().BeNull();
    }

    [Fact]
    public void FindingKind_of_a_real_queue_entry_is_null()
    {
        var name = AflEntries(AflPlantedBugListing, "queue").First(n => n.StartsWith("id:000001"));

        _engine.FindingKind(Path.Combine(Dir.Output, "job", "queue", name)).Should().BeNull();
    }

    [Fact]
    public void Finding_directories_are_the_instance_crashes_and_hangs_and_must_be_polled()
    {
        _engine.FindingDirectories(Dir).Should().Equal(
            Path.Combine(Dir.Output, "job", "crashes"),
            Path.Combine(Dir.Output, "job", "hangs"));
        _engine.AnnouncesFindings.Should().BeFalse();
    }

    [Fact]
    public void IsCorpusEntry_is_true_for_every_real_queue_name()
    {
        var names = AflEntries(AflPlantedBugListing, "queue").Where(n => n != ".state").ToList();
        names.Should().HaveCount(11);

        names.Should().OnlyContain(n => _engine.IsCorpusEntry(Path.Combine(Dir.Output, "job", "queue", n)));
    }

    [Theory]
    [InlineData(".state")]
    [InlineData("README.txt")]
    public void IsCorpusEntry_is_false_for_state_and_readme(string name)
    {
        _engine.IsCorpusEntry(Path.Combine(Dir.Output, "job", "queue", name)).Should().BeFalse();
    }

    [Fact]
    public void New_inputs_appear_in_the_instance_queue()
    {
        _engine.CorpusDirectory(Dir).Should().Be(Path.Combine(Dir.Output, "job", "queue"));
    }

    [Fact]
    public void Imports_go_to_the_queue_of_a_foreign_pandafuzz_instance()
    {
        _engine.ImportDirectory(Dir).Should().Be(Path.Combine(Dir.Output, "pandafuzz", "queue"));
    }

    [Fact]
    public void An_imported_input_is_named_like_a_queue_entry_with_its_sequence_and_sha_prefix()
    {
        var input = BlobId.Of("FUZ\u0008"u8);

        var name = _engine.ImportFileName(input, 7);

        name.Should().MatchRegex("^id:000007,sync:pandafuzz,sha:[0-9a-f]{16}$");
        name.Should().Be($"id:000007,sync:pandafuzz,sha:{input.Sha256[..16]}");
        _engine.IsCorpusEntry(name).Should().BeTrue("afl-fuzz imports only files named like queue entries");
    }

    /// <summary>The value after <paramref name="flag"/>; fails when the flag is missing, repeated or last.</summary>
    private static string ValueOf(FuzzerLaunch launch, string flag)
    {
        launch.Arguments.Count(a => a == flag).Should().Be(1, $"{flag} appears once in {string.Join(' ', launch.Arguments)}");
        var at = launch.Arguments.ToList().IndexOf(flag);
        at.Should().BeLessThan(launch.Arguments.Count - 1, $"{flag} has a value");
        return launch.Arguments[at + 1];
    }

    /// <summary>A fake target: some bytes, with AddressSanitizer's runtime entry symbol in the middle when <paramref name="asan"/>.</summary>
    private void WriteTarget(bool asan)
    {
        var bytes = Encoding.ASCII.GetBytes("\u007fELF fake target " + (asan ? "__asan_init " : "") + "LLVMFuzzerTestOneInput");
        _temp.Write("target", bytes);
    }

    /// <summary>
    /// The output dir of the captured planted_bug run: fuzzer_stats and plot_data, and the crashes/ and queue/ names of its
    /// listing as empty files (hangs/ empty).
    /// </summary>
    private void LayOutRealRun(string statsFixture, string plotData)
    {
        _temp.Write($"{Instance}/fuzzer_stats", Afl(statsFixture));
        _temp.Write($"{Instance}/plot_data", plotData);
        Directory.CreateDirectory(Path.Combine(Dir.Root, Instance, "hangs"));
        foreach (var entry in AflListing(AflPlantedBugListing))
        {
            _temp.Write($"{Instance}/{entry}", []);
        }
    }
}
