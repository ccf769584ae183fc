using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>A coverage measurement under way: follow its job; the campaign's coverage changes once it reports.</summary>
public sealed record CoverageJobResponse(string CampaignId, string JobId, int Build);

/// <summary>How many lines, functions or regions ran at least once (<c>covered</c>) of how many there are, and the percentage.</summary>
public sealed record CoverageCountResponse(long Covered, long Count, double Percent)
{
    public static CoverageCountResponse From(CoverageCount c) => new(c.Covered, c.Count, c.Percent);
}

public sealed record CoverageTotalsResponse(CoverageCountResponse Lines, CoverageCountResponse Functions, CoverageCountResponse Regions)
{
    public static CoverageTotalsResponse From(CoverageTotals t) =>
        new(CoverageCountResponse.From(t.Lines), CoverageCountResponse.From(t.Functions), CoverageCountResponse.From(t.Regions));
}

/// <summary>
/// A campaign's latest coverage report: the job, build and corpus version (with its number of inputs) it measured, when,
/// the totals, how many source files it covers, where its HTML pages are (<c>reportUrl</c>), the coverage job under way
/// (<c>measuringJobId</c>) and the totals of the measurements so far, oldest first.
/// </summary>
public sealed record CoverageResponse(
    string CampaignId,
    string JobId,
    int? Build,
    int CorpusVersion,
    int Inputs,
    DateTimeOffset MeasuredAt,
    CoverageTotalsResponse Totals,
    int Files,
    string ReportId,
    long ReportSize,
    string ReportUrl,
    string? MeasuringJobId,
    IReadOnlyList<CoveragePointResponse> History)
{
    /// <summary>The measured build's source root (given with its upload): files' <c>relativePath</c> is relative to it.</summary>
    public string? SourceRoot { get; init; }

    public static CoverageResponse From(CampaignId campaign, CoverageSummary latest, IReadOnlyList<CoverageSummary> history, JobId? measuring, string? sourceRoot) =>
        new(campaign.Value, latest.JobId.Value, latest.Build, latest.CorpusVersion, latest.Inputs, latest.MeasuredAt, CoverageTotalsResponse.From(latest.Totals),
            latest.Files, latest.Report.Sha256, latest.ReportSize, $"/api/v1/campaigns/{campaign.Value}/coverage/report/", measuring?.Value,
            [.. history.Select(CoveragePointResponse.From)])
        {
            SourceRoot = sourceRoot,
        };
}

/// <summary>One earlier measurement's totals.</summary>
public sealed record CoveragePointResponse(string JobId, int? Build, int CorpusVersion, int Inputs, DateTimeOffset MeasuredAt, CoverageTotalsResponse Totals)
{
    public static CoveragePointResponse From(CoverageSummary s) =>
        new(s.JobId.Value, s.Build, s.CorpusVersion, s.Inputs, s.MeasuredAt, CoverageTotalsResponse.From(s.Totals));
}

/// <summary>
/// One source file of the report, by the path the coverage build names it with, and by <c>relativePath</c>, relative to
/// the build's source root when it is under it; <c>uncoveredLines</c> is what it is ranked by.
/// </summary>
public sealed record CoverageFileResponse(string Path, CoverageCountResponse Lines, CoverageCountResponse Functions, CoverageCountResponse Regions, long UncoveredLines)
{
    public string? RelativePath { get; init; }

    public static CoverageFileResponse From(CoverageFile f, TargetBuild? build) =>
        new(f.Path, CoverageCountResponse.From(f.Coverage.Lines), CoverageCountResponse.From(f.Coverage.Functions), CoverageCountResponse.From(f.Coverage.Regions),
            f.Coverage.Lines.Uncovered)
        {
            RelativePath = build?.Relative(f.Path),
        };
}
