using System.Diagnostics.Metrics;
using PandaFuzz.Bot.Observability;
using PandaFuzz.Master.Observability;
using Prometheus;

namespace PandaFuzz.Node.Observability;

/// <summary>
/// Exports our own .NET instruments as Prometheus metrics with fixed names and help. Our meters only: prometheus-net's
/// generic meter export also picks up the runtime's, whose names fail <c>promtool check metrics</c>.
/// </summary>
public static class MeterBridge
{
    private static readonly Histogram JournalWrites = Metrics.CreateHistogram(
        "pandafuzz_journal_write_duration_seconds",
        "Time from an entity persisting events to the journal confirming them, by entity type.",
        new HistogramConfiguration
        {
            LabelNames = ["entity"],
            // A SQLite WAL write takes about a millisecond here; seconds mean a stalled disk or database.
            Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        });

    private static readonly Counter JournalFailures = Metrics.CreateCounter(
        "pandafuzz_journal_write_failures_total",
        "Journal writes that failed or were rejected, by entity type; a failed write stops the entity.",
        "entity");

    private static readonly Counter EngineRestarts = Metrics.CreateCounter(
        "pandafuzz_engine_restarts_total",
        "Engine processes started again within a job, by engine and reason (finding: it stopped at a finding; failure: it failed or hung).",
        "engine", "reason");

    private static readonly Counter Assignments = Metrics.CreateCounter(
        "pandafuzz_job_assignments_total", "Jobs assigned to a bot, counted once the assignment is durable.");

    private static readonly Counter StatsUpdates = Metrics.CreateCounter(
        "pandafuzz_job_stats_updates_total", "Stats updates taken in by job entities from their bots.");

    private static readonly Histogram StatsLag = Metrics.CreateHistogram(
        "pandafuzz_job_stats_lag_seconds",
        "Age of a stats update when its job entity takes it in (the bot's clock at reading vs. the master's).",
        new HistogramConfiguration { Buckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    private static readonly Counter CrashReports = Metrics.CreateCounter(
        "pandafuzz_crash_reports_total",
        "Crash reports acknowledged to bots, by outcome (new: a new signature; known: a known one; repeated: the same input again).",
        "outcome");

    private static readonly object Gate = new();
    private static MeterListener? _listener;

    /// <summary>Starts listening once per process; the series a role always has are shown at zero from the start.</summary>
    public static void Start(bool master, bool bot, bool simulation = false)
    {
        lock (Gate)
        {
            if (master)
            {
                foreach (var entity in new[] { "campaign", "job", "bot", "corpus" })
                {
                    JournalFailures.WithLabels(entity);
                }

                foreach (var outcome in new[] { "new", "known", "repeated" })
                {
                    CrashReports.WithLabels(outcome);
                }
            }

            if (bot)
            {
                // A production scrape shows the real engines only: the test engine's series exist where it is offered.
                foreach (var engine in PandaFuzz.Protocol.EngineNames.Known.Where(e => simulation || e != PandaFuzz.Protocol.EngineNames.Simulated))
                {
                    EngineRestarts.WithLabels(engine, "finding");
                    EngineRestarts.WithLabels(engine, "failure");
                }
            }

            if (_listener is not null)
            {
                return;
            }

            _listener = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Meter.Name is JournalMetrics.MeterName or EngineMetrics.MeterName)
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            {
                if (instrument == JournalMetrics.WriteDuration)
                {
                    JournalWrites.WithLabels(Tag(tags, "entity")).Observe(value);
                }
                else if (instrument == ControlPlaneMetrics.StatsLag)
                {
                    StatsLag.Observe(value);
                }
            });
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                if (instrument == JournalMetrics.WriteFailures)
                {
                    JournalFailures.WithLabels(Tag(tags, "entity")).Inc(value);
                }
                else if (instrument == EngineMetrics.Restarts)
                {
                    EngineRestarts.WithLabels(Tag(tags, "engine"), Tag(tags, "reason")).Inc(value);
                }
                else if (instrument == ControlPlaneMetrics.Assignments)
                {
                    Assignments.Inc(value);
                }
                else if (instrument == ControlPlaneMetrics.StatsUpdates)
                {
                    StatsUpdates.Inc(value);
                }
                else if (instrument == ControlPlaneMetrics.CrashReports)
                {
                    CrashReports.WithLabels(Tag(tags, "outcome")).Inc(value);
                }
            });
            _listener.Start();
        }
    }

    private static string Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return tag.Value?.ToString() ?? "";
            }
        }

        return "";
    }
}
