using System.Diagnostics;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using Akka.TestKit;
using FluentAssertions;
using PandaFuzz.Bot.Agent;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Findings;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Runner;
using PandaFuzz.Bot.Salvage;
using PandaFuzz.Bot.Tests.Support;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Bot.Tests.Salvage;

/// <summary>
/// Job dirs as a killed bot leaves them: <c>job.msg</c> written by a real job runner that is then stopped before its target
/// arrives, the real planted_bug target, and a real crash input of it as the engine's artifact. The salvage runs on them
/// with a test probe as the outbox and another as the agent.
/// </summary>
public sealed class SalvageTests : Akka.TestKit.Xunit2.TestKit, IClassFixture<PlantedBugFixture>, IClassFixture<AflTargetFixture>, IDisposable
{
    private const string FoundTemplate = "Job {JobId} found {CrashKind} {Input} ({Size} bytes)";

    /// <summary>"FUZ" and a length byte of 32: planted_bug writes 32 bytes into its 8-byte heap buffer.</summary>
    private static readonly byte[] PlantedCrash = [(byte)'F', (byte)'U', (byte)'Z', 32];

    private static readonly BotId Bot = new("bot-test");

    private const string BlobPath = "akka://bot/user/bot-blobs";

    /// <summary>Two reproductions, as a live finding gets with these settings; no repeated offer while the test thread answers.</summary>
    private static readonly BotSettings Settings = BotTestConfig.Fast() with { ReproduceAttempts = 2, RetryInterval = TimeSpan.FromSeconds(30) };

    private static readonly TimeSpan TriageTimeout = TimeSpan.FromSeconds(60);

    private readonly PlantedBugFixture _plantedBug;
    private readonly AflTargetFixture _afl;
    private readonly ITestOutputHelper _output;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-salvage-tests-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly BotStorage _storage;
    private readonly TestProbe _logs;

