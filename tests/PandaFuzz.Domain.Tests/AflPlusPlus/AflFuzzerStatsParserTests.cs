using FluentAssertions;
using PandaFuzz.Domain.Engines.AflPlusPlus;
using Xunit;
using static PandaFuzz.Domain.Tests.AflPlusPlus.AflFixtures;

namespace PandaFuzz.Domain.Tests.AflPlusPlus;

public sealed class AflFuzzerStatsParserTests
{
    [Fact]
    public void Final_stats_of_a_crashing_run_give_every_field()
    {
        var text = Read(PlantedBugStats);

        var stats = AflFuzzerStatsParser.Parse(text);

        stats.Should().Be(new AflFuzzerStats
        {
            StartTime = Unix(1795709325),
            LastUpdate = Unix(1795709395),
            RunTimeSeconds = 70,
            FuzzerPid = 1188,
            CyclesDone = 127,
            CyclesWithoutFinds = 126,
            ExecsDone = 1007675,
            ExecsPerSecond = 14393.51,
            ExecsPerSecondLastMinute = 13930.15,
            CorpusCount = 11,
            CorpusFavored = 7,
            CorpusFound = 10,
            CorpusImported = 0,
            MaxDepth = 2,
            CurrentItem = 9,
            PendingFavs = 0,
            PendingTotal = 0,
            Stability = 100.0,
            BitmapCoverage = 82.35,
            SavedCrashes = 2,
            SavedHangs = 0,
            LastFind = Unix(1795709326),
            LastCrash = Unix(1795709325),
            LastHang = null,
            ExecsSinceCrash = 1005796,
            ExecTimeoutMs = 1000,
            SlowestExecMs = 0,
            PeakRssMb = 0,
            EdgesFound = 14,
            TotalEdges = 17,
            AflBanner = "./planted_bug_afl",
            AflVersion = "++4.04c",
            TargetMode = "persistent shmem_testcase deferred",
            CommandLine = "afl-fuzz -i seeds_pb -o out_pb -m none -t 1000 -V 70 -- ./planted_bug_afl",
        });
    }

    [Fact]
    public void Stats_of_a_run_without_crashes_give_null_last_crash_and_its_own_numbers()
    {
        var stats = AflFuzzerStatsParser.Parse(Read(NoBugStats));

        stats.ExecsDone.Should().Be(1370225);
        stats.ExecsPerSecond.Should().Be(19572.69);
        stats.CorpusCount.Should().Be(25);
        stats.CorpusFound.Should().Be(24);
        stats.SavedCrashes.Should().Be(0);
        stats.LastCrash.Should().BeNull();
        stats.LastHang.Should().BeNull();
        stats.LastFind.Should().Be(Unix(1795709336));
        stats.EdgesFound.Should().Be(9);
        stats.TotalEdges.Should().Be(11);
        stats.BitmapCoverage.Should().Be(81.82);
        stats.FuzzerPid.Should().Be(1190);
    }

    [Fact]
    public void Stats_of_a_run_that_hung_give_the_hang_count_and_time()
    {
        var stats = AflFuzzerStatsParser.Parse(Read(HangStats));

        stats.SavedHangs.Should().Be(1);
        stats.LastHang.Should().Be(Unix(1795709423));
        stats.SavedCrashes.Should().Be(0);
        stats.LastCrash.Should().BeNull();
        stats.ExecsDone.Should().Be(1427308);
        stats.EdgesFound.Should().Be(7);
        stats.TotalEdges.Should().Be(8);
        stats.BitmapCoverage.Should().Be(87.5);
    }

    [Fact]
    public void Stats_written_at_start_read_inf_execs_per_second_as_zero()
    {
        var text = Read(PlantedBugStatsAtStart);
        text.Should().Contain("execs_per_sec     : inf\n", "the fixture is the file AFL++ writes before any time has passed");

        var stats = AflFuzzerStatsParser.Parse(text);

        stats.ExecsPerSecond.Should().Be(0);
        stats.RunTimeSeconds.Should().Be(0);
        stats.ExecsDone.Should().Be(15);
        stats.CorpusCount.Should().Be(2);
        stats.BitmapCoverage.Should().Be(35.29);
        stats.EdgesFound.Should().Be(6);
        stats.LastUpdate.Should().Be(stats.StartTime);
        stats.LastFind.Should().Be(Unix(1795709325));
    }

