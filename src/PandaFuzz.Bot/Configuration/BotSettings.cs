using Akka.Configuration;
using PandaFuzz.Bot.Runner;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Infrastructure.Configuration;

namespace PandaFuzz.Bot.Configuration;

/// <summary>The <c>pandafuzz.bot</c> section; the property defaults equal the shipped bot.conf.</summary>
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

    public OutboxSettings Outbox { get; init; } = OutboxSettings.Default;

    public EngineSupervisionSettings Engine { get; init; } = EngineSupervisionSettings.Default;

    /// <summary>libFuzzer jobs run <c>-fork=1 -ignore_*</c>, going on past the bugs they found.</summary>
    public bool LibFuzzerFork { get; init; } = true;

    /// <summary>Of an AFL++ campaign's secondaries, the first and then every this many run the build's CMPLOG binary (<c>-c</c>).</summary>
    public int AflCmplogEvery { get; init; } = 2;

    /// <summary>A -fork run reads its corpus only as it starts: with other jobs' inputs waiting, it restarts after this long.</summary>
    public TimeSpan LibFuzzerForkReload { get; init; } = TimeSpan.FromMinutes(5);

    public SandboxSettings Sandbox { get; init; } = SandboxSettings.Default;

    /// <summary>Each job's processes on a core of their own (<see cref="CoreLeases"/>); an empty lock dir means the machine's default.</summary>
    public CpuPinningSettings CpuPinning { get; init; } = CpuPinningSettings.Default;

    public SimulationSettings Simulation { get; init; } = SimulationSettings.Default;

    /// <summary>slots = 0 means one per core.</summary>
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
                r.PositiveDuration("corpus-sync.ask-timeout")))
        {
            Outbox = new OutboxSettings(
                r.PositiveDuration("outbox.first-retry-delay"),
                r.PositiveDuration("outbox.max-retry-delay"),
                r.PositiveDuration("outbox.ask-timeout"),
                r.Int("outbox.failures-before-open", 1, 1000),
                r.PositiveDuration("outbox.open-duration"),
                r.Int("outbox.max-in-flight", 1, 10_000)),
            Engine = new EngineSupervisionSettings(
                r.PositiveDuration("engine-max-restart-delay"),
                r.Int("engine-max-failures", 1, 1000),
                r.PositiveDuration("engine-healthy-run"),
                r.PositiveDuration("engine-stall-timeout")),
            LibFuzzerFork = r.Bool("libfuzzer-fork"),
            AflCmplogEvery = r.Int("aflplusplus.cmplog-every", 1, 1000),
            LibFuzzerForkReload = r.PositiveDuration("libfuzzer-fork-reload"),
            Sandbox = SandboxSettings.From(config),
            CpuPinning = new CpuPinningSettings(r.Bool("cpu-pinning.enabled"), r.String("cpu-pinning.lock-dir").Trim(), r.Bool("cpu-pinning.node-off-fuzzing-cores")),
            Simulation = SimulationSettings.From(r),
        };
    }
}

/// <summary>The <c>pandafuzz.bot.cpu-pinning</c> section.</summary>
public sealed record CpuPinningSettings(bool Enabled, string LockDir, bool NodeOffFuzzingCores)
{
    public static readonly CpuPinningSettings Default = new(true, "", true);

    /// <summary>The folder of the machine's core locks: the one set, else one every bot of the machine finds.</summary>
    public string LockDirOrDefault => LockDir.Length > 0 ? LockDir : CoreLeases.DefaultLockDir();
}

/// <summary>For tests and benchmarks; more than one bot per node only with the simulated engine, since real fuzzers share the cores.</summary>
public sealed record SimulationSettings(bool Enabled, int Bots)
{
    private const string Section = BotSettings.Section;

    public const int MaxBots = 10_000;

    public static readonly SimulationSettings Default = new(false, 1);

    public static SimulationSettings From(HoconReader r)
    {
        var enabled = r.Bool("simulation.enabled");
        var bots = r.Int("simulation.bots", 1, MaxBots);
        if (bots > 1 && !enabled)
        {
            throw HoconReader.Invalid($"{Section}.simulation.bots", bots.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"1 while {Section}.simulation.enabled is off: more bots per node are for the simulated engine alone");
        }

        return new SimulationSettings(enabled, bots);
    }
}

/// <summary>Retries of the outbox: exponential backoff with jitter per message, behind one circuit breaker.</summary>
public sealed record OutboxSettings(
    TimeSpan FirstRetryDelay,
    TimeSpan MaxRetryDelay,
    TimeSpan AskTimeout,
    int FailuresBeforeOpen,
    TimeSpan OpenDuration,
    int MaxInFlight)
{
    public static readonly OutboxSettings Default = new(
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(30), 5, TimeSpan.FromSeconds(30), 16);
}

/// <summary>Restarts of engine processes that fail (backoff from restart-delay up to <see cref="MaxRestartDelay"/>) or hang.</summary>
public sealed record EngineSupervisionSettings(
    TimeSpan MaxRestartDelay,
    int MaxFailures,
    TimeSpan HealthyRun,
    TimeSpan StallTimeout)
{
    public static readonly EngineSupervisionSettings Default = new(
        TimeSpan.FromSeconds(60), 5, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60));
}