    public SalvageTests(PlantedBugFixture plantedBug, AflTargetFixture afl, ITestOutputHelper output)
        : base(BotTestConfig.Hocon(), "bot", output)
    {
        _plantedBug = plantedBug;
        _afl = afl;
        _output = output;
        _storage = new BotStorage(_root);
        _logs = CreateTestProbe();
        Sys.EventStream.Subscribe(_logs, typeof(Info));
        Sys.EventStream.Subscribe(_logs, typeof(Warning));
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
    public async Task A_libfuzzer_crash_left_by_a_killed_bot_is_triaged_and_kept_by_the_outbox_before_its_artifact_and_dir_go()
    {
        var engine = new LibFuzzerEngine();
        var (start, dir) = await LeaveJobDirAsAKilledBotAsync(engine, _plantedBug.Binary, 1);
        var artifactName = "crash-" + Convert.ToHexStringLower(SHA1.HashData(PlantedCrash));
        await File.WriteAllBytesAsync(Path.Combine(dir.Artifacts, artifactName), PlantedCrash);
        var expected = await AnalyzeAsync(engine, start.Spec, dir, Path.Combine(dir.Artifacts, artifactName));
        JobMessageFile.Read(Sys.Serialization, dir).Job.Should().BeEquivalentTo(start);

        SalvageActor.HandOver(_storage, Sys.Serialization, Sys.Log).Should().Be(1);
        Directory.Exists(dir.Root).Should().BeFalse("the job id's work dir is free for a new run as soon as the agent checks in");
        var (agent, outbox) = StartSalvage(engine);

        var report = ExpectReport(outbox);
        report.CampaignId.Should().Be(start.CampaignId);
        report.JobId.Should().Be(start.JobId);
        report.BotId.Should().Be(Bot);
        report.BlobSourcePath.Should().Be(BlobPath);
        var finding = report.Finding;
        finding.Kind.Should().Be("Heap-buffer-overflow WRITE 1");
        finding.State.Should().Be("LLVMFuzzerTestOneInput");
        finding.Signature.Should().Be(expected.Signature);
        finding.Security.Should().BeTrue();
        (finding.Reproduced, finding.ReproduceAttempts).Should().Be((2, 2));
        finding.ArtifactName.Should().Be(artifactName);
        finding.Input.Should().Be(BlobId.Of(PlantedCrash));
        finding.InputSize.Should().Be(PlantedCrash.Length);
        (await File.ReadAllBytesAsync(_storage.Outbox.PathOf(finding.Input))).Should().Equal(PlantedCrash);
        outbox.HasMessages.Should().BeFalse("one report per finding");
        var salvaged = _storage.SalvageDirs().Should().ContainSingle().Subject;
        File.Exists(Path.Combine(salvaged.Artifacts, artifactName)).Should().BeTrue("nothing is deleted before the outbox has the report on disk");
        ExpectFoundLine(start.JobId, finding);

        outbox.Reply(new OutboxCommands.Kept(OutboxEntry.Of(report)!.Key));

        agent.ExpectMsg<SalvageFinished>().Should().Be(new SalvageFinished(Reported: 1, Removed: 1, LeftAlone: 0));
        Directory.Exists(salvaged.Root).Should().BeFalse();
        _storage.JobDirs().Should().BeEmpty();
    }

    [Fact]
    public async Task An_afl_crash_left_by_a_killed_bot_is_salvaged_like_a_live_one()
    {
        var engine = new AflPlusPlusEngine();
        var (start, dir) = await LeaveJobDirAsAKilledBotAsync(engine, _afl.PlantedBug, 2);
        var crashes = Path.Combine(dir.Output, AflPlusPlusEngine.InstanceName, "crashes");
        Directory.CreateDirectory(crashes);
        const string artifactName = "id:000000,sig:06,src:000000,time:412,execs:1187,op:havoc,rep:2";
        await File.WriteAllBytesAsync(Path.Combine(crashes, artifactName), PlantedCrash);
        await File.WriteAllTextAsync(Path.Combine(crashes, "README.txt"), "Command line used to find this crash: ...");
        SalvageActor.HandOver(_storage, Sys.Serialization, Sys.Log).Should().Be(1);
        var (agent, outbox) = StartSalvage(engine);

        var finding = ExpectReport(outbox).Finding;
        outbox.HasMessages.Should().BeFalse("one report per finding");
        finding.Kind.Should().Be("Heap-buffer-overflow WRITE 1");
        finding.ArtifactName.Should().Be(artifactName);
        (finding.Reproduced, finding.ReproduceAttempts).Should().Be((2, 2));
        (await File.ReadAllBytesAsync(_storage.Outbox.PathOf(finding.Input))).Should().Equal(PlantedCrash);
        ExpectFoundLine(start.JobId, finding);

        outbox.Reply(new OutboxCommands.Kept(OutboxEntry.Of(new CampaignCommands.ReportCrash(start.CampaignId, start.JobId, Bot, finding, BlobPath))!.Key));

        agent.ExpectMsg<SalvageFinished>().Should().Be(new SalvageFinished(1, 1, 0));
        _storage.SalvageDirs().Should().BeEmpty();
    }

    [Fact]
    public async Task A_salvage_stopped_before_the_outbox_kept_the_report_reports_it_again_and_then_never_again()
    {
        var engine = new LibFuzzerEngine();
        var (_, dir) = await LeaveJobDirAsAKilledBotAsync(engine, _plantedBug.Binary, 3);
        await File.WriteAllBytesAsync(Path.Combine(dir.Artifacts, "crash-0123"), PlantedCrash);
        SalvageActor.HandOver(_storage, Sys.Serialization, Sys.Log).Should().Be(1);
        var (_, firstOutbox) = StartSalvage(engine, out var first);
        var offered = ExpectReport(firstOutbox);
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);
        File.Exists(Path.Combine(_storage.SalvageDirs().Single().Artifacts, "crash-0123")).Should().BeTrue();

        // The next start of the bot: nothing new to hand over, the interrupted salvage is taken up again.
        SalvageActor.HandOver(_storage, Sys.Serialization, Sys.Log).Should().Be(0);
        var (secondAgent, secondOutbox) = StartSalvage(engine);
        var again = ExpectReport(secondOutbox);
        OutboxEntry.Of(again)!.Key.Should().Be(OutboxEntry.Of(offered)!.Key, "the outbox replaces a report offered twice; the master ignores a second delivery");
        again.Finding.Input.Should().Be(offered.Finding.Input);
        secondOutbox.Reply(new OutboxCommands.Kept(OutboxEntry.Of(again)!.Key));
        secondAgent.ExpectMsg<SalvageFinished>().Should().Be(new SalvageFinished(1, 1, 0));

        // And the one after: the data dir has nothing left, so nothing is reported.
        SalvageActor.HandOver(_storage, Sys.Serialization, Sys.Log).Should().Be(0);
        var (thirdAgent, thirdOutbox) = StartSalvage(engine);
        thirdAgent.ExpectMsg<SalvageFinished>().Should().Be(new SalvageFinished(0, 0, 0));
        // The salvage offers before it finishes: a report would already be in the probe's queue.
        thirdOutbox.HasMessages.Should().BeFalse();
    }

