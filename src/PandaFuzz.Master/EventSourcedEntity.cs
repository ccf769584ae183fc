using Akka.Actor;
using Akka.Event;
using System.Diagnostics;
using Akka.Persistence;
using PandaFuzz.Domain;
using PandaFuzz.Master.Observability;
using PandaFuzz.Protocol;

namespace PandaFuzz.Master;

/// <summary>Persists a decision's events, applies each, snapshots every N events, and runs the side effects once all are durable.</summary>
public abstract class EventSourcedEntity : ReceivePersistentActor
{
    private readonly int _snapshotEvery;
    private int _sinceSnapshot;
    private int _aheadOfJournal;
    private readonly KeyValuePair<string, object?> _entityTag;

    protected EventSourcedEntity(string persistenceId, int snapshotEvery)
    {
        PersistenceId = persistenceId;
        _entityTag = new("entity", JournalMetrics.EntityOf(persistenceId));
        _snapshotEvery = snapshotEvery;
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => Log.Warning(f.Cause, "Snapshot of {PersistenceId} failed", PersistenceId));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => Log.Warning(f.Cause, "Deleting old snapshots of {PersistenceId} failed", PersistenceId));
    }

    public override string PersistenceId { get; }

    protected abstract object? SnapshotState { get; }

    /// <summary>A refusal goes to <paramref name="onRejected"/> (default: a conflict); otherwise as <see cref="PersistThen"/>, then <paramref name="onAccepted"/>.</summary>
    protected void Decide(Decision decision, Action<IPersistedEvent> apply, Action<IActorRef>? onAccepted = null, Action<IActorRef, string>? onRejected = null)
    {
        if (decision.Rejected)
        {
            if (onRejected is null)
            {
                Sender.Tell(new CommandRejected(decision.Rejection!, RejectionKind.Conflict));
            }
            else
            {
                onRejected(Sender, decision.Rejection!);
            }

            return;
        }

        PersistThen(decision.Events, apply, sender => onAccepted?.Invoke(sender));
    }

    /// <summary>Persists and applies each event as it becomes durable, then runs <paramref name="then"/> with the original sender.</summary>
    protected void PersistThen(IReadOnlyList<IPersistedEvent> events, Action<IPersistedEvent> apply, Action<IActorRef> then)
    {
        var sender = Sender;
        if (events.Count == 0)
        {
            then(sender);
            return;
        }

        var remaining = events.Count;
        var started = Stopwatch.GetTimestamp();
        PersistAll(events, e =>
        {
            // The first callback comes once the whole batch is durable: that is the write's latency.
            if (remaining == events.Count)
            {
                JournalMetrics.WriteDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, _entityTag);
            }

            apply(e);
            SnapshotWhenDue();
            if (--remaining == 0)
            {
                then(sender);
            }
        });
    }

    /// <summary>
    /// For high-volume events (crash reports): applies at once so the next command sees them, and persists in the
    /// background, batched. Safe because a failed write stops the entity, which recovers from the journal alone;
    /// snapshots wait until nothing applied is unwritten.
    /// </summary>
    protected void PersistAheadThen(IReadOnlyList<IPersistedEvent> events, Action<IPersistedEvent> apply, Action<IActorRef> then)
    {
        var sender = Sender;
        if (events.Count == 0)
        {
            then(sender);
            return;
        }

        foreach (var e in events)
        {
            apply(e);
        }

        _aheadOfJournal += events.Count;
        var remaining = events.Count;
        var started = Stopwatch.GetTimestamp();
        PersistAllAsync(events, _ =>
        {
            if (remaining == events.Count)
            {
                JournalMetrics.WriteDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, _entityTag);
            }

            _aheadOfJournal--;
            SnapshotWhenDue();
            if (--remaining == 0)
            {
                then(sender);
            }
        });
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        JournalMetrics.WriteFailures.Add(1, _entityTag);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        JournalMetrics.WriteFailures.Add(1, _entityTag);
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    private void SnapshotWhenDue()
    {
        if (++_sinceSnapshot >= _snapshotEvery && _aheadOfJournal == 0 && SnapshotState is { } state)
        {
            _sinceSnapshot = 0;
            SaveSnapshot(state);
        }
    }
}
