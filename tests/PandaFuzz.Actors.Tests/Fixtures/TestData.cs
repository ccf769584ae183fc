using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;

namespace PandaFuzz.Actors.Tests.Fixtures;

/// <summary>Settings and specs the tests share; each test shortens only the timeout it is about.</summary>
public static class TestData
{
    /// <summary>Timeouts long enough never to fire during a test unless the test shortens them.</summary>
    public static MasterSettings Settings { get; } = new(
        JobStartTimeout: TimeSpan.FromMinutes(5),
        JobSilenceTimeout: TimeSpan.FromMinutes(5),
        JobMaxAttempts: 5,
        JobDeadlineGrace: TimeSpan.FromMinutes(5),
        PendingReannounceInterval: TimeSpan.FromMinutes(5),
        BotCheckInTimeout: TimeSpan.FromMinutes(5),
        RetryInterval: TimeSpan.FromSeconds(1),
        SchedulerOfferTimeout: TimeSpan.FromMinutes(5),
        BlobChunkTimeout: TimeSpan.FromSeconds(5),
        SnapshotEvery: 1_000,
        MaxTargetBytes: 64L << 20,
        MaxCrashInputBytes: 1L << 20,
        MaxCorpusEntryBytes: 1L << 20,
        CorpusPageSize: 500,
        StatsSeriesInterval: TimeSpan.FromSeconds(30),
        StatsSeriesPoints: 240,
        CrashSamples: 5,
        CampaignSnapshotEvery: 1_000,
        CrashMinimizationTime: TimeSpan.FromSeconds(120),
        Webhooks: WebhookSettings.None);

    public static readonly BlobId Target = BlobId.Of("a fuzz target"u8);

    public static CampaignSpec Spec(int jobs, string name = "parser") =>
        new(name, Target, EngineNames.LibFuzzer, jobs, DurationSeconds: 3600, MemoryLimitMb: 2048, TimeoutMs: 1000, Dictionary: null);

    public static BotCapabilities LibFuzzerBot(int slots) => new([new EngineCapability(EngineNames.LibFuzzer, "14")], slots, MemoryMb: 4096);

    public static FuzzerStats Stats(long execs) =>
        new(execs, ExecsPerSecond: 1000, Coverage: 42, Features: 64, CorpusUnits: 7, CorpusBytes: 512, RssMb: 30, DateTimeOffset.UtcNow);
}
