using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.TestKit;
using FluentAssertions;
using PandaFuzz.Bot.Agent;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Runner;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Tests.Support;
using PandaFuzz.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Bot.Tests.Sandboxing;

/// <summary>
/// Real jobs of hostile targets under the sandbox with its shipped defaults, on this machine: a target that connects to a
/// listener, writes outside its work dir, fork-bombs or allocates past its memory limit is denied or stopped and the job
/// says so; the planted bug is still found by libFuzzer and AFL++ inside the sandbox. Each hostile target aborts (a crash
/// finding) when its attack works, so a sandbox that lets it through fails these tests. The measures are asserted only
/// where this machine's probe enforces them (the report is printed), so a laptop without bwrap runs what it can.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(HostileTargets.Name)]
public sealed class SandboxedJobTests : Akka.TestKit.Xunit2.TestKit, IDisposable,
    IClassFixture<NetConnectFixture>, IClassFixture<FsEscapeFixture>, IClassFixture<ForkBombFixture>, IClassFixture<MemoryHogFixture>,
    IClassFixture<PlantedBugFixture>, IClassFixture<AflTargetFixture>, IClassFixture<AflMemoryHogFixture>, IClassFixture<LinkPlanterFixture>
{
    private static readonly TimeSpan JobEndTimeout = TimeSpan.FromSeconds(60);

    private readonly NetConnectFixture _netConnect;
    private readonly FsEscapeFixture _fsEscape;
    private readonly ForkBombFixture _forkBomb;
    private readonly MemoryHogFixture _memoryHog;
    private readonly PlantedBugFixture _plantedBug;
    private readonly AflTargetFixture _afl;
    private readonly AflMemoryHogFixture _aflMemoryHog;
    private readonly LinkPlanterFixture _linkPlanter;
    private readonly ITestOutputHelper _output;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-sandbox-tests-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly BotStorage _storage;

    public SandboxedJobTests(NetConnectFixture netConnect, FsEscapeFixture fsEscape, ForkBombFixture forkBomb, MemoryHogFixture memoryHog,
        PlantedBugFixture plantedBug, AflTargetFixture afl, AflMemoryHogFixture aflMemoryHog, LinkPlanterFixture linkPlanter, ITestOutputHelper output)
        : base(BotTestConfig.Hocon(), "bot", output)
    {
        _netConnect = netConnect;
        _fsEscape = fsEscape;
        _forkBomb = forkBomb;
        _memoryHog = memoryHog;
        _plantedBug = plantedBug;
        _afl = afl;
        _aflMemoryHog = aflMemoryHog;
        _linkPlanter = linkPlanter;
        _output = output;
        _storage = new BotStorage(_root);
    }

    private static Sandbox Shipped => Sandbox.Of(SandboxSettings.Default);

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
    public async Task A_target_that_connects_to_a_listener_on_loopback_reaches_nothing()
    {
        RequireEnforced("network");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var dir = _storage.WorkDirOf(BotTestConfig.Job(1));
        Directory.CreateDirectory(dir.Root);
        await File.WriteAllTextAsync(Path.Combine(dir.Root, "port"), port.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var (messages, finished) = await RunJobAsync(new LibFuzzerEngine(), _netConnect.Binary, BotTestConfig.Fast(), 1, durationSeconds: 4);

        listener.Pending().Should().BeFalse("no connection may reach the listener from inside the sandbox");
        Crashes(messages).Should().BeEmpty("the target aborts only when its connection succeeds");
        finished.Succeeded.Should().BeTrue(finished.FailureReason);
        finished.FinalStats!.Execs.Should().BeGreaterThan(0, "the target ran, and tried to connect on every input");
    }

    [Fact]
    public async Task Links_and_a_fifo_a_target_plants_among_its_findings_and_corpus_are_no_crash_and_no_input()
    {
        // A root-only secret outside the work dir (the master's API token, say): the target cannot read it, the bot can.
        const string secret = "pandafuzz-secret-token-5f0c9d";
        var secretPath = Path.Combine(_root, "api-token");
        Directory.CreateDirectory(_root);
        await File.WriteAllTextAsync(secretPath, secret);
        File.SetUnixFileMode(secretPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var dir = _storage.WorkDirOf(BotTestConfig.Job(8));
        Directory.CreateDirectory(dir.Root);
        await File.WriteAllTextAsync(Path.Combine(dir.Root, "secret-path"), secretPath);

        var (messages, finished) = await RunJobAsync(new LibFuzzerEngine(), _linkPlanter.Binary, BotTestConfig.Fast(), 8, durationSeconds: 4);

        File.Exists(Path.Combine(dir.Artifacts, "crash-planted-link")).Should().BeTrue("the target planted its link (else this test shows nothing)");
        Crashes(messages).Should().BeEmpty("a planted link or FIFO is no finding");
        finished.Succeeded.Should().BeTrue(finished.FailureReason);
        _storage.Outbox.Contains(BlobId.Of(System.Text.Encoding.UTF8.GetBytes(secret))).Should().BeFalse("the secret's bytes never reach the outbox's blobs");
    }

    [Fact]
    public async Task A_target_that_writes_outside_its_work_dir_leaves_nothing_there_and_sees_nothing_of_it()
    {
        RequireEnforced("filesystem");
        var dir = _storage.WorkDirOf(BotTestConfig.Job(2));
        var parent = Path.GetDirectoryName(dir.Root)!;
        Directory.CreateDirectory(parent);
        // Writable by anyone, so only the filesystem view (not the user switch) can keep the target out.
        File.SetUnixFileMode(parent, (UnixFileMode)0x1FF); // rwxrwxrwx
        await File.WriteAllTextAsync(Path.Combine(parent, "outside-sentinel"), "outside");
        const string tmpEscape = "/tmp/pandafuzz-escaped-by-fs-escape";
        File.Delete(tmpEscape);

        var (messages, finished) = await RunJobAsync(new LibFuzzerEngine(), _fsEscape.Binary, BotTestConfig.Fast(), 2, durationSeconds: 3);

        File.Exists(Path.Combine(parent, "escaped-by-fs-escape")).Should().BeFalse("the work dir's parent is not in the sandbox's view");
        File.Exists(tmpEscape).Should().BeFalse("the sandbox's /tmp is private");
        Crashes(messages).Should().BeEmpty("the target aborts when it can see a file next to its work dir");
        finished.Succeeded.Should().BeTrue(finished.FailureReason);
        finished.FinalStats!.Execs.Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task A_fork_bomb_is_denied_processes_and_leaves_none_behind()
    {
        RequireEnforced("user", "rlimits");
        var settings = BotTestConfig.Fast() with { Sandbox = SandboxSettings.Default with { Rlimits = SandboxSettings.Default.Rlimits with { Processes = 200 } } };

        // Forking an ASan process is slow: the per-input timeout leaves the bomb time to hit the limit. A plain run: under
        // -fork the engine's own children count against the same 200 processes as the bomb's (once, in run5 of session 15,
        // the job then did not end within a minute; not yet understood, see the issue 24 note).
        var (messages, finished) = await RunJobAsync(new LibFuzzerEngine(fork: false), _forkBomb.Binary, settings, 3, durationSeconds: 4, timeoutMs: 20_000);

        Crashes(messages).Should().BeEmpty("the target aborts only when all 4000 forks succeed");
        finished.Succeeded.Should().BeTrue(finished.FailureReason);
        finished.FinalStats!.Execs.Should().BeGreaterThan(0, "libFuzzer went on fuzzing after the denied bomb");
        ProcessesMentioning(_storage.WorkDirOf(BotTestConfig.Job(3)).Root).Should().BeEmpty("the job's process group died with its run");
    }

    [Fact]
    public async Task A_target_that_allocates_past_its_memory_limit_is_killed_by_the_cgroup_and_the_job_says_so()
    {
        RequireEnforced("memory");
        // A small headroom: libFuzzer's own RSS check (once a second, at the job's 128 MiB) would report an ordinary OOM
        // only if it looked in the few milliseconds the target takes from 128 to 144 MiB. A long per-input timeout: near
        // the cgroup's limit the kernel reclaims the target's code pages first, which slows it down before the kill.
        var settings = BotTestConfig.Fast() with
        {
            Engine = new EngineSupervisionSettings(TimeSpan.FromSeconds(1), 1, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60)),
            Sandbox = SandboxSettings.Default with { Memory = SandboxSettings.Default.Memory with { HeadroomMb = 16 } },
        };

        var (messages, finished) = await RunJobAsync(new LibFuzzerEngine(), _memoryHog.Binary, settings, 4, durationSeconds: 30, memoryLimitMb: 128, timeoutMs: 20_000);

        Crashes(messages).Should().BeEmpty("the target aborts only when it got its whole GiB");
        finished.Succeeded.Should().BeFalse();
        finished.FailureReason.Should().Contain("killed by the sandbox's memory cgroup (limit 144 MiB: the job's 128 MiB + 16 MiB headroom)");
    }

    [Fact]
    public async Task An_afl_target_that_allocates_past_its_memory_limit_is_killed_by_the_cgroup_and_reported_out_of_memory()
    {
        RequireEnforced("memory");
        // afl-fuzz runs ASan targets without a memory limit of its own (-m none): only the cgroup stops this one.
        var settings = BotTestConfig.Fast() with { Sandbox = SandboxSettings.Default with { Memory = SandboxSettings.Default.Memory with { HeadroomMb = 16 } } };

        var (messages, _) = await RunJobAsync(new AflPlusPlusEngine(), _aflMemoryHog.Binary, settings, 7, durationSeconds: 60, memoryLimitMb: 128, untilCrash: true,
            timeoutMs: 20_000);

        var crash = messages.OfType<CampaignCommands.ReportCrash>().Single().Finding;
        crash.Kind.Should().Be("Out-of-memory", "the reproduction was killed by the cgroup too, and said so: {0}", crash.Output);
        crash.Output.Should().Contain("killed by the sandbox's memory cgroup (limit 144 MiB: the job's 128 MiB + 16 MiB headroom)");
        crash.Output.Should().NotContain("nothing bounds the memory");
    }

    [Fact]
    public async Task LibFuzzer_finds_the_planted_bug_inside_the_sandbox()
    {
        var (messages, _) = await RunJobAsync(new LibFuzzerEngine(), _plantedBug.Binary, BotTestConfig.Fast(), 5, durationSeconds: 60, untilCrash: true);

        var crash = messages.OfType<CampaignCommands.ReportCrash>().First().Finding;
        crash.Kind.Should().Contain("Heap-buffer-overflow");
        crash.Reproduced.Should().Be(crash.ReproduceAttempts, "the reproduction runs in the same sandbox and crashes the same way");
    }

    [Fact]
    public async Task Afl_finds_the_planted_bug_inside_the_sandbox()
    {
        // The dictionary hands AFL++ planted_bug's "FUZ" prefix, as in the end-to-end tests: without it, finding the
        // prefix a byte at a time took over the 60 s limit once, with the other test classes running beside it.
        var (messages, _) = await RunJobAsync(
            new AflPlusPlusEngine(), _afl.PlantedBug, BotTestConfig.Fast(), 6, durationSeconds: 60, untilCrash: true, dictionary: "kw=\"FUZ\"\n");

        var crash = messages.OfType<CampaignCommands.ReportCrash>().First().Finding;
        crash.Kind.Should().Contain("Heap-buffer-overflow");
        crash.Reproduced.Should().BeGreaterThan(0);
    }

    /// <summary>The crash reports among the messages, as "kind: summary" so a failure shows what was found.</summary>
    private static List<string> Crashes(List<IProtocolMessage> messages) =>
        [.. messages.OfType<CampaignCommands.ReportCrash>().Select(c => $"{c.Finding.Kind}: {c.Finding.Summary}")];

    /// <summary>The test needs these measures enforced here; the probe's report says whether they are (printed either way).</summary>
    private void RequireEnforced(params string[] measures)
    {
        foreach (var m in Shipped.Report.Measures)
        {
            _output.WriteLine($"sandbox {m.Name} ({m.Mode}): {(m.Enforced ? "enforced" : "NOT enforced")} - {m.Detail}");
        }

        foreach (var name in measures)
        {
            Shipped.Report.Measures.Single(m => m.Name == name).Enforced.Should().BeTrue($"this test needs the sandbox's {name} measure, which the probe found unavailable here");
        }
    }

    /// <summary>
    /// Runs a job of <paramref name="target"/> until it ends (or until its first crash report when <paramref name="untilCrash"/>),
    /// and returns every message the runner gave the outbox and the job's end (null when stopped at a crash).
    /// </summary>
    private async Task<(List<IProtocolMessage> Messages, JobCommands.ReportJobFinished Finished)> RunJobAsync(IFuzzingEngine engine, string target,
        BotSettings settings, int index, int durationSeconds, int memoryLimitMb = 2048, bool untilCrash = false, int timeoutMs = 1000,
        string? dictionary = null)
    {
        BlobId id;
        await using (var file = File.OpenRead(target))
        {
            (id, _) = await _storage.Targets.PutAsync(file, long.MaxValue);
        }

        var job = BotTestConfig.Job(index);
        var start = new AgentCommands.StartJob(job, BotTestConfig.Campaign, new JobSpec(id, engine.Name, durationSeconds, memoryLimitMb, timeoutMs, dictionary),
            "akka://bot/user/no-master-blobs", DateTimeOffset.UtcNow);
        var outbox = CreateTestProbe();
        var corpora = Sys.ActorOf(Props.Create(() => new MasterWithoutCorpus()));
        var runner = Sys.ActorOf(Props.Create(() => new JobRunnerActor(start, new BotId("bot-test"), engine, settings, _storage.WorkDirOf(job), _storage.Targets,
            _storage.Outbox, "akka://bot/user/bot-blobs", CreateTestProbe(), outbox, corpora)), "job-" + index);

        var messages = new List<IProtocolMessage>();
        JobCommands.ReportJobFinished? finished = null;
        outbox.FishForMessage<OutboxCommands.Put>(put =>
        {
            messages.Add(put.Message);
            finished = put.Message as JobCommands.ReportJobFinished;
            return finished is not null || untilCrash && put.Message is CampaignCommands.ReportCrash;
        }, JobEndTimeout);

        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);
        return (messages, finished!);
    }

    /// <summary>Live processes whose command line holds <paramref name="text"/>.</summary>
    private static List<int> ProcessesMentioning(string text) =>
        [.. Directory.EnumerateDirectories("/proc")
            .Select(d => (Pid: int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0, Dir: d))
            .Where(p => p.Pid > 0 && p.Pid != Environment.ProcessId && ReadOrEmpty(Path.Combine(p.Dir, "cmdline")).Contains(text, StringComparison.Ordinal))
            .Select(p => p.Pid)];

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    /// <summary>The master's corpus region as a new campaign has it: no corpus to pull, nothing taken.</summary>
    private sealed class MasterWithoutCorpus : ReceiveActor
    {
        public MasterWithoutCorpus() =>
            ReceiveAny(_ => Sender.Tell(new CommandRejected("no corpus in this test", RejectionKind.NotFound)));
    }
}

/// <summary>
/// The hostile targets fork hundreds of processes and drive a cgroup into its OOM killer: they run alone, after the other
/// tests, so neither slows the other's real engines past their timeouts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostileTargets
{
    public const string Name = "hostile targets";
}
