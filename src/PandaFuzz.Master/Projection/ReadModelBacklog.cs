using System.Data.Common;
using System.Globalization;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Persistence;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Master.Projection;

/// <summary>How far the read model trails the journal, measured in the databases, so every master agrees and a stopped projection shows.</summary>
public sealed record ReadModelBacklog(long PendingEvents, TimeSpan Lag)
{
    public static readonly ReadModelBacklog None = new(0, TimeSpan.Zero);

    /// <summary>Measures the journal and read model the configuration names (none: nothing trails).</summary>
    public static ReadModelBacklog Measure(Akka.Configuration.Config config, DateTimeOffset now)
    {
        return ConfiguredStorage.ReadModelOf(config) is { } database ? Measure(config, database, now) : None;
    }

    public static ReadModelBacklog Measure(Akka.Configuration.Config config, ReadModelDatabase database, DateTimeOffset now)
    {
        IReadOnlyDictionary<string, long> offsets;
        using (var readModel = database.Open())
        {
            offsets = ReadModelWriter.Offsets(readModel);
        }

        using var journal = ConfiguredStorage.OpenJournal(config)
            ?? throw new InvalidOperationException("the configuration names a read model but no journal");
        if (!JournalTable.Exists(journal))
        {
            return None;
        }

        long pending = 0;
        DateTimeOffset? oldest = null;
        foreach (var kind in EntityKinds.All)
        {
            var backlog = OfKind(journal, kind, offsets.GetValueOrDefault(kind));
            pending += backlog.Events;
            if (backlog.OldestWrittenAt is { } at && (oldest is null || at < oldest))
            {
                oldest = at;
            }
        }

        return new ReadModelBacklog(pending, oldest is { } o && o < now ? now - o : TimeSpan.Zero);
    }

    /// <summary>By persistence id, as the sharding coordinators' events have no kind; the newest ordering is <paramref name="offset"/> when none waits.</summary>
    public static KindBacklog OfKind(DbConnection journal, string kind, long offset)
    {
        // One range read on the primary key: only the rows past the offset, however long the journal.
        using var command = ReadModelWriter.Command(journal, null, """
            SELECT COUNT(*), COALESCE(MAX(ordering), @offset), MIN(created) FROM journal
            WHERE ordering > @offset AND persistence_id LIKE @prefix
            """, ("offset", offset), ("prefix", EntityKinds.PersistenceIdLike(kind)));
        using var reader = command.ExecuteReader();
        reader.Read();
        return new KindBacklog(
            Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture),
            Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture),
            reader.IsDBNull(2) ? null : ReadModelProjection.WrittenAt(Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture)));
    }
}

/// <summary>One entity kind's events waiting in the journal.</summary>
public sealed record KindBacklog(long Events, long NewestOrdering, DateTimeOffset? OldestWrittenAt);
