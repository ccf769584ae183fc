using PandaFuzz.Protocol;

namespace PandaFuzz.Domain;

/// <summary>The outcome of a command: events to persist, or a reason to refuse.</summary>
public sealed record Decision(IReadOnlyList<IPersistedEvent> Events, string? Rejection)
{
    public bool Rejected => Rejection is not null;

    public static Decision Accept(params IPersistedEvent[] events) => new(events, null);

    public static Decision Reject(string reason) => new([], reason);
}
