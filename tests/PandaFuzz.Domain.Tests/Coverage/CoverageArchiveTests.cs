using System.IO.Compression;
using FluentAssertions;
using PandaFuzz.Domain.Coverage;
using Xunit;

namespace PandaFuzz.Domain.Tests.Coverage;

/// <summary>A coverage report's zip: the summary the master reads, and which request paths name a page of it.</summary>
public sealed class CoverageArchiveTests
{
    [Theory]
    [InlineData(null, "html/index.html")]
    [InlineData("", "html/index.html")]
    [InlineData("index.html", "html/index.html")]
    [InlineData("style.css", "html/style.css")]
    [InlineData("coverage/tmp/src/parser.c.html", "html/coverage/tmp/src/parser.c.html")]
    public void A_path_under_the_report_names_its_page(string? path, string entry)
    {
        CoverageArchive.HtmlEntry(path).Should().Be(entry);
    }

    [Theory]
    [InlineData("../summary.json")]
    [InlineData("coverage/../../summary.json")]
    [InlineData("..")]
    [InlineData("./index.html")]
    [InlineData("/etc/passwd")]
    [InlineData("coverage//parser.c.html")]
    [InlineData("coverage\\..\\..\\summary.json")]
    [InlineData("index.html\u0000.png")]
    public void A_path_that_leaves_the_report_or_is_not_plain_names_nothing(string path)
    {
        CoverageArchive.HtmlEntry(path).Should().BeNull();
        CoverageArchive.HtmlEntry(new string('a', CoverageArchive.MaxRequestPathChars + 1)).Should().BeNull();
    }

    [Theory]
    [InlineData("html/index.html", "text/html; charset=utf-8")]
    [InlineData("html/style.css", "text/css; charset=utf-8")]
    [InlineData("html/logo.PNG", "image/png")]
    [InlineData("html/control.js", "application/octet-stream")]
    [InlineData("html/drawing.svg", "application/octet-stream")]
    [InlineData("html/README", "application/octet-stream")]
    public void Pages_are_served_as_kinds_a_browser_renders_harmlessly(string entry, string contentType)
    {
        CoverageArchive.ContentType(entry).Should().Be(contentType);
    }

    [Fact]
    public void The_summary_is_read_from_the_zip_and_a_zip_without_one_is_refused()
    {
        var summary = """
            {"type":"llvm.coverage.json.export","version":"2.0.1","data":[{"files":[{"filename":"/src/a.c","summary":{
            "lines":{"count":10,"covered":4},"functions":{"count":2,"covered":1},"regions":{"count":8,"covered":3}}}],
            "totals":{"lines":{"count":10,"covered":4},"functions":{"count":2,"covered":1},"regions":{"count":8,"covered":3}}}]}
            """;

        var (totals, files) = CoverageArchive.ReadSummary(Zip((CoverageArchive.SummaryEntry, summary), ("html/index.html", "<html></html>")));
        var missing = () => CoverageArchive.ReadSummary(Zip(("html/index.html", "<html></html>")));

        totals.Lines.Covered.Should().Be(4);
        files.Should().ContainSingle().Which.Path.Should().Be("/src/a.c");
        missing.Should().Throw<InvalidDataException>().WithMessage("*summary.json*");
    }

    private static MemoryStream Zip(params (string Name, string Text)[] entries)
    {
        var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in entries)
            {
                using var writer = new StreamWriter(zip.CreateEntry(name).Open());
                writer.Write(text);
            }
        }

        stream.Position = 0;
        return stream;
    }
}
