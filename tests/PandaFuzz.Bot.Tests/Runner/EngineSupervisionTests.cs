using System.Globalization;
using Akka.Actor;
using Akka.TestKit;
using FluentAssertions;
using PandaFuzz.Bot.Agent;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Runner;
using PandaFuzz.Bot.Tests.Support;
using PandaFuzz.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Bot.Tests.Runner;

/// <summary>
/// A real job runner on real engine processes, with a test probe as the bot's outbox and a stand-in master that has no
/// corpus: engines that fail are restarted with backoff and then fail the job with their own words; a hung engine is
/// killed by the watchdog and restarted; a stopped runner leaves no process behind.
/// </summary>
public sealed class EngineSupervisionTests : Akka.TestKit.Xunit2.TestKit, IClassFixture<NoBugFixture>, IClassFixture<AlwaysCrashFixture>, IDisposable
{
    private static readonly TimeSpan JobEndTimeout = TimeSpan.FromSeconds(60);

    private readonly NoBugFixture _noBug;
    private readonly AlwaysCrashFixture _alwaysCrash;
    private readonly ITestOutputHelper _output;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-runner-tests-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly BotStorage _storage;

    public EngineSupervisionTests(NoBugFixture noBug, AlwaysCrashFixture alwaysCrash, ITestOutputHelper output)
        : base(BotTestConfig.Hocon(), "bot", output)
    {
        _noBug = noBug;
        _alwaysCrash = alwaysCrash;
        _output = output;
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
    public async Task A_target_that_cannot_start_is_restarted_with_backoff_then_fails_the_job_with_its_error()
    {
        // In the work dir (the script's working directory): the sandbox lets the target write nowhere else.
        var starts = Path.Combine(_storage.WorkDirOf(BotTestConfig.Job(1)).Root, "starts");
        var script = Path.Combine(_root, "not-a-fuzzer.sh");
        await File.WriteAllTextAsync(script, $"""
            #!/bin/sh
            date +%s%N >> starts
            echo "INFO: pretending to be a fuzz target"
            echo "$0: error while loading shared libraries: libpfmissing.so: cannot open shared object file: No such file or directory" >&2
            exit 127

            """);
        var settings = BotTestConfig.Fast() with { Engine = new EngineSupervisionSettings(TimeSpan.FromMilliseconds(800), 4, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60)) };

        var (runner, _, outbox) = await StartJobAsync(new LibFuzzerEngine(), script, settings, 1);

        var finished = ExpectFinished(outbox);
        finished.Succeeded.Should().BeFalse();
        finished.FailureReason.Should().Contain("failed 4 runs in a row").And.Contain("exited with code 127")
            .And.Contain("error while loading shared libraries: libpfmissing.so");
        var times = (await File.ReadAllLinesAsync(starts)).Select(l => long.Parse(l, CultureInfo.InvariantCulture) / 1_000_000.0).ToList();
        times.Should().HaveCount(4, "the first run and three restarts");
        var gaps = times.Zip(times.Skip(1), (a, b) => b - a).ToList();
        _output.WriteLine($"gaps between starts: {string.Join(", ", gaps.Select(g => $"{g:0} ms"))}");
        gaps[0].Should().BeGreaterThanOrEqualTo(200);
        gaps[1].Should().BeGreaterThanOrEqualTo(400);
        gaps[2].Should().BeGreaterThanOrEqualTo(800);

        await StopsOnceKeptAsync(runner, outbox, finished);
    }

