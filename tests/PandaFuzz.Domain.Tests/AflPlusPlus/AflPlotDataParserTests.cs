using FluentAssertions;
using PandaFuzz.Domain.Engines.AflPlusPlus;
using Xunit;
using static PandaFuzz.Domain.Tests.AflPlusPlus.AflFixtures;

namespace PandaFuzz.Domain.Tests.AflPlusPlus;

public sealed class AflPlotDataParserTests
{
    private static readonly AflPlotRow[] PlantedBugRows =
    [
        new(RelativeTimeSeconds: 60, CyclesDone: 105, CurrentItem: 9, CorpusCount: 11, PendingTotal: 0, PendingFavs: 0,
            BitmapCoverage: 82.35, SavedCrashes: 2, SavedHangs: 0, MaxDepth: 2, ExecsPerSecond: 17215.77,
            TotalExecs: 847620, EdgesFound: 14),
        new(65, 117, 5, 11, 0, 0, 82.35, 2, 0, 2, 18116.21, 937922, 14),
        new(70, 127, 9, 11, 0, 0, 82.35, 2, 0, 2, 16133.29, 1007675, 14),
    ];

    [Fact]
    public void Rows_of_a_crashing_run_are_read_exactly_and_in_order()
    {
        var rows = AflPlotDataParser.Parse(Read(PlantedBugPlot));

        rows.Should().Equal(PlantedBugRows);
    }

    [Fact]
    public void Rows_of_a_run_without_crashes_are_read()
    {
        var rows = AflPlotDataParser.Parse(Read(NoBugPlot));

        rows.Select(r => r.RelativeTimeSeconds).Should().Equal(60, 66, 70);
        rows.Should().OnlyContain(r => r.SavedCrashes == 0 && r.EdgesFound == 9 && r.BitmapCoverage == 81.82);
        rows[^1].Should().Be(new AflPlotRow(70, 70, 17, 25, 0, 0, 81.82, 0, 0, 3, 31305.33, 1370225, 9));
    }

    [Fact]
    public void Rows_of_a_run_that_hung_carry_the_hang()
    {
        var rows = AflPlotDataParser.Parse(Read(HangPlot));

        rows.Should().HaveCount(3);
        rows.Should().OnlyContain(r => r.SavedHangs == 1 && r.SavedCrashes == 0);
        rows[0].Should().Be(new AflPlotRow(62, 239, 3, 5, 0, 0, 87.5, 0, 1, 2, 2549.38, 1173529, 7));
    }

    [Fact]
    public void The_last_row_of_plot_data_matches_the_final_fuzzer_stats()
    {
        var last = AflPlotDataParser.ParseLast(Read(PlantedBugPlot));
        var stats = AflFuzzerStatsParser.Parse(Read(PlantedBugStats));

        last.Should().Be(PlantedBugRows[^1]);
        last!.TotalExecs.Should().Be(stats.ExecsDone);
        last.EdgesFound.Should().Be(stats.EdgesFound);
        last.SavedCrashes.Should().Be(stats.SavedCrashes);
        last.BitmapCoverage.Should().Be(stats.BitmapCoverage);
    }

    [Fact]
    public void Columns_are_found_by_name_whatever_their_order()
    {
        var reversed = MapLines(Read(PlantedBugPlot), (_, fields) => fields.Reverse());

        AflPlotDataParser.Parse(reversed).Should().Equal(PlantedBugRows);
        AflPlotDataParser.ParseLast(reversed).Should().Be(PlantedBugRows[^1]);
    }

    [Fact]
    public void Extra_columns_of_newer_versions_are_ignored()
    {
        var wider = MapLines(
            Read(PlantedBugPlot),
            (isHeader, fields) => fields.Take(3)
                .Append(isHeader ? "servers_count" : "1")
                .Concat(fields.Skip(3))
                .Append(isHeader ? "total_crashes" : "2"));
        wider.Should().StartWith("# relative_time, cycles_done, cur_item, servers_count, corpus_count");

        AflPlotDataParser.Parse(wider).Should().Equal(PlantedBugRows);
    }

    [Fact]
    public void A_row_with_more_or_fewer_fields_than_the_header_is_skipped()
    {
        // total_crashes is last and not read, so only the field count gives these rows away.
        var wider = MapLines(Read(PlantedBugPlot), (isHeader, fields) => fields.Append(isHeader ? "total_crashes" : "2"));
        var text = wider
            + "75, 137, 9, 11, 0, 0, 82.35%, 2, 0, 2, 16543.10, 1090000, 14, 2, 99\n"
            + "80, 140, 9, 11, 0, 0, 82.35%, 2, 0, 2, 16543.10, 1190000, 14\n";

        AflPlotDataParser.Parse(text).Should().Equal(PlantedBugRows);
        AflPlotDataParser.ParseLast(text).Should().Be(PlantedBugRows[^1]);
    }

