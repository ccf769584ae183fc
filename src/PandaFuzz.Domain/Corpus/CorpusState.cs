using System.Collections.Immutable;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CorpusEvents;

namespace PandaFuzz.Domain.Corpus;

/// <summary>A campaign's shared corpus: append-only within a version, so a job can ask for "everything after position N";
/// a minimization starts a new version.</summary>
public sealed record CorpusState(
    CampaignId CampaignId,
    int Version,
    ImmutableList<CorpusEntry> Entries,
    ImmutableHashSet<string> Known,
    long Bytes,
    ImmutableList<CorpusQueries.CorpusVersionInfo> Versions)
{
    public static CorpusState Empty(CampaignId campaign) =>
        new(campaign, 1, [], [], 0, [new CorpusQueries.CorpusVersionInfo(1, 0, 0, "created", DateTimeOffset.MinValue)]);

    public bool Contains(BlobId input) => Known.Contains(input.Sha256);

    public CorpusState Apply(IPersistedEvent e) => e switch
    {
        CorpusEntriesAdded added => Added(added.Entries.Where(x => !Known.Contains(x.Input.Sha256)).DistinctBy(x => x.Input).ToList(), added.At),
        CorpusReplaced replaced => Replaced(replaced),
        _ => throw new ArgumentException($"Not a corpus event: {e.GetType().Name}", nameof(e)),
    };

    public Decision Add(IReadOnlyList<CorpusEntry> entries, DateTimeOffset now)
    {
        var fresh = entries.Where(x => !Known.Contains(x.Input.Sha256)).DistinctBy(x => x.Input).ToList();
        return fresh.Count == 0 ? [] : [new CorpusEntriesAdded(CampaignId, fresh, now)];
    }

    /// <summary>A new version replaces the corpus only if it was computed from the current one.</summary>
    public Decision Replace(int basedOn, IReadOnlyList<CorpusEntry> entries, string reason, DateTimeOffset now) =>
        basedOn != Version
            ? Decision.Reject($"the corpus is at version {Version}, not {basedOn}")
            : Decision.Accept(new CorpusReplaced(CampaignId, Version + 1, [.. entries.DistinctBy(x => x.Input)], reason, now));

    public (IReadOnlyList<CorpusEntry> Entries, int From) Page(int version, int from, int max)
    {
        var start = version == Version ? Math.Clamp(from, 0, Entries.Count) : 0;
        return ([.. Entries.Skip(start).Take(Math.Max(0, max))], start);
    }

    private CorpusState Added(IReadOnlyList<CorpusEntry> fresh, DateTimeOffset at)
    {
        var bytes = Bytes + fresh.Sum(x => x.Size);
        var entries = Entries.AddRange(fresh);
        var current = Versions[^1];
        return this with
        {
            Entries = entries,
            Known = Known.Union(fresh.Select(x => x.Input.Sha256)),
            Bytes = bytes,
            // The first version dates from its first input.
            Versions = Versions.SetItem(Versions.Count - 1, current with
            {
                Count = entries.Count, Bytes = bytes, Since = current.Since == DateTimeOffset.MinValue ? at : current.Since,
            }),
        };
    }

    private CorpusState Replaced(CorpusReplaced replaced)
    {
        var bytes = replaced.Entries.Sum(x => x.Size);
        return this with
        {
            Version = replaced.Version,
            Entries = [.. replaced.Entries],
            Known = [.. replaced.Entries.Select(x => x.Input.Sha256)],
            Bytes = bytes,
            Versions = Versions.Add(new CorpusQueries.CorpusVersionInfo(replaced.Version, replaced.Entries.Count, bytes, replaced.Reason, replaced.At)),
        };
    }
}