    [Fact]
    public async Task A_job_dir_without_a_readable_job_msg_is_left_alone_with_one_warning()
    {
        var noMessage = _storage.WorkDirOf(BotTestConfig.Job(4));
        noMessage.Create();
        await File.WriteAllBytesAsync(Path.Combine(noMessage.Artifacts, "crash-1111"), PlantedCrash);
        var damaged = _storage.WorkDirOf(BotTestConfig.Job(5));
        damaged.Create();
        await File.WriteAllBytesAsync(Path.Combine(damaged.Artifacts, "crash-2222"), PlantedCrash);
        await File.WriteAllTextAsync(damaged.JobMessage, "PFOX but not really");

        SalvageActor.HandOver(_storage, Sys.Serialization, Sys.Log).Should().Be(0);
        var (agent, outbox) = StartSalvage(new LibFuzzerEngine());

        agent.ExpectMsg<SalvageFinished>().Should().Be(new SalvageFinished(0, 0, 0));
        outbox.HasMessages.Should().BeFalse("one report per finding");
        File.Exists(Path.Combine(noMessage.Artifacts, "crash-1111")).Should().BeTrue();
        File.Exists(Path.Combine(damaged.Artifacts, "crash-2222")).Should().BeTrue();
        var warnings = LogLines().OfType<Warning>().Select(Text).Where(w => w.Contains("left alone")).ToList();
        warnings.Should().HaveCount(2);
        warnings.Should().ContainSingle(w => w.Contains(noMessage.Root) && w.Contains("has no job.msg"));
        warnings.Should().ContainSingle(w => w.Contains(damaged.Root) && w.Contains("unreadable"));
    }

    [Fact]
    public async Task Handing_over_many_dirs_without_findings_is_quick_and_the_salvage_removes_them()
    {
        const int count = 200;
        var engine = new LibFuzzerEngine();
        for (var i = 0; i < count; i++)
        {
            var dir = _storage.WorkDirOf(BotTestConfig.Job(100 + i));
            dir.Create();
            JobMessageFile.Write(Sys.Serialization, dir, StartOf(BotTestConfig.Job(100 + i), engine, BlobId.Of("target"u8)));
            for (var entry = 0; entry < 20; entry++)
            {
                await File.WriteAllTextAsync(Path.Combine(dir.Corpus, $"input-{entry}"), $"corpus entry {entry}");
            }
        }

        var handOver = Stopwatch.StartNew();
        SalvageActor.HandOver(_storage, Sys.Serialization, Sys.Log).Should().Be(count);
        handOver.Stop();
        var salvage = Stopwatch.StartNew();
        var (agent, outbox) = StartSalvage(engine);
        agent.ExpectMsg<SalvageFinished>(TimeSpan.FromSeconds(30)).Should().Be(new SalvageFinished(0, count, 0));
        salvage.Stop();

        _output.WriteLine($"hand-over of {count} dirs without findings: {handOver.ElapsedMilliseconds} ms; their salvage (removal): {salvage.ElapsedMilliseconds} ms");
        outbox.HasMessages.Should().BeFalse("one report per finding");
        _storage.JobDirs().Should().BeEmpty();
        _storage.SalvageDirs().Should().BeEmpty();
    }