    [Fact]
    public void A_row_still_being_written_is_skipped()
    {
        // Same field count as a real row, but cut inside its last value and with no newline yet.
        var text = Read(PlantedBugPlot) + "75, 137, 9, 11, 0, 0, 82.35%, 2, 0, 2, 16543.10, 1090000, 1";

        AflPlotDataParser.Parse(text).Should().Equal(PlantedBugRows);
        AflPlotDataParser.ParseLast(text).Should().Be(PlantedBugRows[^1]);
    }

    [Fact]
    public void Malformed_lines_are_skipped()
    {
        var text = Read(PlantedBugPlot);
        var headerEnd = text.IndexOf('\n') + 1;
        var withJunk = text[..headerEnd]
            + "garbage\n"
            + "\n"
            + "61, 1, 2\n"
            + "62, x, 9, 11, 0, 0, 82.35%, 2, 0, 2, 17215.77, 847620, 14\n"
            + "63, 1, 9, 11, 0, 0, 82.35%, 2, 0, 2, 17215.77, 847620, 14, 99\n"
            + "64, 1, 9, 11, 0, 0, 82.35%, 2, 0, 2, 17215.77, -847620, 14\n"
            + text[headerEnd..]
            + "# a comment\n"
            + "not, a, row\n";

        AflPlotDataParser.Parse(withJunk).Should().Equal(PlantedBugRows);
        AflPlotDataParser.ParseLast(withJunk).Should().Be(PlantedBugRows[^1]);
    }

    [Fact]
    public void Inf_or_nan_speed_keeps_the_row_with_zero()
    {
        var text = Read(PlantedBugPlot).Replace("17215.77", "inf", StringComparison.Ordinal)
            .Replace("16133.29", "-nan", StringComparison.Ordinal);

        var rows = AflPlotDataParser.Parse(text);

        rows.Select(r => r.ExecsPerSecond).Should().Equal(0, 18116.21, 0);
        rows[0].TotalExecs.Should().Be(847620);
    }

    [Fact]
    public void CRLF_line_ends_are_accepted()
    {
        var text = Read(NoBugPlot).Replace("\n", "\r\n", StringComparison.Ordinal);

        AflPlotDataParser.Parse(text).Should().Equal(AflPlotDataParser.Parse(Read(NoBugPlot)));
        AflPlotDataParser.ParseLast(text).Should().Be(AflPlotDataParser.Parse(Read(NoBugPlot))[^1]);
    }

    [Fact]
    public void Header_only_gives_no_rows()
    {
        // What plot_data holds during the first minute of a run.
        var text = Read(PlantedBugPlot);
        var headerOnly = text[..(text.IndexOf('\n') + 1)];

        AflPlotDataParser.Parse(headerOnly).Should().BeEmpty();
        AflPlotDataParser.ParseLast(headerOnly).Should().BeNull();
    }

    [Theory]
    [InlineData("")]
    [InlineData("# relative_time, cycles_done, cur_it")]
    [InlineData("60, 105, 9, 11, 0, 0, 82.35%, 2, 0, 2, 17215.77, 847620, 14\n")]
    public void Text_without_a_complete_header_gives_no_rows(string text)
    {
        AflPlotDataParser.Parse(text).Should().BeEmpty();
        AflPlotDataParser.ParseLast(text).Should().BeNull();
    }

    [Fact]
    public void A_header_missing_a_needed_column_gives_no_rows()
    {
        var text = Read(PlantedBugPlot).Replace("edges_found", "edges", StringComparison.Ordinal);

        AflPlotDataParser.Parse(text).Should().BeEmpty();
        AflPlotDataParser.ParseLast(text).Should().BeNull();
    }

    [Fact]
    public void Rows_above_the_header_are_not_rows()
    {
        var text = Read(PlantedBugPlot);
        var headerEnd = text.IndexOf('\n') + 1;
        var moved = text[headerEnd..] + text[..headerEnd];

        AflPlotDataParser.Parse(moved).Should().BeEmpty();
        AflPlotDataParser.ParseLast(moved).Should().BeNull();
    }

    [Fact]
    public void The_header_must_be_the_first_line()
    {
        var text = "junk before the header\n" + Read(PlantedBugPlot);

        AflPlotDataParser.Parse(text).Should().BeEmpty();
        AflPlotDataParser.ParseLast(text).Should().BeNull();
    }

    [Theory]
    [InlineData(PlantedBugPlot)]
    [InlineData(NoBugPlot)]
    [InlineData(HangPlot)]
    public void ParseLast_gives_the_last_row_Parse_gives(string fixture)
    {
        var text = Read(fixture);

        AflPlotDataParser.ParseLast(text).Should().Be(AflPlotDataParser.Parse(text)[^1]);
    }

    // Applies a change to the comma-separated fields of every line (for the header: the column names, "# " put back after).
    private static string MapLines(string text, Func<bool, string[], IEnumerable<string>> change)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            var isHeader = lines[i].StartsWith("# ", StringComparison.Ordinal);
            var fields = (isHeader ? lines[i][2..] : lines[i]).Split(", ");
            lines[i] = (isHeader ? "# " : string.Empty) + string.Join(", ", change(isHeader, fields));
        }

        return string.Join('\n', lines);
    }
}