    [Fact]
    public async Task A_job_whose_engine_outlives_its_stop_grace_at_the_deadline_is_killed_and_still_ends()
    {
        // An engine that ignores SIGTERM, as a busy -fork parent on a loaded machine can for longer than the grace: at the
        // deadline its group is killed after the grace, and the job ends as a success instead of waiting forever.
        var script = Path.Combine(_root, "ignores-term.sh");
        await File.WriteAllTextAsync(script, """
            #!/bin/sh
            trap '' TERM
            echo "INFO: Seed: 1"
            while :; do sleep 1; done

            """);

        var (runner, _, outbox) = await StartJobAsync(new LibFuzzerEngine(), script, BotTestConfig.Fast(), 21, durationSeconds: 3);

        var finished = ExpectFinished(outbox);
        finished.Succeeded.Should().BeTrue(finished.FailureReason);
        await StopsOnceKeptAsync(runner, outbox, finished);
    }

    [Fact]
    public async Task Afl_on_a_binary_without_instrumentation_fails_the_job_with_afl_fuzz_s_abort()
    {
        var target = Path.Combine(_root, "true");
        File.Copy("/bin/true", target);
        var settings = BotTestConfig.Fast() with { Engine = new EngineSupervisionSettings(TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60)) };

        var (runner, _, outbox) = await StartJobAsync(new AflPlusPlusEngine(), target, settings, 2);

