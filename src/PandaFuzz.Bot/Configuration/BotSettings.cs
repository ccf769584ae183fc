using Akka.Configuration;
using PandaFuzz.Bot.Runner;
using PandaFuzz.Infrastructure.Configuration;

namespace PandaFuzz.Bot.Configuration;

/// <summary>Settings of the bot role, from the <c>pandafuzz.bot</c> HOCON section.</summary>
public sealed record BotSettings(
    int Slots,
    TimeSpan CheckInInterval,
    TimeSpan StatsInterval,
    TimeSpan RetryInterval,
    TimeSpan RestartDelay,
    TimeSpan MinimumRun,
    TimeSpan BlobChunkTimeout,
    TimeSpan StopGrace,
    int MaxReportBytes,
    TimeSpan PollInterval,
    TimeSpan ReproduceGrace,
    int ReproduceAttempts,
    TimeSpan SyncInterval,
    TimeSpan InitialSyncTimeout,
    CorpusSyncLimits SyncLimits)
{
    public const string Section = "pandafuzz.bot";

    /// <summary>Reads and validates the section; slots = 0 means one per core.</summary>
    public static BotSettings From(Config config)
    {
        var r = new HoconReader(config, Section);
        var slots = r.Int("slots", 0, 1024);
        return new BotSettings(
            slots == 0 ? Environment.ProcessorCount : slots,
            r.PositiveDuration("check-in-interval"),
            r.PositiveDuration("stats-interval"),
            r.PositiveDuration("retry-interval"),
            r.PositiveDuration("restart-delay"),
            r.PositiveDuration("minimum-run"),
            r.PositiveDuration("blob-chunk-timeout"),
            r.PositiveDuration("stop-grace"),
            (int)Math.Min(r.Bytes("max-report-size", 1024), 1024 * 1024),
            r.PositiveDuration("poll-interval"),
            r.PositiveDuration("reproduce-grace"),
            r.Int("reproduce-attempts", 1, 100),
            r.PositiveDuration("corpus-sync.interval"),
            r.PositiveDuration("corpus-sync.initial-timeout"),
            new CorpusSyncLimits(
                r.Int("corpus-sync.max-entries-per-round", 1, 100_000),
                r.Bytes("corpus-sync.max-bytes-per-round", 1),
                r.Bytes("corpus-sync.max-entry-size", 1),
                r.PositiveDuration("corpus-sync.ask-timeout")));
    }
}
