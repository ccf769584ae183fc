using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>An uploaded corpus archive (zip, tar or tar.gz), usable as a campaign's <c>seedCorpusId</c>.</summary>
public sealed record CorpusArchiveResponse(string Id, string Name, long Size, int Entries);

/// <summary>A campaign's corpus: its current version and the versions before it.</summary>
public sealed record CorpusResponse(string CampaignId, int Version, int Count, long Bytes, IReadOnlyList<CorpusVersionResponse> Versions)
{
    public static CorpusResponse From(CorpusQueries.CorpusSummary s) =>
        new(s.CorpusOf.Value, s.Version, s.Count, s.Bytes, [.. s.Versions.Select(v => new CorpusVersionResponse(v.Version, v.Count, v.Bytes, v.Reason, v.Since))]);
}

/// <summary>A corpus minimization under way: follow its job; the result is a new corpus version.</summary>
public sealed record MinimizationResponse(string CampaignId, string JobId);

public sealed record CorpusVersionResponse(int Version, int Count, long Bytes, string Reason, DateTimeOffset Since);
