using Akka.Actor;
using Akka.Configuration;
using FluentAssertions;
using PandaFuzz.Bot.Agent;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Runner;
using PandaFuzz.Bot.Simulation;
using PandaFuzz.Bot.Tests.Support;
using PandaFuzz.Infrastructure.Configuration;
using PandaFuzz.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Bot.Tests.Simulation;

/// <summary>
/// The simulated engine under a real job runner: its stats reach the master, its crashes are reproduced by a real process
/// whose report signs each bug apart, and its target file is checked with messages that say what is wrong.
/// </summary>
public sealed class SimulatedEngineTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-simulated-tests-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly BotStorage _storage;

    public SimulatedEngineTests(ITestOutputHelper output)
        : base(BotTestConfig.Hocon(), "bot", output)
    {
        _storage = new BotStorage(_root);
    }

    public new void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    [Fact]
    public void A_target_file_sets_the_rates_and_round_trips_through_its_text()
    {
        var (target, error) = SimulatedTarget.Parse("""
            pandafuzz-simulated-target
            # a comment
            execs-per-second = 2500
            crashes-per-minute = 1.5
            signatures = 7

            inputs-per-minute = 3
            tick-ms = 250
            """);

        error.Should().BeNull();
        target.Should().Be(new SimulatedTarget(2500, 1.5, 7, 3, TimeSpan.FromMilliseconds(250)));
        SimulatedTarget.Parse(target!.ToText()).Target.Should().Be(target);
        SimulatedTarget.Parse(SimulatedTarget.Magic).Target.Should().Be(SimulatedTarget.Default);
    }

    [Theory]
    [InlineData("\x7f" + "ELF binary", "not a simulated target: its first line must be 'pandafuzz-simulated-target'")]
    [InlineData("pandafuzz-simulated-target\nspeed = 3", "line 2: unknown key 'speed'")]
    [InlineData("pandafuzz-simulated-target\nsignatures = 0", "line 2: signatures = 0 is out of range (a whole number from 1 to 1000000)")]
    [InlineData("pandafuzz-simulated-target\nsignatures = 2.5", "line 2: signatures = 2.5 is out of range")]
    [InlineData("pandafuzz-simulated-target\n\ntick-ms = fast", "line 3: tick-ms must be a number >= 0, got 'fast'")]
    [InlineData("pandafuzz-simulated-target\ncrashes-per-minute", "line 2: expected 'key = value', got 'crashes-per-minute'")]
    public void A_bad_target_file_is_refused_with_the_line_and_the_reason(string text, string expected)
    {
        var (target, error) = SimulatedTarget.Parse(text);

        target.Should().BeNull();
        error.Should().StartWith(expected);
    }

    [Fact]
    public void More_than_one_bot_per_node_needs_the_simulated_engine()
    {
        var config = ConfigurationFactory.ParseString("pandafuzz.bot.simulation { enabled = off, bots = 3 }")
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(RepoFile("hocon/bot.conf"))));

        var act = () => BotSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.bot.simulation.bots='3' is invalid: expected 1 while pandafuzz.bot.simulation.enabled is off*");
        BotSettings.From(ConfigurationFactory.ParseString("pandafuzz.bot.simulation { enabled = on, bots = 3 }").WithFallback(config))
            .Simulation.Should().Be(new SimulationSettings(true, 3));
        BotHosting.KnownEngines(new SimulationSettings(true, 3)).Select(e => e.Name).Should().Equal(EngineNames.Simulated);
        BotHosting.KnownEngines(SimulationSettings.Default).Select(e => e.Name).Should().NotContain(EngineNames.Simulated);
    }

    [Fact]
    public async Task A_simulated_job_reports_stats_and_crashes_that_a_real_process_reproduces_and_signs_per_bug()
    {
        var target = new SimulatedTarget(5000, CrashesPerMinute: 600, Signatures: 2, InputsPerMinute: 0, TimeSpan.FromMilliseconds(100));
        var (id, _) = await _storage.Targets.PutAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(target.ToText())), long.MaxValue);
        var job = BotTestConfig.Job(1);
        var start = new AgentCommands.StartJob(job, BotTestConfig.Campaign, new JobSpec(id, EngineNames.Simulated, 600, 2048, 1000, null),
            "akka://bot/user/no-master-blobs", DateTimeOffset.UtcNow);
        var outbox = CreateTestProbe();
        var jobs = CreateTestProbe();
        var corpora = Sys.ActorOf(Props.Create(() => new NoCorpus()));
        var runner = Sys.ActorOf(Props.Create(() => new JobRunnerActor(start, new BotId("bot-test"), new SimulatedEngine(), BotTestConfig.Fast(),
            _storage.WorkDirOf(job), _storage.Targets, _storage.Outbox, "akka://bot/user/bot-blobs", jobs, outbox, corpora)), "job-1");

        var stats = jobs.FishForMessage<JobCommands.ReportJobStats>(r => r.Stats.Execs > 0, TimeSpan.FromSeconds(20));
        stats.Stats.ExecsPerSecond.Should().Be(5000);

        // Crashes until both bugs are seen; each was run again by /bin/sh and signed from that run's report.
        var signatures = new Dictionary<string, CrashFinding>();
        while (signatures.Count < 2)
        {
            var put = outbox.FishForMessage<OutboxCommands.Put>(p => p.Message is CampaignCommands.ReportCrash, TimeSpan.FromSeconds(20));
            var finding = ((CampaignCommands.ReportCrash)put.Message).Finding;
            outbox.Reply(new OutboxCommands.Kept(OutboxEntry.Of(put.Message)!.Key));
            finding.Reproduced.Should().Be(1, "the reproduction ran and crashed");
            finding.State.Should().MatchRegex("^simulated_bug_[01]");
            signatures.TryAdd(finding.Signature!, finding);
        }

        signatures.Values.Select(f => f.State).Distinct().Should().HaveCount(2);

        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);
    }

    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PandaFuzz.sln")))
            {
                return Path.Combine(dir.FullName, relative);
            }
        }

        throw new FileNotFoundException(relative);
    }

    /// <summary>The master's corpus region as a new campaign has it: nothing to pull, nothing taken.</summary>
    private sealed class NoCorpus : ReceiveActor
    {
        public NoCorpus() => ReceiveAny(_ => Sender.Tell(new CommandRejected("no corpus in this test", RejectionKind.NotFound)));
    }
}