    [Fact]
    public void Truncated_file_keeps_the_complete_lines_and_ignores_the_cut_one()
    {
        var text = Read(PlantedBugStatsTruncated);
        text.Should().EndWith("execs_per_sec     : 143", "the fixture is cut inside a value");

        var stats = AflFuzzerStatsParser.Parse(text);

        stats.StartTime.Should().Be(Unix(1795709325));
        stats.CyclesDone.Should().Be(127);
        stats.ExecsDone.Should().Be(1007675);
        stats.ExecsPerSecond.Should().Be(0, "\"143\" is a prefix of 14393.51, not a value");
        stats.CorpusCount.Should().Be(0);
        stats.SavedCrashes.Should().Be(0);
        stats.LastCrash.Should().BeNull();
        stats.CommandLine.Should().BeNull();
    }

    [Fact]
    public void TryParse_accepts_a_truncated_file_that_already_has_execs_done()
    {
        AflFuzzerStatsParser.TryParse(Read(PlantedBugStatsTruncated), out var stats).Should().BeTrue();

        stats!.ExecsDone.Should().Be(1007675);
    }

    [Fact]
    public void TryParse_accepts_a_whole_file()
    {
        AflFuzzerStatsParser.TryParse(Read(HangStats), out var stats).Should().BeTrue();

        stats.Should().Be(AflFuzzerStatsParser.Parse(Read(HangStats)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    [InlineData("execs_done        : 1007675")] // still being written: no newline yet
    [InlineData("execs_done        : \n")]
    [InlineData("execs_done        : many\n")]
    public void TryParse_rejects_text_without_a_readable_execs_done(string text)
    {
        AflFuzzerStatsParser.TryParse(text, out var stats).Should().BeFalse();

        stats.Should().BeNull();
    }

    [Fact]
    public void TryParse_rejects_a_real_file_cut_before_execs_done()
    {
        var text = Read(PlantedBugStats);
        var cut = text[..text.IndexOf("execs_done", StringComparison.Ordinal)];

        AflFuzzerStatsParser.TryParse(cut, out var stats).Should().BeFalse();

        stats.Should().BeNull();
        AflFuzzerStatsParser.Parse(cut).CyclesDone.Should().Be(127, "Parse still reads what is there");
    }

    [Fact]
    public void Unknown_keys_are_ignored_and_missing_keys_keep_their_defaults()
    {
        const string text =
            "some_future_key   : 42\n" +
            "execs_done        : 3\n" +
            "virgin_bytes     : 1[fe] 7[fd]\n" +
            "not a key value line\n";

        var stats = AflFuzzerStatsParser.Parse(text);

        stats.Should().Be(new AflFuzzerStats { ExecsDone = 3 });
        stats.StartTime.Should().Be(DateTimeOffset.UnixEpoch);
        stats.LastFind.Should().BeNull();
        stats.AflVersion.Should().BeNull();
    }

    [Fact]
    public void Key_names_from_before_AFL_plus_plus_4_are_read()
    {
        const string text =
            "execs_done        : 9\n" +
            "paths_total       : 7\n" +
            "paths_favored     : 2\n" +
            "paths_found       : 6\n" +
            "paths_imported    : 1\n" +
            "cur_path          : 3\n" +
            "unique_crashes    : 4\n" +
            "unique_hangs      : 5\n" +
            "last_path         : 1600000000\n";

        var stats = AflFuzzerStatsParser.Parse(text);

        stats.Should().Be(new AflFuzzerStats
        {
            ExecsDone = 9,
            CorpusCount = 7,
            CorpusFavored = 2,
            CorpusFound = 6,
            CorpusImported = 1,
            CurrentItem = 3,
            SavedCrashes = 4,
            SavedHangs = 5,
            LastFind = Unix(1600000000),
        });
    }

    [Fact]
    public void A_value_keeps_its_colons_and_CRLF_line_ends_are_accepted()
    {
        var text = Read(PlantedBugStats).Replace("\n", "\r\n", StringComparison.Ordinal)
            .Replace("-- ./planted_bug_afl\r\n", "-- ./planted_bug_afl -opt=a:b @@\r\n", StringComparison.Ordinal);

        var stats = AflFuzzerStatsParser.Parse(text);

        stats.CommandLine.Should().Be("afl-fuzz -i seeds_pb -o out_pb -m none -t 1000 -V 70 -- ./planted_bug_afl -opt=a:b @@");
        stats.ExecsDone.Should().Be(1007675);
        stats.Stability.Should().Be(100.0);
    }

    [Fact]
    public void Out_of_range_times_and_negative_counts_read_as_defaults()
    {
        const string text =
            "execs_done        : -5\n" +
            "start_time        : 99999999999999\n" +
            "last_crash        : 99999999999999\n" +
            "saved_crashes     : 18446744073709551616\n";

        var stats = AflFuzzerStatsParser.Parse(text);

        stats.Should().Be(new AflFuzzerStats());
    }
}
