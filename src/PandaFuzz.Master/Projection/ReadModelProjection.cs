using PandaFuzz.Infrastructure.Sharding;
using System.Collections.Immutable;
using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Akka.Pattern;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Util;
using Microsoft.Data.Sqlite;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Persistence;
using PandaFuzz.ReadModel;
using static PandaFuzz.Master.Projection.ProjectionProtocol;

namespace PandaFuzz.Master.Projection;

/// <summary>
/// Follows the journal and writes the read model, one transaction per batch that also stores an offset per entity
/// kind, so a restart resumes from the lowest offset and nothing is lost or applied twice. Holds the read model's
/// lock while it runs, so an offline rebuild cannot write beside it.
/// </summary>
public sealed class ReadModelProjection : ReceiveActor, IWithTimers
{
    /// <summary>How often a projection whose read model another master writes tries for its lock.</summary>
    public static readonly TimeSpan LockRetryInterval = TimeSpan.FromSeconds(3);

    /// <summary>Fast polling lasts this long after the last event: a write is signalled before it commits, and the gap-free ordering trails it.</summary>
    private static readonly TimeSpan BusyFor = TimeSpan.FromSeconds(1);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ReadModelDatabase _database;
    private readonly ReadModelSettings _settings;
    private readonly Akka.Configuration.Config _journalConfig;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private ImmutableDictionary<string, long> _offsets = ImmutableDictionary<string, long>.Empty;
    private ImmutableDictionary<string, TimeSpan> _lastLag = ImmutableDictionary<string, TimeSpan>.Empty;
    private TimeSpan? _maxLag;
    private long _events;
    private long _batches;
    private ReadModelLock? _lock;
    private UniqueKillSwitch? _killSwitch;

    public ReadModelProjection(ReadModelDatabase database, ReadModelSettings settings)
    {
        _database = database;
        _settings = settings;
        _journalConfig = Context.System.Settings.Config;

        Receive<BatchProjected>(b =>
        {
            _offsets = _offsets.SetItems(b.Offsets.Where(o => o.Value > _offsets.GetValueOrDefault(o.Key)));
            _lastLag = _lastLag.SetItems(b.Lags);
            var worst = b.Lags.Values.DefaultIfEmpty(TimeSpan.Zero).Max();
            _maxLag = _maxLag is { } max && max > worst ? max : worst;
            _events += b.Applied;
            _batches++;
        });
        Receive<RetryLock>(_ =>
        {
            if (TryStart())
            {
                Timers.Cancel(RetryLock.Instance);
                _log.Info("Read-model projection took over the read model {Database}", _database.Name);
            }
        });
        Receive<GetProjectionStatus>(_ =>
        {
            // A standby projection (another master writes the read model) reports the writer's stored offsets.
            var offsets = _lock is null ? StoredOffsets(_database) : _offsets;
            var lags = _lastLag;
            var status = (events: _events, batches: _batches, maxLag: _maxLag, running: DateTimeOffset.UtcNow - _started);
            var journalConfig = _journalConfig;
            Task.Run(() =>
                {
                    using var journal = ConfiguredStorage.OpenJournal(journalConfig);
                    var readable = journal is not null && JournalTable.Exists(journal) ? journal : null;
                    return new ProjectionStatus(
                        [.. EntityKinds.All.Select(tag => Progress(readable, tag, offsets.GetValueOrDefault(tag), lags.TryGetValue(tag, out var lag) ? lag : null))],
                        status.events, status.batches, status.maxLag, status.running);
                })
                .PipeTo(Sender);
        });
        Receive<StreamFailed>(f => throw new ReadModelProjectionException("the read-model projection stream failed", f.Cause));
        Receive<StreamCompleted>(_ => throw new ReadModelProjectionException("the read-model projection stream ended, which a live query never does", null));
    }

