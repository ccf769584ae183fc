using Akka.Actor;
using Akka.TestKit;
using FluentAssertions;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Tests.Support;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Bot.Tests.Outbox;

/// <summary>The outbox on a real directory, with test probes standing in for the master's campaign and job regions.</summary>
public sealed class OutboxActorTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly OutboxSettings Quick = new(
        FirstRetryDelay: TimeSpan.FromMilliseconds(300),
        MaxRetryDelay: TimeSpan.FromSeconds(5),
        AskTimeout: TimeSpan.FromMilliseconds(300),
        FailuresBeforeOpen: 3,
        OpenDuration: TimeSpan.FromSeconds(1),
        MaxInFlight: 16);

    /// <summary>For tests that answer from the test thread: an answer after a short ask timeout would go to nobody.</summary>
    private static readonly OutboxSettings Patient = Quick with { AskTimeout = TimeSpan.FromSeconds(5) };

    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-outbox-tests-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly ContentAddressedStore _blobs;
    private readonly ITestOutputHelper _output;

    public OutboxActorTests(ITestOutputHelper output)
        : base(BotTestConfig.Hocon(), "bot", output)
    {
        _output = output;
        _blobs = new ContentAddressedStore(Path.Combine(_root, "outbox"));
    }

    private string Messages => Path.Combine(_root, "outbox-messages");

    private string[] Files => Directory.Exists(Messages) ? Directory.GetFiles(Messages, "*" + OutboxFile.Extension) : [];

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
    public async Task Kept_messages_survive_a_restart_of_the_actor_system_and_are_delivered_after_it()
    {
        var input = "restart-input"u8.ToArray();
        var blob = await PutBlob(input);
        var first = ActorSystem.Create("bot-before", Sys.Settings.Config);
        var silentCampaigns = CreateTestProbe(first);
        var silentJobs = CreateTestProbe(first);
        var outbox = first.ActorOf(Props.Create(() => new OutboxActor(Messages, _blobs, Patient, silentCampaigns, silentJobs)));
        var sender = CreateTestProbe(first);
        var crash = BotTestConfig.Crash(BotTestConfig.Job(1), input);
        var finished = new JobCommands.ReportJobFinished(BotTestConfig.Job(1), crash.BotId, false, "engine failed", null);

        outbox.Tell(new OutboxCommands.Put(crash), sender);
        outbox.Tell(new OutboxCommands.Put(finished), sender);
        sender.ExpectMsg<OutboxCommands.Kept>();
        sender.ExpectMsg<OutboxCommands.Kept>();
        silentCampaigns.ExpectMsg<CampaignCommands.ReportCrash>();
        await first.Terminate().WaitAsync(TimeSpan.FromSeconds(20));

        Files.Should().HaveCount(2, "both messages are on disk when the bot stops");
        _blobs.Contains(blob).Should().BeTrue();

        var second = ActorSystem.Create("bot-after", Sys.Settings.Config);
        try
        {
            var campaigns = CreateTestProbe(second);
            var jobs = CreateTestProbe(second);
            second.ActorOf(Props.Create(() => new OutboxActor(Messages, _blobs, Patient, campaigns, jobs)));

            var redelivered = campaigns.ExpectMsg<CampaignCommands.ReportCrash>();
            redelivered.Finding.Input.Should().Be(blob);
            redelivered.Finding.Kind.Should().Be(crash.Finding.Kind);
            redelivered.Finding.Stack.Should().Equal(crash.Finding.Stack);
            campaigns.Reply(new CampaignCommands.CrashAccepted(crash.CampaignId, new CrashId("crash-1"), blob));
            jobs.ExpectMsg<JobCommands.ReportJobFinished>().FailureReason.Should().Be("engine failed");
            jobs.Reply(Ack.Instance);

            await AwaitConditionAsync(() => Task.FromResult(Files.Length == 0 && !_blobs.Contains(blob)), TimeSpan.FromSeconds(10));
        }
        finally
        {
            await second.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task Nothing_is_deleted_before_the_master_acknowledges()
    {
        var input = "ack-input"u8.ToArray();
        var blob = await PutBlob(input);
        var campaigns = CreateTestProbe();
        var outbox = Sys.ActorOf(Props.Create(() => new OutboxActor(Messages, _blobs, Patient, campaigns, CreateTestProbe())));
        var crash = BotTestConfig.Crash(BotTestConfig.Job(2), input);

        outbox.Tell(new OutboxCommands.Put(crash), TestActor);
        ExpectMsg<OutboxCommands.Kept>();
        campaigns.ExpectMsg<CampaignCommands.ReportCrash>();
        // An answer that is not the acknowledgement of this input (another input's) keeps it.
        campaigns.Reply(new CampaignCommands.CrashAccepted(crash.CampaignId, new CrashId("crash-1"), BlobId.Of("other"u8)));
        campaigns.ExpectMsg<CampaignCommands.ReportCrash>();

        Files.Should().ContainSingle();
        _blobs.Contains(blob).Should().BeTrue();
        (await BacklogAsync(outbox)).Count.Should().Be(1);

        campaigns.Reply(new CampaignCommands.CrashAccepted(crash.CampaignId, new CrashId("crash-1"), blob));

        await AwaitConditionAsync(() => Task.FromResult(Files.Length == 0 && !_blobs.Contains(blob)), TimeSpan.FromSeconds(10));
        (await BacklogAsync(outbox)).Count.Should().Be(0);
    }

    [Fact]
    public async Task Backoff_grows_and_the_breaker_opens_while_the_master_is_silent_then_everything_is_delivered()
    {
        var inputs = new[] { "first"u8.ToArray(), "second"u8.ToArray(), "third"u8.ToArray() };
        foreach (var input in inputs)
        {
            await PutBlob(input);
        }

        // The stand-in master notes every arrival and, once told to, acknowledges at once on its own thread.
        var arrivals = new List<(BlobId Input, DateTimeOffset At, bool Answered)>();
        var answering = false;
        var campaigns = CreateTestProbe();
        campaigns.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is CampaignCommands.ReportCrash report)
            {
                var answers = Volatile.Read(ref answering);
                lock (arrivals)
                {
                    arrivals.Add((report.Finding.Input, DateTimeOffset.UtcNow, answers));
                }

                if (answers)
                {
                    sender.Tell(new CampaignCommands.CrashAccepted(report.CampaignId, new CrashId("crash-1"), report.Finding.Input));
                }
            }

            return AutoPilot.KeepRunning;
        }));
        var outbox = Sys.ActorOf(Props.Create(() => new OutboxActor(Messages, _blobs, Quick, campaigns, CreateTestProbe())));
        outbox.Tell(new OutboxCommands.Put(BotTestConfig.Crash(BotTestConfig.Job(3), inputs[0])), TestActor);
        ExpectMsg<OutboxCommands.Kept>();

        // Three unanswered attempts open the breaker.
        await AwaitAssertAsync(async () => (await BacklogAsync(outbox)).Breaker.Should().Be(OutboxBreakerState.Open), TimeSpan.FromSeconds(10));
        // Offered while the breaker is open: kept, but not sent until the master answers the probe.
        outbox.Tell(new OutboxCommands.Put(BotTestConfig.Crash(BotTestConfig.Job(3), inputs[1])), TestActor);
        outbox.Tell(new OutboxCommands.Put(BotTestConfig.Crash(BotTestConfig.Job(3), inputs[2])), TestActor);
        ExpectMsg<OutboxCommands.Kept>();
        ExpectMsg<OutboxCommands.Kept>();
        (await BacklogAsync(outbox)).Count.Should().Be(3);
        Volatile.Write(ref answering, true);

        await AwaitConditionAsync(() => Task.FromResult(Files.Length == 0), TimeSpan.FromSeconds(15));
        // The file goes with the acknowledgement; the breaker closes when the call that carried it completes, a moment later.
        await AwaitAssertAsync(async () =>
        {
            var backlog = await BacklogAsync(outbox);
            backlog.Count.Should().Be(0);
            backlog.Breaker.Should().Be(OutboxBreakerState.Closed);
        }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50));
        inputs.Should().OnlyContain(i => !_blobs.Contains(BlobId.Of(i)));

        List<(BlobId Input, DateTimeOffset At, bool Answered)> seen;
        lock (arrivals)
        {
            seen = [.. arrivals];
        }

        var first = seen.Where(a => a.Input == BlobId.Of(inputs[0])).Select(a => a.At).ToList();
        // Three unanswered attempts, then the half-open probe (a slow test thread may leave one more probe unanswered).
        first.Count.Should().BeGreaterThanOrEqualTo(4);
        // The others wait for an answered probe. (On a loaded machine an answer can come after the attempt's ask timed out:
        // the outbox then counts it a failure and sends again, so what counts is the first answered attempt, and a
        // duplicate of the first message after it is allowed: delivery is at least once.)
        var answeredProbe = seen.First(a => a.Input == BlobId.Of(inputs[0]) && a.Answered).At;
        seen.Where(a => a.Input != BlobId.Of(inputs[0])).Should().OnlyContain(a => a.At >= answeredProbe, "the others wait for the probe's answer");
        seen.Where(a => a.Input != BlobId.Of(inputs[0])).Select(a => a.Input).Distinct().Should().BeEquivalentTo([BlobId.Of(inputs[1]), BlobId.Of(inputs[2])]);
        var gaps = first.Zip(first.Skip(1), (a, b) => b - a).ToList();
        _output.WriteLine($"gaps between attempts: {string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:0} ms"))}");
        // Ask timeout + backoff: 300 + [150, 300], 300 + [300, 600], then at least the open duration.
        gaps[0].Should().BeGreaterThan(TimeSpan.FromMilliseconds(400));
        // Lower bounds only: a loaded machine makes gaps longer, never shorter. The second backoff is the first doubled, at
        // least half of which jitter leaves: 300 + 300 ms, more than the first gap's least (300 + 150).
        gaps[1].Should().BeGreaterThanOrEqualTo(Quick.AskTimeout + Quick.FirstRetryDelay - TimeSpan.FromMilliseconds(10), "the backoff doubles (jitter takes at most half off)");
        gaps[2].Should().BeGreaterThanOrEqualTo(Quick.OpenDuration, "an open breaker sends nothing");
        gaps[2].Should().BeGreaterThan(gaps[0]);
    }

    [Fact]
    public async Task A_corrupt_or_truncated_file_is_set_aside_and_the_rest_is_delivered()
    {
        Directory.CreateDirectory(Messages);
        var finished = new JobCommands.ReportJobFinished(BotTestConfig.Job(4), new BotId("bot-test"), true, null, null);
        var serializer = Sys.Serialization.FindSerializerFor(finished);
        var whole = OutboxFile.Encode(new OutboxRecord(DateTimeOffset.UtcNow, serializer.Identifier,
            Akka.Serialization.Serialization.ManifestFor(serializer, finished), serializer.ToBinary(finished)));
        File.WriteAllBytes(Path.Combine(Messages, "finished-good" + OutboxFile.Extension), whole);
        File.WriteAllBytes(Path.Combine(Messages, "finished-truncated" + OutboxFile.Extension), whole[..(whole.Length / 2)]);
        File.WriteAllText(Path.Combine(Messages, "garbage" + OutboxFile.Extension), "not an outbox file at all");
        File.WriteAllBytes(Path.Combine(Messages, "finished-interrupted" + OutboxFile.Extension + OutboxFile.TempExtension), whole[..10]);
        var jobs = CreateTestProbe();

        var outbox = Sys.ActorOf(Props.Create(() => new OutboxActor(Messages, _blobs, Patient, CreateTestProbe(), jobs)));

        jobs.ExpectMsg<JobCommands.ReportJobFinished>().JobId.Should().Be(finished.JobId);
        jobs.Reply(Ack.Instance);
        await AwaitConditionAsync(() => Task.FromResult(Files.Length == 0), TimeSpan.FromSeconds(10));
        Directory.GetFiles(Path.Combine(Messages, OutboxActor.SetAsideFolder)).Select(Path.GetFileName)
            .Should().HaveCount(2).And.Contain(f => f!.StartsWith("garbage")).And.Contain(f => f!.StartsWith("finished-truncated"));
        Directory.GetFiles(Messages).Should().BeEmpty("the interrupted temp file is removed");
        (await BacklogAsync(outbox)).Count.Should().Be(0);
    }

    [Fact]
    public async Task A_message_the_master_refuses_is_dropped_with_its_file()
    {
        var campaigns = CreateTestProbe();
        var outbox = Sys.ActorOf(Props.Create(() => new OutboxActor(Messages, _blobs, Patient, campaigns, CreateTestProbe())));
        var minimized = new CampaignCommands.ReportCrashMinimized(BotTestConfig.Campaign, BotTestConfig.Job(5), "sig", null, null, "no smaller input", "akka://bot/user/x");

        outbox.Tell(new OutboxCommands.Put(minimized), TestActor);
        ExpectMsg<OutboxCommands.Kept>().Key.Should().Be(OutboxEntry.Of(minimized)!.Key);
        campaigns.ExpectMsg<CampaignCommands.ReportCrashMinimized>();
        campaigns.Reply(new CommandRejected("crash sig not found", RejectionKind.NotFound));

        await AwaitConditionAsync(() => Task.FromResult(Files.Length == 0), TimeSpan.FromSeconds(10));
        (await BacklogAsync(outbox)).Count.Should().Be(0);
    }

    [Theory]
    [InlineData(1)] // the one unanswered attempt opened the breaker: it would hold everything back for a minute
    [InlineData(5)] // the breaker stays closed: the message waits out a backoff of 10–20 s
    public async Task A_master_that_is_available_again_gets_the_waiting_messages_at_once(int failuresBeforeOpen)
    {
        // Arrange: a master that does not answer at first; long waits after one unanswered attempt.
        var slow = Quick with
        {
            FirstRetryDelay = TimeSpan.FromSeconds(20),
            MaxRetryDelay = TimeSpan.FromSeconds(60),
            FailuresBeforeOpen = failuresBeforeOpen,
            OpenDuration = TimeSpan.FromSeconds(60),
        };
        var input = "waiting"u8.ToArray();
        await PutBlob(input);
        var attempts = 0;
        var answering = false;
        var campaigns = CreateTestProbe();
        campaigns.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is CampaignCommands.ReportCrash report)
            {
                Interlocked.Increment(ref attempts);
                if (Volatile.Read(ref answering))
                {
                    sender.Tell(new CampaignCommands.CrashAccepted(report.CampaignId, new CrashId("crash-1"), report.Finding.Input));
                }
            }

            return AutoPilot.KeepRunning;
        }));
        var outbox = Sys.ActorOf(Props.Create(() => new OutboxActor(Messages, _blobs, slow, campaigns, CreateTestProbe())));
        outbox.Tell(new OutboxCommands.Put(BotTestConfig.Crash(BotTestConfig.Job(6), input)), TestActor);
        ExpectMsg<OutboxCommands.Kept>();
        await AwaitAssertAsync(async () =>
        {
            var backlog = await BacklogAsync(outbox);
            backlog.InFlight.Should().Be(0, "the first attempt went unanswered");
            backlog.Breaker.Should().Be(failuresBeforeOpen == 1 ? OutboxBreakerState.Open : OutboxBreakerState.Closed);
        }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50));
        Volatile.Read(ref attempts).Should().Be(1);

        // Act: the master is back.
        Volatile.Write(ref answering, true);
        outbox.Tell(new OutboxCommands.MasterAvailable("akka.tcp://pandafuzz@127.0.0.1:1"));

        // Assert: delivered in seconds, not after the backoff or the open breaker.
        await AwaitConditionAsync(() => Task.FromResult(Files.Length == 0), TimeSpan.FromSeconds(5));
        var after = await BacklogAsync(outbox);
        after.Count.Should().Be(0);
        after.Breaker.Should().Be(OutboxBreakerState.Closed);
        Volatile.Read(ref attempts).Should().Be(2);
    }

    private static Task<OutboxQueries.Backlog> BacklogAsync(IActorRef outbox) =>
        outbox.Ask<OutboxQueries.Backlog>(OutboxQueries.GetBacklog.Instance, TimeSpan.FromSeconds(5));

    private async Task<BlobId> PutBlob(byte[] bytes)
    {
        var (id, _) = await _blobs.PutAsync(new MemoryStream(bytes), long.MaxValue);
        return id;
    }
}
