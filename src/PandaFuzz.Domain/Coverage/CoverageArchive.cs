using System.IO.Compression;
using System.Text;
using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Coverage;

/// <summary>
/// A coverage report as a bot sends it: one zip holding llvm-cov's JSON summary (<see cref="SummaryEntry"/>) and the
/// HTML report under <see cref="HtmlFolder"/>. The master journals the summary; the API serves the HTML files.
/// </summary>
public static class CoverageArchive
{
    public const string SummaryEntry = "summary.json";

    public const string HtmlFolder = "html/";

    public const string IndexPage = "index.html";

    /// <summary>The zip's largest size: a bot refuses to send more, the master to fetch more.</summary>
    public const long MaxBytes = 256L * 1024 * 1024;

    /// <summary>The largest summary read; llvm-cov's is some 400 bytes per source file.</summary>
    public const long MaxSummaryBytes = 32L * 1024 * 1024;

    /// <summary>The largest file of the HTML report a bot zips (and the API serves).</summary>
    public const long MaxPageBytes = 64L * 1024 * 1024;

    /// <summary>What the HTML report's files may hold together before they are zipped.</summary>
    public const long MaxUnzippedBytes = 1024L * 1024 * 1024;

    /// <summary>One page per source file (<see cref="LlvmCovExport.MaxFiles"/>), the index and a few more.</summary>
    public const int MaxReportFiles = LlvmCovExport.MaxFiles + 100;

    public const int MaxRequestPathChars = 1024;

    /// <summary>The summary in the zip, as <see cref="LlvmCovExport.Parse"/> reads it; throws <see cref="InvalidDataException"/>.</summary>
    public static (CoverageTotals Totals, IReadOnlyList<CoverageFile> Files) ReadSummary(Stream zip)
    {
        using var archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
        var entry = archive.GetEntry(SummaryEntry) ?? throw new InvalidDataException($"the coverage report holds no {SummaryEntry}");
        if (entry.Length > MaxSummaryBytes)
        {
            throw new InvalidDataException($"the coverage report's {SummaryEntry} is {entry.Length} bytes, more than {MaxSummaryBytes}");
        }

        using var reader = new StreamReader(entry.Open(), Encoding.UTF8);
        return LlvmCovExport.Parse(reader.ReadToEnd());
    }

    /// <summary>
    /// The zip entry a request's path under the report names (the index for none), or null when the path is not one
    /// of the report's own: an absolute path, a dot segment, an empty segment, a backslash or a control character.
    /// </summary>
    public static string? HtmlEntry(string? requestPath)
    {
        if (string.IsNullOrEmpty(requestPath))
        {
            return HtmlFolder + IndexPage;
        }

        if (requestPath.Length > MaxRequestPathChars || requestPath.Any(c => char.IsControl(c) || c == '\\'))
        {
            return null;
        }

        var segments = requestPath.Split('/');
        return segments.Any(s => s is "" or "." or "..") ? null : HtmlFolder + requestPath;
    }

    /// <summary>The content type a report file is served with: only kinds a browser renders harmlessly, else bytes.</summary>
    public static string ContentType(string entryName) => Path.GetExtension(entryName).ToLowerInvariant() switch
    {
        ".html" or ".htm" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".txt" => "text/plain; charset=utf-8",
        ".json" => "application/json",
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".gif" => "image/gif",
        _ => "application/octet-stream",
    };
}