    /// <summary>The projection under a supervisor that restarts it with growing pauses when the database or the journal fails.</summary>
    public static Props SupervisedProps(ReadModelDatabase database, ReadModelSettings settings) =>
        BackoffSupervisor.Props(Backoff.OnFailure(
                Props.Create(() => new ReadModelProjection(database, settings)),
                "projection",
                TimeSpan.FromSeconds(1),
                TimeSpan.FromSeconds(30),
                0.2,
                -1)
            .WithAutoReset(TimeSpan.FromSeconds(30))
            // A failed start (schema, lock) is retried too, not only a failure while running.
            .WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Restart)));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        if (!TryStart())
        {
            // Another master's projection (PostgreSQL), or an offline rebuild, writes the read model: wait for its lock.
            _log.Info("The read model {Database} is written by another projection ({Holder}); this one takes over when it goes",
                _database.Name, ReadModelLock.Describe(_database));
            Timers.StartPeriodicTimer(RetryLock.Instance, RetryLock.Instance, LockRetryInterval);
        }
    }

    private static ImmutableDictionary<string, long> StoredOffsets(ReadModelDatabase database)
    {
        try
        {
            using var connection = database.Open();
            return ReadModelWriter.Offsets(connection).ToImmutableDictionary();
        }
        catch (System.Data.Common.DbException)
        {
            return ImmutableDictionary<string, long>.Empty;
        }
    }

    private bool TryStart()
    {
        _lock = ReadModelLock.TryAcquire(_database);
        if (_lock is null)
        {
            return false;
        }

        try
        {
            new ReadModelSchema(_database).EnsureCurrent(_settings.MigrateOnStart);
            using var connection = _database.Open();
            _offsets = ReadModelWriter.Offsets(connection).ToImmutableDictionary();
        }
        catch
        {
            _lock.Dispose();
            _lock = null;
            throw;
        }

        _log.Info("Read-model projection starts from offsets {Offsets}", string.Join(", ", EntityKinds.All.Select(t => $"{t}={_offsets.GetValueOrDefault(t)}")));
        var pages = JournalEventReader.For(Context.System);
        var self = Self;
        var database = _database;
        var materializer = Context.Materializer();
        var (killSwitch, done) = Follow(pages, EntityKinds.All.Min(tag => _offsets.GetValueOrDefault(tag)), _settings, JournalActivity.OfProcess)
            .Select(Read)
            .ViaMaterialized(KillSwitches.Single<JournalRead>(), Keep.Right)
            .GroupedWithin(_settings.BatchSize, _settings.BatchWindow)
            .SelectAsync(1, batch => Task.Run(() => Write(database, [.. batch])))
            .ToMaterialized(Sink.ForEach<BatchProjected>(b => self.Tell(b)), Keep.Both)
            .Run(materializer);
        _killSwitch = killSwitch;
        done.PipeTo(self, success: _ => StreamCompleted.Instance, failure: e => new StreamFailed(e));
        return true;
    }

    /// <summary>
    /// The journal's events after <paramref name="from"/>, live: the next page at once after a full one, after the poll
    /// interval while busy, otherwise after the idle interval or at the next write <paramref name="activity"/> sees.
    /// The read journal's own live query polls at one fixed interval, busy or not.
    /// </summary>
    public static Source<EventEnvelope, NotUsed> Follow(JournalEventPages pages, long from, ReadModelSettings settings, JournalActivity activity)
    {
        const int page = 1000;
        return Source.UnfoldAsync<TagCursor, IImmutableList<EventEnvelope>>(new TagCursor(from, FullPage: true, LastEventsAt: 0), async cursor =>
            {
                if (!cursor.FullPage)
                {
                    var nextWrite = activity.NextWrite();
                    var busy = activity.SinceLastWrite < BusyFor
                               || TimeSpan.FromMilliseconds(Environment.TickCount64 - cursor.LastEventsAt) < BusyFor;
                    if (busy)
                    {
                        await Task.Delay(settings.PollInterval);
                    }
                    else
                    {
                        await Task.WhenAny(nextWrite, Task.Delay(settings.IdlePollInterval));
                    }
                }

                var events = await pages(cursor.Offset, page);
                var next = events.Count == 0
                    ? cursor with { FullPage = false }
                    : new TagCursor(((Sequence)events[^1].Offset).Value, events.Count == page, Environment.TickCount64);
                return Option<(TagCursor, IImmutableList<EventEnvelope>)>.Create((next, events));
            })
            .SelectMany(events => events);
    }

    protected override void PostStop()
    {
        _killSwitch?.Shutdown();
        _lock?.Dispose();
    }

    /// <summary>Writes one batch; returns its offsets and how long each kind's last event waited since the journal took it.</summary>
    private static BatchProjected Write(ReadModelDatabase database, IReadOnlyList<JournalRead> batch)
    {
        var through = batch.Max(r => r.Offset);
        var events = batch.Where(r => r.Event is not null).Select(r => r.Event!).ToList();
        int applied;
        using (var connection = database.Open())
        {
            applied = ReadModelWriter.Write(connection, events, DateTimeOffset.UtcNow, (through, EntityKinds.All));
        }

        var now = DateTimeOffset.UtcNow;
        var last = events.GroupBy(e => e.Tag).Select(g => g.MaxBy(e => e.Offset)!).ToList();
        return new BatchProjected(
            applied,
            EntityKinds.All.ToDictionary(tag => tag, _ => through),
            last.ToDictionary(e => e.Tag, e => now - e.WrittenAt));
    }

    public static JournalRead Read(EventEnvelope envelope) =>
        new(((Sequence)envelope.Offset).Value, EntityKinds.OfPersistenceId(envelope.PersistenceId) is { } kind ? ToProjected(kind, envelope) : null);

    public static ProjectedEvent ToProjected(string tag, EventEnvelope envelope) =>
        new(tag, ((Sequence)envelope.Offset).Value, envelope.Event, WrittenAt(envelope.Timestamp));

    /// <summary>The journal's timestamp of an event: .NET ticks (UTC) in Akka.Persistence.Sql.</summary>
    public static DateTimeOffset WrittenAt(long timestamp) =>
        timestamp > DateTime.MinValue.Ticks && timestamp < DateTime.MaxValue.Ticks && timestamp > 100_000_000_000_000_000L
            ? new DateTimeOffset(timestamp, TimeSpan.Zero)
            : DateTimeOffset.FromUnixTimeMilliseconds(timestamp);

    private static TagProgress Progress(System.Data.Common.DbConnection? journal, string tag, long projected, TimeSpan? lastLag)
    {
        if (journal is null)
        {
            return new TagProgress(tag, projected, projected, 0, lastLag);
        }

        var backlog = ReadModelBacklog.OfKind(journal, tag, projected);
        return new TagProgress(tag, projected, backlog.NewestOrdering, backlog.Events, lastLag);
    }

    private sealed record BatchProjected(int Applied, IReadOnlyDictionary<string, long> Offsets, IReadOnlyDictionary<string, TimeSpan> Lags);

    private sealed record StreamFailed(Exception Cause);

    private sealed record RetryLock
    {
        public static readonly RetryLock Instance = new();
    }

    private sealed record StreamCompleted
    {
        public static readonly StreamCompleted Instance = new();
    }
}

