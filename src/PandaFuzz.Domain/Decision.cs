using System.Collections;
using System.Runtime.CompilerServices;
using PandaFuzz.Protocol;

namespace PandaFuzz.Domain;

/// <summary>The events a command on a state persists (none when nothing changes), or why it is refused. It reads as its
/// events, so a command can <c>return [];</c> or <c>return [started, finished];</c>.</summary>
[CollectionBuilder(typeof(Decision), nameof(Of))]
public sealed record Decision(IReadOnlyList<IPersistedEvent> Events, string? Rejection) : IReadOnlyList<IPersistedEvent>
{
    public bool Rejected => Rejection is not null;

    public static Decision Accept(params IPersistedEvent[] events) => new(events, null);

    public static Decision Reject(string reason) => new([], reason);

    /// <summary>What a collection expression builds.</summary>
    public static Decision Of(ReadOnlySpan<IPersistedEvent> events) => new(events.ToArray(), null);

    public int Count => Events.Count;

    public IPersistedEvent this[int index] => Events[index];

    public IEnumerator<IPersistedEvent> GetEnumerator() => Events.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
