namespace PandaFuzz.Protocol;

/// <summary>Routes a message to the corpus entity of a campaign (one corpus per campaign).</summary>
public interface IWithCorpusId : IProtocolMessage
{
    CampaignId CorpusOf { get; }
}

/// <summary>One input of a campaign's corpus and where it came from.</summary>
public sealed record CorpusEntry(BlobId Input, long Size, string Source);

/// <summary>Commands the corpus entity handles.</summary>
public static class CorpusCommands
{
    /// <summary>The corpus fetches the entries it lacks from <paramref name="BlobSourcePath"/>; repeating it is harmless.</summary>
    public sealed record OfferCorpus(CampaignId CorpusOf, JobId JobId, IReadOnlyList<CorpusEntry> Entries, string BlobSourcePath) : IWithCorpusId;

    public sealed record CorpusOfferAccepted(CampaignId CorpusOf, JobId JobId, IReadOnlyList<BlobId> Stored) : IWithCorpusId;

    /// <summary>Adds inputs already in the master's blob store (an uploaded seed corpus).</summary>
    public sealed record AddCorpusEntries(CampaignId CorpusOf, IReadOnlyList<CorpusEntry> Entries) : IWithCorpusId;

    /// <summary>A minimized corpus as a new version; refused unless <paramref name="BasedOnVersion"/> is current.</summary>
    public sealed record ReplaceCorpus(CampaignId CorpusOf, int BasedOnVersion, IReadOnlyList<CorpusEntry> Entries, string Reason) : IWithCorpusId;

    /// <summary>The answer to <see cref="AddCorpusEntries"/> and <see cref="ReplaceCorpus"/>.</summary>
    public sealed record CorpusChanged(CampaignId CorpusOf, int Version, int Count, long Bytes) : IWithCorpusId;
}

/// <summary>Events the corpus entity persists.</summary>
public static class CorpusEvents
{
    public sealed record CorpusEntriesAdded(CampaignId CorpusOf, IReadOnlyList<CorpusEntry> Entries, DateTimeOffset At) : IWithCorpusId, IPersistedEvent;

    public sealed record CorpusReplaced(CampaignId CorpusOf, int Version, IReadOnlyList<CorpusEntry> Entries, string Reason, DateTimeOffset At)
        : IWithCorpusId, IPersistedEvent;
}

/// <summary>Queries the corpus entity answers.</summary>
public static class CorpusQueries
{
    public sealed record GetCorpusPage(CampaignId CorpusOf, int Version, int From, int Max) : IWithCorpusId;

    /// <summary>A <paramref name="Version"/> other than asked means the corpus was replaced and the page starts over.</summary>
    public sealed record CorpusPage(CampaignId CorpusOf, int Version, int From, IReadOnlyList<CorpusEntry> Entries, int Total) : IWithCorpusId;

    public sealed record GetCorpusSummary(CampaignId CorpusOf) : IWithCorpusId;

    public sealed record CorpusSummary(CampaignId CorpusOf, int Version, int Count, long Bytes, IReadOnlyList<CorpusVersionInfo> Versions) : IWithCorpusId;

    public sealed record CorpusVersionInfo(int Version, int Count, long Bytes, string Reason, DateTimeOffset Since);
}