    /// <summary>
    /// A real runner starts the job (and writes job.msg); the bot "dies" before the target comes from the absent master, and
    /// the target is put where the runner would have put it.
    /// </summary>
    private async Task<(AgentCommands.StartJob Start, JobWorkDir Dir)> LeaveJobDirAsAKilledBotAsync(IFuzzingEngine engine, string binary, int index)
    {
        var start = StartOf(BotTestConfig.Job(index), engine, BlobId.Of(await File.ReadAllBytesAsync(binary)));
        var dir = _storage.WorkDirOf(start.JobId);
        var runner = Sys.ActorOf(Props.Create(() => new JobRunnerActor(start, Bot, engine, Settings, dir, _storage.Targets, _storage.Outbox, BlobPath,
            CreateTestProbe(), CreateTestProbe(), CreateTestProbe())), "job-" + index);
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(dir.JobMessage)), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);
        File.Copy(binary, dir.Target);
        return (start, dir);
    }

    private static AgentCommands.StartJob StartOf(JobId job, IFuzzingEngine engine, BlobId target) =>
        new(job, BotTestConfig.Campaign, new JobSpec(target, engine.Name, 600, 2048, 1500, null), "akka://bot/user/no-master-blobs", DateTimeOffset.UtcNow);

    private (TestProbe Agent, TestProbe Outbox) StartSalvage(IFuzzingEngine engine) => StartSalvage(engine, out _);

    private (TestProbe Agent, TestProbe Outbox) StartSalvage(IFuzzingEngine engine, out IActorRef salvage)
    {
        var agent = CreateTestProbe();
        var outbox = CreateTestProbe();
        var engines = new Dictionary<string, IFuzzingEngine> { [engine.Name] = engine };
        salvage = agent.ChildActorOf(Props.Create(() => new SalvageActor(Bot, engines, Settings, _storage, BlobPath, outbox)));
        return (agent, outbox);
    }

    private static CampaignCommands.ReportCrash ExpectReport(TestProbe outbox) =>
        outbox.ExpectMsg<OutboxCommands.Put>(TriageTimeout).Message.Should().BeOfType<CampaignCommands.ReportCrash>().Subject;

    /// <summary>The live finding's log line, template and all (a test parses it), then the line that says it was salvaged.</summary>
    private void ExpectFoundLine(JobId job, CrashFinding finding)
    {
        var lines = LogLines().OfType<Info>().ToList();
        var found = lines.Select(l => l.Message).OfType<LogMessage>().Should().ContainSingle(l => l.Format == FoundTemplate).Subject;
        found.ToString().Should().Be($"Job {job} found {finding.Kind} {finding.Input} ({finding.InputSize} bytes)");
        lines.Select(Text).Should().ContainSingle(l => l.StartsWith($"Job {job}: salvaged ") && l.Contains(finding.ArtifactName));
    }

    /// <summary>The log events published so far (logging publishes on the caller's thread, so they are queued already).</summary>
    private List<LogEvent> LogLines()
    {
        var lines = new List<LogEvent>();
        while (_logs.HasMessages)
        {
            lines.Add((LogEvent)_logs.ReceiveOne(TimeSpan.Zero)!);
        }

        return lines;
    }

    private static string Text(LogEvent e) => e.Message.ToString() ?? string.Empty;

    /// <summary>The analysis of one reproduction run by the test itself, for the signature the salvaged report must carry.</summary>
    private static async Task<CrashAnalysis> AnalyzeAsync(IFuzzingEngine engine, JobSpec spec, JobWorkDir dir, string input)
    {
        var (exitCode, output) = await OneShotRun.RunAsync(engine.Reproduce(spec, dir, input), TimeSpan.FromSeconds(30), 256 * 1024);
        exitCode.Should().NotBe(0, "the planted input must crash planted_bug; output:\n{0}", output);
        return CrashAnalyzer.Analyze(output, CrashKinds.Crash, spec.TargetLabel);
    }
}
