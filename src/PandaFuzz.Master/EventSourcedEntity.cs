using Akka.Actor;
using Akka.Event;
using System.Diagnostics;
using Akka.Persistence;
using PandaFuzz.Domain;
using PandaFuzz.Master.Observability;
using PandaFuzz.Protocol;

namespace PandaFuzz.Master;

/// <summary>
/// What every entity does the same way: persist a decision's events, apply each, snapshot every N events
/// (dropping the older snapshots), and run the side effects once all are durable.
/// </summary>
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

    /// <summary>The state a snapshot saves.</summary>
    protected abstract object? SnapshotState { get; }

    /// <summary>
    /// How entities carry out a command's <see cref="Decision"/>: a refusal goes to <paramref name="onRejected"/> (by default,
    /// a conflict to the sender); otherwise the events are persisted and applied as in <see cref="PersistThen"/>, and then
    /// <paramref name="onAccepted"/> runs with the original sender.
    /// </summary>
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

    /// <summary>
    /// Persists <paramref name="events"/> (none: runs <paramref name="then"/> at once), calls <paramref name="apply"/>
    /// for each as it becomes durable, then <paramref name="then"/> with the original sender.
    /// </summary>
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
    /// For high-volume events that need no stashing (crash reports): applies <paramref name="events"/> at once, so the
    /// next command already sees them, and persists them in the background, batched with the others in flight;
    /// <paramref name="then"/> runs once they are durable. Safe because a failed write stops the entity, which then
    /// recovers from the journal alone; snapshots wait until nothing applied is still unwritten.
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
