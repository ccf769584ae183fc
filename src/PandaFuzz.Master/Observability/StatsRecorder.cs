using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Master.Observability;

/// <summary>A job's sampled stats, told by its entity: written to the <see cref="StatsStore"/> with the next batch.</summary>
public sealed record RecordStats(StatsSample Sample);

/// <summary>
/// Writes the job entities' samples to the stats store in batches, off the actor's thread, and compacts old points.
/// A batch that cannot be written is tried again with the next; past <see cref="MaxBuffered"/> samples the oldest go.
/// </summary>
public sealed class StatsRecorder : ReceiveActor, IWithTimers
{
    public const string Name = "stats-recorder";
    public const int MaxBuffered = 100_000;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly StatsStore _store;
    private readonly MasterSettings _settings;
    private List<StatsSample> _buffer = [];
    private bool _writing;

    public StatsRecorder(StatsStore store, MasterSettings settings)
    {
        _store = store;
        _settings = settings;
        Receive<RecordStats>(r =>
        {
            _buffer.Add(r.Sample);
            if (_buffer.Count > MaxBuffered)
            {
                _buffer.RemoveRange(0, _buffer.Count - MaxBuffered);
            }
        });
        Receive<Flush>(_ => Write());
        Receive<Written>(written =>
        {
            _writing = false;
            if (written.Failure is { } failure)
            {
                _log.Warning("Could not write {Count} stats samples, trying again: {Reason}", written.Batch.Count, failure.Message);
                _buffer.InsertRange(0, written.Batch);
            }
        });
        Receive<Compact>(_ =>
        {
            var before = DateTimeOffset.UtcNow - _settings.StatsHistory.FineFor;
            Task.Run(() => _store.Compact(before, _settings.StatsSeriesInterval, _settings.StatsHistory.CoarseStep))
                .PipeTo(Self, success: n => new Compacted(n, null), failure: e => new Compacted(0, e));
        });
        Receive<Compacted>(c =>
        {
            if (c.Failure is not null)
            {
                _log.Warning("Could not compact old stats: {Reason}", c.Failure.Message);
            }
            else if (c.Rows > 0)
            {
                _log.Info("Compacted {Rows} stats points older than {FineFor} to one per {Step}", c.Rows, _settings.StatsHistory.FineFor, _settings.StatsHistory.CoarseStep);
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer(Flush.Instance, Flush.Instance, _settings.StatsHistory.FlushInterval);
        Timers.StartPeriodicTimer(Compact.Instance, Compact.Instance, TimeSpan.FromMinutes(1), _settings.StatsHistory.CompactInterval);
    }

    // A stopping master writes what it holds: a clean stop loses no sample.
    protected override void PostStop()
    {
        if (_buffer.Count == 0)
        {
            return;
        }

        try
        {
            _store.Append(_buffer, _settings.StatsSeriesInterval);
        }
        catch (Exception e)
        {
            _log.Warning("Lost {Count} stats samples at stop: {Reason}", _buffer.Count, e.Message);
        }
    }

    private void Write()
    {
        if (_writing || _buffer.Count == 0)
        {
            return;
        }

        var batch = _buffer;
        _buffer = [];
        _writing = true;
        var step = _settings.StatsSeriesInterval;
        Task.Run(() => _store.Append(batch, step)).PipeTo(Self, success: () => new Written(batch, null), failure: e => new Written(batch, e));
    }

    private sealed record Flush
    {
        public static readonly Flush Instance = new();
    }

    private sealed record Compact
    {
        public static readonly Compact Instance = new();
    }

    private sealed record Written(List<StatsSample> Batch, Exception? Failure);

    private sealed record Compacted(int Rows, Exception? Failure);
}

/// <summary>Hosting of the stats recorder, one per master node, when the journal has a read model beside it.</summary>
public static class StatsRecorderHosting
{
    public static AkkaConfigurationBuilder AddStatsRecorder(this AkkaConfigurationBuilder builder, MasterSettings settings) =>
        builder.WithActors((system, registry) =>
        {
            if (ConfiguredStorage.ReadModelOf(system.Settings.Config) is { } database)
            {
                registry.Register<StatsRecorder>(system.ActorOf(Props.Create(() => new StatsRecorder(new StatsStore(database), settings)), StatsRecorder.Name));
            }
        });
}
