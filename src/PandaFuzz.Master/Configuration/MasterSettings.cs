using Akka.Configuration;
using PandaFuzz.Infrastructure.Configuration;

namespace PandaFuzz.Master.Configuration;

/// <summary>Time limits and sizes of the master role, from the <c>pandafuzz.master</c> HOCON section.</summary>
public sealed record MasterSettings(
    TimeSpan JobStartTimeout,
    TimeSpan JobSilenceTimeout,
    int JobMaxAttempts,
    TimeSpan JobDeadlineGrace,
    TimeSpan PendingReannounceInterval,
    TimeSpan BotCheckInTimeout,
    TimeSpan RetryInterval,
    TimeSpan SchedulerOfferTimeout,
    TimeSpan BlobChunkTimeout,
    int SnapshotEvery,
    long MaxTargetBytes,
    long MaxCrashInputBytes,
    long MaxCorpusEntryBytes,
    int CorpusPageSize,
    TimeSpan StatsSeriesInterval,
    int StatsSeriesPoints,
    int CrashSamples,
    int CampaignSnapshotEvery,
    TimeSpan CrashMinimizationTime,
    WebhookSettings Webhooks)
{
    public const string Section = "pandafuzz.master";

    public ReadModelSettings ReadModel { get; init; } = ReadModelSettings.Default;

    public StorageSettings Storage { get; init; } = StorageSettings.Sqlite;

    /// <summary>The largest JSON body (or any body of a route without its own limit) the API reads.</summary>
    public long MaxJsonBytes { get; init; } = 256 * 1024;
    public SchedulerSettings Scheduler { get; init; } = SchedulerSettings.FirstComeFirstServed;

    public int SchedulerMaxOffers { get; init; } = 256;

    public BlobGcSettings BlobGc { get; init; } = BlobGcSettings.Default;

    public StatsHistorySettings StatsHistory { get; init; } = StatsHistorySettings.Default;

    public CoverageSettings Coverage { get; init; } = CoverageSettings.Default;

    /// <summary>How long an idle job entity stays in memory; raised to 1.5 × its longer timer by <see cref="From"/>.</summary>
    public TimeSpan JobPassivateAfter { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>Queued jobs kept in memory, the oldest first; the rest wait in the journal (see master.conf's pending-jobs-in-memory).</summary>
    public int PendingJobsInMemory { get; init; } = 5000;

    public int PendingJobsWokenPerSecond { get; init; } = 100;

    public static MasterSettings From(Config config)
    {
        var r = new HoconReader(config, Section);
        var settings = new MasterSettings(
            r.PositiveDuration("job-start-timeout"),
            r.PositiveDuration("job-silence-timeout"),
            r.Int("job-max-attempts", 1, 1000),
            r.PositiveDuration("job-deadline-grace"),
            r.PositiveDuration("pending-reannounce-interval"),
            r.PositiveDuration("bot-check-in-timeout"),
            r.PositiveDuration("retry-interval"),
            r.PositiveDuration("scheduler-offer-timeout"),
            r.PositiveDuration("blob-chunk-timeout"),
            r.Int("snapshot-every", 1, 100_000),
            r.Bytes("max-target-size", 1),
            r.Bytes("max-crash-input-size", 1),
            r.Bytes("max-corpus-entry-size", 1),
            r.Int("corpus-page-size", 1, 10_000),
            r.PositiveDuration("stats-series-interval"),
            r.Int("stats-series-points", 1, 100_000),
            r.Int("crash-samples", 1, 1000),
            r.Int("campaign-snapshot-every", 1, 1_000_000),
            r.PositiveDuration("crash-minimization-time"),
            new WebhookSettings(
                r.HttpUrls("webhooks.urls"),
                r.PositiveDuration("webhooks.timeout"),
                r.Int("webhooks.max-attempts", 1, 100),
                r.PositiveDuration("webhooks.first-retry"),
                r.String("webhooks.secret")))
        {
            ReadModel = new ReadModelSettings(
                r.Bool("read-model.migrate-on-start"),
                r.Int("read-model.batch-size", 1, 100_000),
                r.PositiveDuration("read-model.batch-window"))
            {
                PollInterval = r.PositiveDuration("read-model.poll-interval"),
                IdlePollInterval = r.PositiveDuration("read-model.idle-poll-interval"),
            },
            Storage = StorageSettings.From(config),
            MaxJsonBytes = r.Bytes("api.max-json-size", 1024),
            Scheduler = SchedulerSettings.From(config),
            SchedulerMaxOffers = r.Int("scheduler-max-offers", 1, 100_000),
            JobPassivateAfter = r.PositiveDuration("job-passivate-after"),
            PendingJobsInMemory = r.Int("pending-jobs-in-memory", 1, 10_000_000),
            PendingJobsWokenPerSecond = r.Int("pending-jobs-woken-per-second", 1, 100_000),
            BlobGc = new BlobGcSettings(r.Bool("blob-gc.enabled"), r.PositiveDuration("blob-gc.interval"), r.PositiveDuration("blob-gc.grace")),
            StatsHistory = new StatsHistorySettings(
                r.PositiveDuration("stats-history.fine-for"),
                r.PositiveDuration("stats-history.coarse-step"),
                r.PositiveDuration("stats-history.flush-interval"),
                r.PositiveDuration("stats-history.compact-interval")),
            Coverage = new CoverageSettings(r.DurationOrOff("coverage.interval"), r.Bool("coverage.at-end"), r.PositiveDuration("coverage.time-limit")),
        };
        if (settings.StatsHistory.CoarseStep < settings.StatsSeriesInterval)
        {
            throw new ConfigurationException(
                $"{Section}.stats-history.coarse-step ({settings.StatsHistory.CoarseStep}) must be at least {Section}.stats-series-interval ({settings.StatsSeriesInterval})");
        }

        if (settings.Coverage.TimeLimit < TimeSpan.FromSeconds(10) || settings.Coverage.TimeLimit > TimeSpan.FromDays(1))
        {
            throw HoconReader.Invalid($"{Section}.coverage.time-limit", settings.Coverage.TimeLimit.ToString(), "a duration from 10s to 1d");
        }

        // A job's start and silence timers live in its entity: passivated first, a job would wait for them forever.
        var floor = (settings.JobStartTimeout > settings.JobSilenceTimeout ? settings.JobStartTimeout : settings.JobSilenceTimeout) * 1.5;
        if (settings.JobPassivateAfter < floor)
        {
            settings = settings with { JobPassivateAfter = floor };
        }

        return settings;
    }
}

/// <summary>The read model's migration on start, and how the projection batches events into transactions.</summary>
/// <summary>
/// How jobs' stats are kept (<c>pandafuzz.master.stats-history</c>): one point per <c>stats-series-interval</c> for
/// <see cref="FineFor"/>, then one per <see cref="CoarseStep"/>; samples are written every <see cref="FlushInterval"/>.
/// </summary>
public sealed record StatsHistorySettings(TimeSpan FineFor, TimeSpan CoarseStep, TimeSpan FlushInterval, TimeSpan CompactInterval)
{
    public static readonly StatsHistorySettings Default = new(TimeSpan.FromDays(1), TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(2), TimeSpan.FromHours(1));
}

/// <summary>
/// When campaigns measure their source coverage by themselves (<c>pandafuzz.master.coverage</c>): a running campaign every
/// <see cref="Interval"/> (null: only when asked), a finished one once at its end (<see cref="AtEnd"/>); each measurement
/// is a job of <see cref="TimeLimit"/> at most.
/// </summary>
public sealed record CoverageSettings(TimeSpan? Interval, bool AtEnd, TimeSpan TimeLimit)
{
    public static readonly CoverageSettings Default = new(TimeSpan.FromHours(6), true, TimeSpan.FromMinutes(10));

    /// <summary>How often the master looks for running campaigns due a measurement: often enough to keep the interval.</summary>
    public TimeSpan CheckEvery => Interval is { } every && every < TimeSpan.FromMinutes(1) ? every : TimeSpan.FromMinutes(1);
}

public sealed record ReadModelSettings(bool MigrateOnStart, int BatchSize, TimeSpan BatchWindow)
{
    public static readonly ReadModelSettings Default = new(true, 500, TimeSpan.FromMilliseconds(50));

    /// <summary>How often the projection polls the journal while events come.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often it polls when nothing was written for a while and this process writes nothing.</summary>
    public TimeSpan IdlePollInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>Where new unique crashes are announced, and how hard each POST is tried.</summary>
public sealed record WebhookSettings(IReadOnlyList<Uri> Urls, TimeSpan Timeout, int MaxAttempts, TimeSpan FirstRetry, string Secret = "")
{
    public static readonly WebhookSettings None = new([], TimeSpan.FromSeconds(10), 1, TimeSpan.FromSeconds(1));

    /// <summary>Does not print the secret.</summary>
    public override string ToString() => $"WebhookSettings {{ Urls = {Urls.Count}, Timeout = {Timeout}, MaxAttempts = {MaxAttempts}, FirstRetry = {FirstRetry}, Signed = {Secret.Length > 0} }}";

    // Records compare lists by reference; settings compare by content.
    public bool Equals(WebhookSettings? other) =>
        other is not null && Urls.SequenceEqual(other.Urls) && Timeout == other.Timeout && MaxAttempts == other.MaxAttempts && FirstRetry == other.FirstRetry
        && Secret == other.Secret;

    public override int GetHashCode() => HashCode.Combine(Urls.Count, Timeout, MaxAttempts, FirstRetry);
}

/// <summary>
/// <c>pandafuzz.master.scheduler</c>: campaign id → weight (1 to 1000). With any weight set, free slots go to the campaign
/// holding the fewest slots per unit of weight; unlisted campaigns weigh 1. Reloaded at run time.
/// </summary>
public sealed record SchedulerSettings(IReadOnlyDictionary<string, int> CampaignWeights)
{
    public const string Section = "pandafuzz.master.scheduler";

    public static readonly SchedulerSettings FirstComeFirstServed = new(new Dictionary<string, int>());

    public static SchedulerSettings From(Config config)
    {
        var weights = new Dictionary<string, int>(StringComparer.Ordinal);
        var key = $"{Section}.campaign-weights";
        if (!config.HasPath(key))
        {
            return FirstComeFirstServed;
        }

        var section = config.GetConfig(key);
        if (section is null || section.IsEmpty)
        {
            return FirstComeFirstServed;
        }

        foreach (var (name, value) in section.AsEnumerable())
        {
            var campaign = name.Trim('"');
            if (!PandaFuzz.Protocol.CampaignId.TryParse(campaign, out _))
            {
                throw HoconReader.Invalid($"{key}.{campaign}", value.ToString(), "a campaign id (12 lowercase hex digits, as the API lists it) as the key");
            }

            weights[campaign] = value.IsString() && int.TryParse(value.GetString(), System.Globalization.NumberStyles.Integer,
                System.Globalization.CultureInfo.InvariantCulture, out var weight) && weight is >= 1 and <= 1000
                ? weight
                : throw HoconReader.Invalid($"{key}.{campaign}", value.ToString(), "a whole number from 1 to 1000");
        }

        return new SchedulerSettings(weights);
    }

    // Records compare dictionaries by reference; settings compare by content.
    public bool Equals(SchedulerSettings? other) =>
        other is not null && CampaignWeights.Count == other.CampaignWeights.Count
        && CampaignWeights.All(w => other.CampaignWeights.TryGetValue(w.Key, out var v) && v == w.Value);

    public override int GetHashCode() => CampaignWeights.Count;
}

/// <summary>The periodic sweep of the blob store (<c>pandafuzz.master.blob-gc</c>; <c>pandafuzz db gc</c> runs one at once).</summary>
public sealed record BlobGcSettings(bool Enabled, TimeSpan Interval, TimeSpan Grace)
{
    public static readonly BlobGcSettings Default = new(true, TimeSpan.FromHours(6), TimeSpan.FromDays(7));
}
