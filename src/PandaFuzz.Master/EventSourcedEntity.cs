using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using PandaFuzz.Protocol;

namespace PandaFuzz.Master;

/// <summary>
/// What every entity does the same way: persist a decision's events, apply each, snapshot every N events
/// (dropping the older snapshots), and run the side effects once all are durable.
/// </summary>
public abstract class EventSourcedEntity : ReceivePersistentActor
{
    private readonly int _snapshotEvery;

    protected EventSourcedEntity(string persistenceId, int snapshotEvery)
    {
        PersistenceId = persistenceId;
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
        PersistAll(events, e =>
        {
            apply(e);
            if (LastSequenceNr % _snapshotEvery == 0 && SnapshotState is { } state)
            {
                SaveSnapshot(state);
            }

            if (--remaining == 0)
            {
                then(sender);
            }
        });
    }
}
