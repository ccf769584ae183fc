using PandaFuzz.Infrastructure.Sharding;
using System.Globalization;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Master.Persistence;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Master.ReadModel;

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
        foreach (var tag in EntityKinds.All)
        {
            using var command = ReadModelWriter.Command(journal, null, """
                SELECT COUNT(*), MIN(created) FROM journal
                WHERE ordering > @offset AND persistence_id LIKE @prefix
                """, ("prefix", EntityKinds.PersistenceIdLike(tag)), ("offset", offsets.GetValueOrDefault(tag)));
            using var reader = command.ExecuteReader();
            reader.Read();
            pending += Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
            if (!reader.IsDBNull(1) && ReadModelProjection.WrittenAt(Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture)) is var at
                && (oldest is null || at < oldest))
            {
                oldest = at;
            }
        }

        return new ReadModelBacklog(pending, oldest is { } o && o < now ? now - o : TimeSpan.Zero);
    }
}
