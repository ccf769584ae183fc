namespace PandaFuzz.Protocol;

/// <summary>Lines, functions or regions of code: how many of them ran at least once, of how many there are.</summary>
public sealed record CoverageCount(long Covered, long Count)
{
    public long Uncovered => Count - Covered;

    /// <summary>0 to 100, two decimals; nothing to cover is 0.</summary>
    public double Percent => Count == 0 ? 0 : Math.Round(100.0 * Covered / Count, 2);
}

/// <summary>Line, function and region coverage of a whole report or of one source file.</summary>
public sealed record CoverageTotals(CoverageCount Lines, CoverageCount Functions, CoverageCount Regions);

/// <summary>One source file of a coverage report, by the path the coverage build names it with.</summary>
public sealed record CoverageFile(string Path, CoverageTotals Coverage);

/// <summary>
/// What one coverage job measured, without its files: the build and the corpus version (and its number of inputs) it
/// ran, the totals, and the report (the HTML report and llvm-cov's JSON summary, zipped) in the blob store.
/// </summary>
public sealed record CoverageSummary(
    JobId JobId,
    int? Build,
    int CorpusVersion,
    int Inputs,
    CoverageTotals Totals,
    int Files,
    BlobId Report,
    long ReportSize,
    DateTimeOffset MeasuredAt);

/// <summary>How a coverage report's files are listed: most uncovered lines first, or by path.</summary>
public enum CoverageFileOrder
{
    Uncovered,
    Name,
}
