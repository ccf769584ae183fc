using System.Data.Common;
using System.Globalization;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Persistence;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Master.Projection;

/// <summary>
/// How far the read model trails the journal, measured in the databases themselves: the journal's entity events past the
/// offsets the read model has stored for their kinds, and how old the oldest of them is. Whichever master projects
/// (several share one PostgreSQL read model), every master sees the same answer, and a projection that is down shows as
/// a growing lag.
/// </summary>
public sealed record ReadModelBacklog(long PendingEvents, TimeSpan Lag)
{
    public static readonly ReadModelBacklog None = new(0, TimeSpan.Zero);

    /// <summary>Measures with the journal and read model an actor system's configuration names (none: nothing trails).</summary>
    public static ReadModelBacklog Measure(Akka.Configuration.Config config, DateTimeOffset now)
    {
        return ConfiguredStorage.ReadModelOf(config) is { } database ? Measure(config, database, now) : None;
    }

    /// <summary>Measures <paramref name="database"/> against the journal <paramref name="config"/> names.</summary>
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

    /// <summary>
    /// The one query of how far the journal is ahead for one entity kind: its events past <paramref name="offset"/> (by
    /// their entities' persistence ids; the sharding coordinators' own events have no kind), the newest one's ordering
    /// (<paramref name="offset"/> when none waits) and when the oldest was written.
    /// </summary>
    public static KindBacklog OfKind(DbConnection journal, string kind, long offset)
    {
        // One range read on the journal's primary key (ordering): only the rows past the offset, however long the journal.
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

/// <summary>One entity kind's events waiting in the journal: how many, the newest one's ordering, when the oldest was written.</summary>
public sealed record KindBacklog(long Events, long NewestOrdering, DateTimeOffset? OldestWrittenAt);
