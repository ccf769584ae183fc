namespace PandaFuzz.Master.Projection;

/// <summary>
/// Questions to the read-model projection. Local to the master (the projection runs beside the journal), so they
/// are plain records outside the protocol's serializer.
/// </summary>
public static class ProjectionProtocol
{
    /// <summary>Answered with <see cref="ProjectionStatus"/>.</summary>
    public sealed record GetProjectionStatus
    {
        public static readonly GetProjectionStatus Instance = new();
    }

    /// <summary>
    /// One entity kind's progress (<see cref="Infrastructure.Sharding.EntityKinds"/>, named as the tags of older journals):
    /// the journal ordering projected and the kind's newest event past it in the journal (the projected ordering when none
    /// waits), how many of the kind's events wait, and how long the last projected event took from the journal to the read model.
    /// </summary>
    public sealed record TagProgress(string Tag, long ProjectedOffset, long JournalOffset, long PendingEvents, TimeSpan? LastLag);

    /// <summary>The projection's progress per tag, and what it has done since it started.</summary>
    public sealed record ProjectionStatus(IReadOnlyList<TagProgress> Tags, long EventsProjected, long Batches, TimeSpan? MaxLag, TimeSpan Running)
    {
        public long PendingEvents => Tags.Sum(t => t.PendingEvents);
    }
}
