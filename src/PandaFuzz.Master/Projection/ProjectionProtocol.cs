namespace PandaFuzz.Master.Projection;

/// <summary>Questions to the read-model projection; local to the master, so plain records outside the protocol's serializer.</summary>
public static class ProjectionProtocol
{
    /// <summary>Answered with <see cref="ProjectionStatus"/>.</summary>
    public sealed record GetProjectionStatus
    {
        public static readonly GetProjectionStatus Instance = new();
    }

    /// <summary>
    /// One entity kind's progress: the ordering projected, the kind's newest journal ordering, how many of its events
    /// wait, and how long the last one took from the journal to the read model.
    /// </summary>
    public sealed record TagProgress(string Tag, long ProjectedOffset, long JournalOffset, long PendingEvents, TimeSpan? LastLag);

    /// <summary>The projection's progress per kind, and what it has done since it started.</summary>
    public sealed record ProjectionStatus(IReadOnlyList<TagProgress> Tags, long EventsProjected, long Batches, TimeSpan? MaxLag, TimeSpan Running)
    {
        public long PendingEvents => Tags.Sum(t => t.PendingEvents);
    }
}
