using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Coverage;

/// <summary>The order a coverage report's files are listed in.</summary>
public static class CoverageRanking
{
    /// <summary>Most uncovered lines first (then by path), or by path; paths compare ordinally.</summary>
    public static IEnumerable<CoverageFile> Order(IEnumerable<CoverageFile> files, CoverageFileOrder order) => order switch
    {
        CoverageFileOrder.Name => files.OrderBy(f => f.Path, StringComparer.Ordinal),
        _ => files.OrderByDescending(f => f.Coverage.Lines.Uncovered).ThenBy(f => f.Path, StringComparer.Ordinal),
    };
}