        var finished = ExpectFinished(outbox);
        finished.Succeeded.Should().BeFalse();
        finished.FailureReason.Should().Contain("failed 2 runs in a row").And.EndWith("[-] PROGRAM ABORT : No instrumentation detected");
        await StopsOnceKeptAsync(runner, outbox, finished);
    }

    [Fact]
    public async Task A_run_that_finds_an_input_whose_report_is_still_pending_was_fuzzing_and_is_restarted_not_counted_as_failed()
    {
        // libFuzzer names an artifact by its input's hash, so a run that finds the same input again writes the same file.
        // The outbox here never says Kept, so the first report's artifact stays pending for the whole test.
        var settings = BotTestConfig.Fast() with { Engine = new EngineSupervisionSettings(TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60)) };
        // A plain run (no -fork), which stops at its finding: what this test is about.
        var (runner, dir, outbox) = await StartJobAsync(new LibFuzzerEngine(fork: false), _alwaysCrash.Binary, settings, 8);

        var report = (CampaignCommands.ReportCrash)outbox.FishForMessage<OutboxCommands.Put>(put => put.Message is CampaignCommands.ReportCrash, JobEndTimeout).Message;
        var artifact = Directory.EnumerateFiles(dir.Artifacts).Should().ContainSingle().Subject;
        var firstWrite = File.GetLastWriteTimeUtc(artifact);

        // Two runs in a row that "found nothing" would fail this job (max failures 2, 200 ms apart); each later run finds
        // the pending input again, which is a finding.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            if (outbox.ReceiveOne(deadline - DateTime.UtcNow) is OutboxCommands.Put { Message: JobCommands.ReportJobFinished finished })
            {
                throw new Xunit.Sdk.XunitException($"the job ended while its engine kept finding the same input: {finished.FailureReason}");
            }
        }

        File.GetLastWriteTimeUtc(artifact).Should().BeAfter(firstWrite, "later runs found the same input again and wrote it anew");
        report.Finding.ArtifactName.Should().Be(Path.GetFileName(artifact));
        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);
    }

    [Fact]
    public async Task A_run_that_fails_beside_an_earlier_runs_artifact_still_waiting_for_its_report_counts_as_failed()
    {
        // The first run writes a crash artifact and says so, as libFuzzer does; every later run fails to start. The outbox
        // never says Kept, so the artifact stays in the artifacts dir, and each failed run's exit scan sees it again.
        var starts = Path.Combine(_storage.WorkDirOf(BotTestConfig.Job(10)).Root, "starts");
        var script = Path.Combine(_root, "crashes-once.sh");
        await File.WriteAllTextAsync(script, """
            #!/bin/sh
            prefix=""
            for a in "$@"; do case "$a" in -artifact_prefix=*) prefix="${a#-artifact_prefix=}";; esac; done
            [ -n "$prefix" ] && date +%s%N >> starts
            if [ -n "$prefix" ] && [ ! -e crashed-once ]; then
              touch crashed-once
              printf 'BUG' > "${prefix}crash-0123456789abcdef0123456789abcdef01234567"
              echo "==1== ERROR: libFuzzer: deadly signal" >&2
              echo "artifact_prefix='$prefix'; Test unit written to ${prefix}crash-0123456789abcdef0123456789abcdef01234567" >&2
              exit 77
            fi
            echo "$0: error while loading shared libraries: libpfmissing.so: cannot open shared object file: No such file or directory" >&2
            exit 127

            """);
        var settings = BotTestConfig.Fast() with { Engine = new EngineSupervisionSettings(TimeSpan.FromMilliseconds(800), 3, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60)) };

        var (runner, _, outbox) = await StartJobAsync(new LibFuzzerEngine(), script, settings, 10);

        outbox.FishForMessage<OutboxCommands.Put>(put => put.Message is CampaignCommands.ReportCrash, JobEndTimeout);
        var finished = ExpectFinished(outbox);
        finished.Succeeded.Should().BeFalse();
        finished.FailureReason.Should().Contain("failed 3 runs in a row").And.Contain("libpfmissing.so");
        (await File.ReadAllLinesAsync(starts)).Should().HaveCount(4, "the run that found the crash and three failed runs");
        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);
    }

    [Fact]
    public async Task A_finding_whose_file_went_with_the_kept_report_of_the_same_input_is_not_called_lost()
    {
        // One run only in this test: the next would start a minute after the finding.
        var settings = BotTestConfig.Fast() with { RestartDelay = TimeSpan.FromMinutes(1) };
        var (runner, dir, outbox) = await StartJobAsync(new LibFuzzerEngine(fork: false), _alwaysCrash.Binary, settings, 11);
        var report = (CampaignCommands.ReportCrash)outbox.FishForMessage<OutboxCommands.Put>(put => put.Message is CampaignCommands.ReportCrash, JobEndTimeout).Message;
        var artifact = Directory.EnumerateFiles(dir.Artifacts).Should().ContainSingle().Subject;
        var errors = CreateTestProbe();
        Sys.EventStream.Subscribe(errors.Ref, typeof(Akka.Event.Error));

        // The report is on disk in the outbox: the runner deletes the artifact.
        outbox.Reply(new OutboxCommands.Kept(OutboxEntry.Of(report)!.Key));
        await AwaitConditionAsync(() => Task.FromResult(!File.Exists(artifact)), TimeSpan.FromSeconds(10));

        // Act: what a later run says of the same input when its message comes after that delete.
        runner.Tell(new ArtifactFound(artifact, "crash", "==1== ERROR: libFuzzer: deadly signal", DateTimeOffset.UtcNow));

        // Assert: no "could not keep the finding" error, and no second report of the input.
        errors.ExpectNoMsg(TimeSpan.FromSeconds(2));
        outbox.ReceiveWhile(TimeSpan.FromSeconds(1), m => m).OfType<OutboxCommands.Put>()
            .Should().NotContain(put => put.Message is CampaignCommands.ReportCrash);
        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);
    }

    [Fact]
    public async Task A_stopped_engine_is_killed_by_the_watchdog_and_restarted()
    {
        var settings = BotTestConfig.Fast() with { Engine = new EngineSupervisionSettings(TimeSpan.FromSeconds(1), 3, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(3)) };
        var (runner, dir, _) = await StartJobAsync(new LibFuzzerEngine(), _noBug.Binary, settings, 3);
        var stopped = await RunningPidAsync(dir);

        // The whole group: in the sandbox the group's leader is bwrap, and libFuzzer runs in a process of its own below it.
        (await ExternalTool.RunAsync("kill", ["-STOP", "--", "-" + stopped.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10))).ExitCode.Should().Be(0);

        var restarted = await RunningPidAsync(dir, except: stopped);
        Directory.Exists($"/proc/{stopped}").Should().BeFalse("the stopped engine was killed (SIGKILL reaches a stopped process)");
        // The sandboxed engine's processes below bwrap are reaped a moment after the group's leader.
        await AwaitConditionAsync(() => Task.FromResult(!ProcessGroups.IsAlive(stopped)), TimeSpan.FromSeconds(10));
        ProcessGroups.IsAlive(restarted).Should().BeTrue();

        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);
        await AwaitConditionAsync(() => Task.FromResult(!ProcessGroups.IsAlive(restarted)), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Stopping_the_runner_kills_the_fuzzer_s_process_group()
    {
        var (runner, dir, _) = await StartJobAsync(new LibFuzzerEngine(), _noBug.Binary, BotTestConfig.Fast(), 4);
        var pid = await RunningPidAsync(dir);

        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);

        await AwaitConditionAsync(() => Task.FromResult(!ProcessGroups.IsAlive(pid)), TimeSpan.FromSeconds(10));
        File.Exists(dir.PidFile).Should().BeFalse();
    }

    [Fact]
    public async Task A_stopped_job_frees_its_slot_only_once_the_reruns_of_its_last_finding_have_ended()
    {
        // The fuzzing run announces a crash and goes on (as libFuzzer -fork does); the rerun of that crash waits for the
        // test's word, so the job is stopped while a rerun of its finding is running.
        var script = Path.Combine(_root, "crash-then-wait.sh");
        await File.WriteAllTextAsync(script, """
            #!/bin/sh
            prefix=""
            for a in "$@"; do case "$a" in -artifact_prefix=*) prefix="${a#-artifact_prefix=}";; esac; done
            if [ -n "$prefix" ]; then
              printf 'BUG' > "${prefix}crash-0123456789abcdef0123456789abcdef01234567"
              echo "==1== ERROR: libFuzzer: deadly signal" >&2
              echo "artifact_prefix='$prefix'; Test unit written to ${prefix}crash-0123456789abcdef0123456789abcdef01234567" >&2
              exec sleep 600
            fi
            touch rerun-started
            while [ ! -e release-rerun ]; do sleep 0.05; done
            touch rerun-ended
            echo "==1== ERROR: libFuzzer: deadly signal" >&2
            exit 77

            """);
        BlobId id;
        await using (var file = File.OpenRead(script))
        {
            (id, _) = await _storage.Targets.PutAsync(file, long.MaxValue);
        }

        var job = BotTestConfig.Job(12);
        var dir = _storage.WorkDirOf(job);
        // A rerun's time limit is the job's timeout (and a grace): far above how long the test holds it.
        var start = new AgentCommands.StartJob(job, BotTestConfig.Campaign, new JobSpec(id, "libfuzzer", 600, 2048, 120_000, null),
            "akka://bot/user/no-master-blobs", DateTimeOffset.UtcNow);
        var corpora = Sys.ActorOf(Props.Create(() => new MasterWithoutCorpus()));
        var outbox = CreateTestProbe();
        var runner = ChildActorOf(Props.Create(() => new JobRunnerActor(start, new BotId("bot-test"), new LibFuzzerEngine(false), BotTestConfig.Fast(), dir,
            _storage.Targets, _storage.Outbox, "akka://bot/user/bot-blobs", CreateTestProbe(), outbox, corpora)), "job-12");
        var rerunStarted = Path.Combine(dir.Root, "rerun-started");
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(rerunStarted)), JobEndTimeout, TimeSpan.FromMilliseconds(50));

        runner.Tell(new AgentCommands.StopJob(job, "the test stops it"));

        // The engine is gone within its stop grace, the rerun is not: the slot stays taken.
        ExpectNoMsg(TimeSpan.FromSeconds(2));
        await File.WriteAllTextAsync(Path.Combine(dir.Root, "release-rerun"), "");
        ExpectMsg<FuzzingEnded>(JobEndTimeout).JobId.Should().Be(job);
        File.Exists(Path.Combine(dir.Root, "rerun-ended")).Should().BeTrue("the slot was freed after the rerun ended");
        var report = (CampaignCommands.ReportCrash)outbox.FishForMessage<OutboxCommands.Put>(put => put.Message is CampaignCommands.ReportCrash, JobEndTimeout).Message;
        report.Finding.Reproduced.Should().Be(1, "the rerun was let finish, not killed by the stop");
    }

    [Fact]
    public async Task A_fork_run_s_figures_come_from_its_running_child_s_log_between_the_lines_it_prints()
    {
        // The "engine" says where its temporary folder is and goes on running; the test plays a -fork child writing its log there.
        var script = Path.Combine(_root, "fork-child-log.sh");
        await File.WriteAllTextAsync(script, """
            #!/bin/sh
            echo "$TMPDIR" > tmpdir-seen
            exec sleep 600

            """);
        var (runner, dir, _, jobs) = await StartJobWithStatsAsync(new LibFuzzerEngine(), script, 13);
        var seen = Path.Combine(dir.Root, "tmpdir-seen");
        await AwaitConditionAsync(() => Task.FromResult(File.Exists(seen) && File.ReadAllText(seen).Trim().Length > 0), JobEndTimeout, TimeSpan.FromMilliseconds(50));
        File.ReadAllText(seen).Trim().Should().Be(dir.EngineTemp);

        var child = Path.Combine(dir.EngineTemp, "libFuzzerTemp.FuzzWithFork2.dir");
        Directory.CreateDirectory(child);
        await File.WriteAllTextAsync(Path.Combine(child, "1.log"), "#5000\tpulse  cov: 7 ft: 9 corp: 3/12b lim: 4 exec/s: 2500 rss: 31Mb\n");

        var stats = ((JobCommands.ReportJobStats)jobs.FishForMessage(m => m is JobCommands.ReportJobStats { Stats.Execs: 5000 }, JobEndTimeout)).Stats;
        stats.ExecsPerSecond.Should().Be(2500);
        stats.Coverage.Should().Be(7);
        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);
    }

    [Fact]
    public async Task A_fork_run_with_other_jobs_inputs_waiting_is_restarted_to_take_them_in_and_the_job_goes_on()
    {
        // The master's blob store and corpus as a stand-in: the target, and one input another job found, published later.
        var masterBlobs = new PandaFuzz.Infrastructure.Blobs.ContentAddressedStore(Path.Combine(_root, "master-blobs-14"));
        BlobId target;
        await using (var file = File.OpenRead(_noBug.Binary))
        {
            (target, _) = await masterBlobs.PutAsync(file, long.MaxValue);
        }

        var (input, size) = await masterBlobs.PutAsync(new MemoryStream("from another job"u8.ToArray()), long.MaxValue);
        Sys.ActorOf(Props.Create(() => new PandaFuzz.Infrastructure.Blobs.BlobServerActor(masterBlobs)), "master-blobs-14");
        var corpora = Sys.ActorOf(Props.Create(() => new MasterWithLateInput(new CorpusEntry(input, size, "other-job"))));
        var job = BotTestConfig.Job(14);
        var start = new AgentCommands.StartJob(job, BotTestConfig.Campaign, new JobSpec(target, "libfuzzer", 600, 2048, 1500, null),
            "akka://bot/user/master-blobs-14", DateTimeOffset.UtcNow);
        var settings = BotTestConfig.Fast() with { SyncInterval = TimeSpan.FromSeconds(1), LibFuzzerForkReload = TimeSpan.FromSeconds(2) };
        var dir = _storage.WorkDirOf(job);
        var outbox = CreateTestProbe();
        var runner = Sys.ActorOf(Props.Create(() => new JobRunnerActor(start, new BotId("bot-test"), new LibFuzzerEngine(), settings, dir, _storage.Targets,
            _storage.Outbox, "akka://bot/user/bot-blobs", CreateTestProbe(), outbox, corpora)), "job-14");
        var first = await RunningPidAsync(dir);
        var imported = Path.Combine(dir.Corpus, input.Sha256);

        corpora.Tell(MasterWithLateInput.Publish.Instance);

        var second = await RunningPidAsync(dir, except: first);
        File.Exists(imported).Should().BeTrue("the input was pulled into the corpus dir before the run restarted");
        outbox.ReceiveWhile(TimeSpan.FromMilliseconds(500), m => m).OfType<OutboxCommands.Put>()
            .Should().NotContain(put => put.Message is JobCommands.ReportJobFinished, "a reload is no failed run and no end");
        ProcessGroups.IsAlive(second).Should().BeTrue();
        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);
    }

    [Fact]
    public async Task A_target_fetch_that_times_out_is_tried_again_from_a_fresh_source_and_the_job_runs()
    {
        // The master's blob store, not the bot's cache: the runner must fetch the target, and the first ask goes unanswered
        // (the master that started the job died mid-fetch).
        var masterBlobs = new PandaFuzz.Infrastructure.Blobs.ContentAddressedStore(Path.Combine(_root, "master-blobs"));
        BlobId id;
        await using (var file = File.OpenRead(_noBug.Binary))
        {
            (id, _) = await masterBlobs.PutAsync(file, long.MaxValue);
        }

        var server = Sys.ActorOf(Props.Create(() => new PandaFuzz.Infrastructure.Blobs.BlobServerActor(masterBlobs)));
        var flaky = Sys.ActorOf(Props.Create(() => new SilentAtFirst(server)), "flaky-master-blobs");
        var job = BotTestConfig.Job(7);
        var start = new AgentCommands.StartJob(job, BotTestConfig.Campaign, new JobSpec(id, "libfuzzer", 600, 2048, 1500, null),
            "akka://bot/user/flaky-master-blobs", DateTimeOffset.UtcNow);
        var settings = BotTestConfig.Fast() with { BlobChunkTimeout = TimeSpan.FromSeconds(1) };
        var dir = _storage.WorkDirOf(job);
        var corpora = Sys.ActorOf(Props.Create(() => new MasterWithoutCorpus()));
        var runner = Sys.ActorOf(Props.Create(() => new JobRunnerActor(start, new BotId("bot-test"), new LibFuzzerEngine(), settings, dir, _storage.Targets,
            _storage.Outbox, "akka://bot/user/bot-blobs", CreateTestProbe(), CreateTestProbe(), corpora)), "job-7");

        await RunningPidAsync(dir);

        (await flaky.Ask<int>(SilentAtFirst.HowManyDropped.Instance, TimeSpan.FromSeconds(5))).Should().Be(1);
        Watch(runner);
        Sys.Stop(runner);
        ExpectTerminated(runner);
    }

    private async Task<(IActorRef Runner, JobWorkDir Dir, TestProbe Outbox)> StartJobAsync(IFuzzingEngine engine, string target, BotSettings settings, int index,
        int durationSeconds = 600)
    {
        var (runner, dir, outbox, _) = await StartJobWithStatsAsync(engine, target, index, settings, durationSeconds);
        return (runner, dir, outbox);
    }

    /// <summary>A runner of the job with this index, its work dir, and probes as the bot's outbox and the master's job region.</summary>
    private async Task<(IActorRef Runner, JobWorkDir Dir, TestProbe Outbox, TestProbe Jobs)> StartJobWithStatsAsync(IFuzzingEngine engine, string target, int index,
        BotSettings? settings = null, int durationSeconds = 600)
    {
        BlobId id;
        await using (var file = File.OpenRead(target))
        {
            (id, _) = await _storage.Targets.PutAsync(file, long.MaxValue);
        }

        var job = BotTestConfig.Job(index);
        var start = new AgentCommands.StartJob(job, BotTestConfig.Campaign, new JobSpec(id, engine.Name, durationSeconds, 2048, 1500, null),
            "akka://bot/user/no-master-blobs", DateTimeOffset.UtcNow);
        var (outbox, jobs) = (CreateTestProbe(), CreateTestProbe());
        var corpora = Sys.ActorOf(Props.Create(() => new MasterWithoutCorpus()));
        var dir = _storage.WorkDirOf(job);
        var runner = Sys.ActorOf(Props.Create(() => new JobRunnerActor(start, new BotId("bot-test"), engine, settings ?? BotTestConfig.Fast(), dir, _storage.Targets,
            _storage.Outbox, "akka://bot/user/bot-blobs", jobs, outbox, corpora)), "job-" + index);
        return (runner, dir, outbox, jobs);
    }

    private static JobCommands.ReportJobFinished ExpectFinished(TestProbe outbox) =>
        (JobCommands.ReportJobFinished)outbox.FishForMessage<OutboxCommands.Put>(put => put.Message is JobCommands.ReportJobFinished, JobEndTimeout).Message;

    private async Task StopsOnceKeptAsync(IActorRef runner, TestProbe outbox, JobCommands.ReportJobFinished finished)
    {
        Watch(runner);
        outbox.Reply(new OutboxCommands.Kept(OutboxEntry.Of(finished)!.Key));
        ExpectTerminated(runner);
        await Task.CompletedTask;
    }

    /// <summary>The pid in the job's pid file once that process leads its group (and is not <paramref name="except"/>).</summary>
    private async Task<int> RunningPidAsync(JobWorkDir dir, int except = 0)
    {
        var pid = 0;
        await AwaitConditionAsync(() =>
        {
            pid = File.Exists(dir.PidFile) && int.TryParse(File.ReadAllText(dir.PidFile).Trim(), out var read) ? read : 0;
            // The group exists once setsid has run in the new process, a moment after the process itself (on a loaded
            // machine, long enough for a test to see the process but not yet its group).
            return Task.FromResult(pid > 0 && pid != except && Directory.Exists($"/proc/{pid}") && ProcessGroups.IsAlive(pid));
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50));
        return pid;
    }

    /// <summary>A master's blob server that dies mid-answer: the first request is never answered, the rest are.</summary>
    private sealed class SilentAtFirst : ReceiveActor
    {
        public sealed record HowManyDropped
        {
            public static readonly HowManyDropped Instance = new();
        }

        public SilentAtFirst(IActorRef server)
        {
            var dropped = 0;
            Receive<HowManyDropped>(_ => Sender.Tell(dropped));
            ReceiveAny(message =>
            {
                if (dropped == 0)
                {
                    dropped = 1;
                    return;
                }

                server.Forward(message);
            });
        }
    }

    /// <summary>The master's corpus region with one input that another job finds once the test says so; offers are taken.</summary>
    private sealed class MasterWithLateInput : ReceiveActor
    {
        public sealed record Publish
        {
            public static readonly Publish Instance = new();
        }

        public MasterWithLateInput(CorpusEntry entry)
        {
            var published = false;
            Receive<Publish>(_ => published = true);
            Receive<CorpusQueries.GetCorpusPage>(get => Sender.Tell(new CorpusQueries.CorpusPage(get.CorpusOf, 1, get.From,
                published && get.From == 0 ? [entry] : [], published ? 1 : 0)));
            Receive<CorpusCommands.OfferCorpus>(offer => Sender.Tell(new CorpusCommands.CorpusOfferAccepted(offer.CorpusOf, offer.JobId, [.. offer.Entries.Select(e => e.Input)])));
        }
    }

    /// <summary>The master's corpus region as a new campaign has it: no corpus to pull, nothing taken.</summary>
    private sealed class MasterWithoutCorpus : ReceiveActor
    {
        public MasterWithoutCorpus() =>
            ReceiveAny(_ => Sender.Tell(new CommandRejected("no corpus in this test", RejectionKind.NotFound)));
    }
}
