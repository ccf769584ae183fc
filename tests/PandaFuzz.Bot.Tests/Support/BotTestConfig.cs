using Akka.Configuration;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Tests.Support;

/// <summary>An actor system as a bot node has it where it matters here (the protocol serializer on its types), and quick settings.</summary>
internal static class BotTestConfig
{
    public static Config Hocon()
    {
        var serializer = QualifiedName(typeof(ProtocolSerializer));
        var bindings = string.Join(Environment.NewLine, ProtocolSerializer.BoundTypes.Select(t => $"\"{QualifiedName(t)}\" = pandafuzz"));
        return ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = INFO
              log-dead-letters-during-shutdown = off
              actor {
                serializers { pandafuzz = "{{serializer}}" }
                serialization-bindings {
                  {{bindings}}
                }
              }
              test.single-expect-default = 10s
            }
            """);
    }

    /// <summary>Settings with short pauses, so real engines restart and give up within a test's time.</summary>
    public static BotSettings Fast() =>
        new(Slots: 1,
            CheckInInterval: TimeSpan.FromSeconds(5),
            StatsInterval: TimeSpan.FromSeconds(1),
            RetryInterval: TimeSpan.FromSeconds(1),
            RestartDelay: TimeSpan.FromMilliseconds(200),
            MinimumRun: TimeSpan.FromSeconds(1),
            BlobChunkTimeout: TimeSpan.FromSeconds(5),
            StopGrace: TimeSpan.FromSeconds(1),
            MaxReportBytes: 64 * 1024,
            PollInterval: TimeSpan.FromMilliseconds(200),
            ReproduceGrace: TimeSpan.FromSeconds(10),
            ReproduceAttempts: 1,
            SyncInterval: TimeSpan.FromSeconds(30),
            InitialSyncTimeout: TimeSpan.FromSeconds(5),
            SyncLimits: new PandaFuzz.Bot.Runner.CorpusSyncLimits(200, 8 * 1024 * 1024, 1024 * 1024, TimeSpan.FromSeconds(2)));

    public static readonly CampaignId Campaign = new("0123456789ab");

    public static JobId Job(int index) => JobId.For(Campaign, index);

    /// <summary>A crash report as a runner builds it (the input's bytes are <paramref name="input"/>).</summary>
    public static CampaignCommands.ReportCrash Crash(JobId job, byte[] input) =>
        new(Campaign, job, new BotId("bot-test"), new CrashFinding(BlobId.Of(input), input.Length, "crash-x", "Heap-buffer-overflow WRITE 1",
            "summary", ["#0 f"], "output", DateTimeOffset.UtcNow, "sig", "f", true, 1, 1), "akka://bot/user/bot-blobs");

    private static string QualifiedName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