/// <summary>The projection cannot go on; its supervisor starts it again after a pause.</summary>
public sealed class ReadModelProjectionException(string message, Exception? inner) : Exception(message, inner);

/// <summary>Marks the projection in the actor registry.</summary>
public sealed class ReadModelProjectionActor;

/// <summary>Hosting for the read-model projection.</summary>
public static class ReadModelProjectionHosting
{
    public const string Name = "read-model-projection";

    /// <summary>Each master on PostgreSQL runs a projection; the one holding the read model's lock writes.</summary>
    public static AkkaConfigurationBuilder AddReadModelProjection(this AkkaConfigurationBuilder builder, ReadModelSettings settings) =>
        builder.WithActors((system, registry) =>
        {
            if (ConfiguredStorage.ReadModelOf(system.Settings.Config) is not { } database)
            {
                system.Log.Warning("No read model: the journal is neither a SQLite file nor PostgreSQL");
                return;
            }

            registry.Register<ReadModelProjectionActor>(system.ActorOf(ReadModelProjection.SupervisedProps(database, settings), Name));
        });
}

/// <summary>An event as the projection reads it; <see cref="Event"/> is null when it is not an entity's event.</summary>
public sealed record JournalRead(long Offset, ProjectedEvent? Event);

/// <summary>Where the live query is: the last offset read, whether that page was full, when it last saw events (TickCount64).</summary>
internal sealed record TagCursor(long Offset, bool FullPage, long LastEventsAt);
