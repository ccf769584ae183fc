using FluentAssertions;
using PandaFuzz.Domain.Coverage;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Domain.Tests.Coverage;

/// <summary>
/// llvm-cov's JSON summary as llvm-cov 14 wrote it for tests/targets/coverage_demo.c over the seeds A12, Bonjour and xyz
/// (Fixtures/llvm-cov), and what is refused.
/// </summary>
public sealed class LlvmCovExportTests
{
    private static string Fixture(string name) => System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "llvm-cov", name));

    [Fact]
    public void A_real_summary_gives_the_totals_and_each_source_files_counts()
    {
        var (totals, files) = LlvmCovExport.Parse(Fixture("coverage_demo.summary.json"));

        files.Select(f => Path.GetFileName(f.Path)).Should().Equal("coverage_demo.c", "coverage_demo_checks.h");
        files.Should().OnlyContain(f => Path.IsPathRooted(f.Path));
        totals.Lines.Should().Be(new CoverageCount(files.Sum(f => f.Coverage.Lines.Covered), files.Sum(f => f.Coverage.Lines.Count)));
        totals.Functions.Should().Be(new CoverageCount(files.Sum(f => f.Coverage.Functions.Covered), files.Sum(f => f.Coverage.Functions.Count)));
        totals.Regions.Should().Be(new CoverageCount(files.Sum(f => f.Coverage.Regions.Covered), files.Sum(f => f.Coverage.Regions.Count)));
        // The seeds A12, Bonjour and xyz: 'C' (deep_check) never runs.
        files[0].Coverage.Should().Be(new CoverageTotals(new CoverageCount(16, 18), new CoverageCount(2, 2), new CoverageCount(8, 9)));
        files[1].Coverage.Should().Be(new CoverageTotals(new CoverageCount(21, 28), new CoverageCount(2, 3), new CoverageCount(16, 32)));
        totals.Lines.Percent.Should().Be(80.43);
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("{\"type\":\"something.else\",\"data\":[]}", "type")]
    [InlineData("{\"type\":\"llvm.coverage.json.export\",\"data\":[]}", "no data")]
    [InlineData("{\"type\":\"llvm.coverage.json.export\",\"data\":[{\"files\":[]}]}", "totals")]
    public void What_is_not_a_summary_is_refused_saying_why(string json, string why)
    {
        var parse = () => LlvmCovExport.Parse(json);

        parse.Should().Throw<InvalidDataException>().WithMessage($"*{why}*");
    }

    [Fact]
    public void Counts_that_cannot_be_are_refused()
    {
        var covered = Summary(File("/src/a.c", lines: (5, 4)));
        var negative = Summary(File("/src/a.c", lines: (-1, 4)));
        var fraction = Summary(File("/src/a.c", lines: (1, 4)).Replace("\"count\":4", "\"count\":4.5", StringComparison.Ordinal));

        ((Action)(() => LlvmCovExport.Parse(covered))).Should().Throw<InvalidDataException>().WithMessage("*/src/a.c: lines has 5 covered of 4*");
        ((Action)(() => LlvmCovExport.Parse(negative))).Should().Throw<InvalidDataException>().WithMessage("*covered is not a whole number*");
        ((Action)(() => LlvmCovExport.Parse(fraction))).Should().Throw<InvalidDataException>().WithMessage("*count is not a whole number*");
    }

    [Fact]
    public void File_names_are_bounded_data()
    {
        var control = Summary(File("/src/a\\u0007.c"));
        var tooMany = Summary([.. Enumerable.Range(0, LlvmCovExport.MaxFiles + 1).Select(i => File($"/src/{i}.c"))]);

        ((Action)(() => LlvmCovExport.Parse(control))).Should().Throw<InvalidDataException>().WithMessage("*control characters*");
        ((Action)(() => LlvmCovExport.Parse(tooMany))).Should().Throw<InvalidDataException>().WithMessage($"*more than the {LlvmCovExport.MaxFiles}*");
        LlvmCovExport.Parse(Summary(File("/src/ok.c"))).Files.Should().ContainSingle().Which.Path.Should().Be("/src/ok.c");
    }

    [Fact]
    public void Files_rank_by_uncovered_lines_then_path_or_by_path()
    {
        CoverageFile Of(string path, long covered, long count) => new(path, new CoverageTotals(new(covered, count), new(0, 0), new(0, 0)));
        var files = new[] { Of("/b.c", 10, 20), Of("/a.c", 0, 10), Of("/c.c", 5, 15) };

        CoverageRanking.Order(files, CoverageFileOrder.Uncovered).Select(f => f.Path).Should().Equal("/a.c", "/b.c", "/c.c");
        CoverageRanking.Order(files, CoverageFileOrder.Name).Select(f => f.Path).Should().Equal("/a.c", "/b.c", "/c.c");
        CoverageRanking.Order([Of("/z.c", 0, 3), Of("/y.c", 0, 9)], CoverageFileOrder.Uncovered).Select(f => f.Path).Should().Equal("/y.c", "/z.c");
    }

    private static string Counts((long Covered, long Count) c) => $"{{\"count\":{c.Count},\"covered\":{c.Covered},\"percent\":0}}";

    private static string File(string name, (long, long)? lines = null) =>
        $"{{\"filename\":\"{name}\",\"summary\":{{\"lines\":{Counts(lines ?? (1, 2))},\"functions\":{Counts((1, 1))},\"regions\":{Counts((1, 3))}}}}}";

    private static string Summary(params string[] files) =>
        $"{{\"type\":\"llvm.coverage.json.export\",\"version\":\"2.0.1\",\"data\":[{{\"files\":[{string.Join(',', files)}],\"totals\":{{\"lines\":{Counts((1, 2))},\"functions\":{Counts((1, 1))},\"regions\":{Counts((1, 3))}}}}}]}}";
}
