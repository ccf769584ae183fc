using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace PandaFuzz.Master;

/// <summary>Lists the entities of one type from the journal's persistence ids ("campaign-…"), as a restarted master wakes its campaigns.</summary>
public sealed class EntityDirectory(ActorSystem system)
{
    private readonly SqlReadJournal _journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
    private readonly IMaterializer _materializer = system.Materializer();

    public async Task<IReadOnlyList<string>> IdsAsync(string prefix, CancellationToken ct = default)
    {
        var ids = await _journal.CurrentPersistenceIds()
            .Where(id => id.StartsWith(prefix, StringComparison.Ordinal))
            .Select(id => id[prefix.Length..])
            .RunWith(Sink.Seq<string>(), _materializer)
            .WaitAsync(ct);
        return ids;
    }
}
