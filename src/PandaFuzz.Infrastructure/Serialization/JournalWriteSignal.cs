using Akka.Persistence.Journal;

namespace PandaFuzz.Infrastructure.Serialization;

/// <summary>
/// Sees every event on its way to the journal and tells <see cref="JournalActivity"/>, so that an idle read-model
/// projection polls at once. Events are written untagged: the SQL journal inserts tagged rows one at a time (it needs
/// each row's ordering for the tag table) and untagged ones in one multi-row insert per batch, and the projection reads
/// the journal in ordering order, finding each event's kind with <see cref="EntityKinds.OfPersistenceId"/>. Measured with
/// pandafuzz-bench dedup: raw journal 18,000 → 70,000+ events/s.
/// </summary>
public sealed class JournalWriteSignal : IWriteEventAdapter
{
    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt)
    {
        JournalActivity.OfProcess.Writing();
        return evt;
    }
}
