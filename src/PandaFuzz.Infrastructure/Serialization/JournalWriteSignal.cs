using Akka.Persistence.Journal;

namespace PandaFuzz.Infrastructure.Serialization;

/// <summary>Tells <see cref="JournalActivity"/> of every event on its way to the journal. Events are written untagged: the
/// SQL journal inserts tagged rows one at a time and untagged ones in one multi-row insert per batch (pandafuzz-bench dedup:
/// 18,000 → 70,000+ events/s); the projection finds each event's kind with <see cref="EntityKinds.OfPersistenceId"/>.</summary>
public sealed class JournalWriteSignal : IWriteEventAdapter
{
    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt)
    {
        JournalActivity.OfProcess.Writing();
        return evt;
    }
}
