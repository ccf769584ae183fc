using Akka.Actor;
using FluentAssertions;
using PandaFuzz.Actors.Tests.Fixtures;
using PandaFuzz.Protocol;
using PandaFuzz.Master.Configuration;
using Xunit;
using Xunit.Abstractions;
using static PandaFuzz.Protocol.BotCommands;
using static PandaFuzz.Protocol.BotQueries;
using static PandaFuzz.Protocol.SchedulerMessages;

namespace PandaFuzz.Actors.Tests;

/// <summary>A bot's record: registered by its check-ins, offered to the scheduler, marked offline when they stop.</summary>
public abstract class BotEntityTests(ITestOutputHelper output, StorageProvider storage) : MasterTestKit(output, storage)
{
    private static readonly BotId Bot = new("bot-7");
    private static readonly TimeSpan CheckInTimeout = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_checked_in_bot_is_online_offered_to_the_scheduler_then_offline_when_check_ins_stop_and_stays_so_after_a_restart()
    {
        // Arrange
        var master = await StartMasterAsync(TestData.Settings with { BotCheckInTimeout = CheckInTimeout });
        var agent = CreateTestProbe(master.System, "agent");
        var running = new[] { new JobId("0123456789ab-0") };
        var checkIn = CheckInOf(master, agent.Ref, running);

        // Act
        master.Bots.Tell(checkIn, agent.Ref);

        // Assert: accepted, announced with its capacity, shown online with its jobs.
        agent.ExpectMsg<CheckInAccepted>().BotId.Should().Be(Bot);
        var available = master.Scheduler.ExpectMsg<BotAvailable>();
        available.BotId.Should().Be(Bot);
        available.AgentPath.Should().Be(checkIn.AgentPath);
        available.Capabilities.Should().BeEquivalentTo(checkIn.Capabilities);
        available.RunningJobs.Should().Equal(running);
        var online = await AskFor<BotView>(master.Bots, new GetBot(Bot));
        online.Status.Should().Be(BotStatus.Online);
        online.CurrentJobs.Should().Equal(running);
        online.Address.Should().Be(checkIn.Address);
        online.Hostname.Should().Be(checkIn.Hostname);
        online.LastSeenAt.Should().Be(checkIn.At);
        online.OfflineReason.Should().BeNull();

        // Act: no more check-ins. Assert: offline after the timeout, with a reason; the scheduler forgets it.
        master.Scheduler.ExpectMsg<BotUnavailable>(TimeSpan.FromSeconds(5)).BotId.Should().Be(Bot);
        var offline = await AskFor<BotView>(master.Bots, new GetBot(Bot));
        offline.Status.Should().Be(BotStatus.Offline);
        offline.OfflineReason.Should().NotBeNullOrWhiteSpace().And.Contain("check-in");
        offline.OfflineSince.Should().NotBeNull();
        offline.CurrentJobs.Should().BeEmpty();
        offline.RegisteredAt.Should().Be(online.RegisteredAt);

        // Act: restart the master.
        var restarted = await RestartAsync(master);

        // Assert: still offline, with the same reason and time.
        var recovered = await AskFor<BotView>(restarted.Bots, new GetBot(Bot));
        recovered.Status.Should().Be(BotStatus.Offline);
        recovered.OfflineReason.Should().Be(offline.OfflineReason);
        recovered.OfflineSince.Should().Be(offline.OfflineSince);
        recovered.Capabilities.Should().BeEquivalentTo(checkIn.Capabilities);
        recovered.RegisteredAt.Should().Be(online.RegisteredAt);
    }

    [Fact]
    public async Task An_offline_bot_that_checks_in_again_is_online_again()
    {
        var master = await StartMasterAsync(TestData.Settings with { BotCheckInTimeout = CheckInTimeout });
        var agent = CreateTestProbe(master.System, "agent");
        master.Bots.Tell(CheckInOf(master, agent.Ref, []), agent.Ref);
        agent.ExpectMsg<CheckInAccepted>();
        master.Scheduler.ExpectMsg<BotAvailable>();
        master.Scheduler.ExpectMsg<BotUnavailable>(TimeSpan.FromSeconds(5));

        master.Bots.Tell(CheckInOf(master, agent.Ref, []), agent.Ref);

        agent.ExpectMsg<CheckInAccepted>();
        master.Scheduler.ExpectMsg<BotAvailable>().BotId.Should().Be(Bot);
        var view = await AskFor<BotView>(master.Bots, new GetBot(Bot));
        view.Status.Should().Be(BotStatus.Online);
        view.OfflineReason.Should().BeNull();
    }

    [Fact]
    public async Task Regular_check_ins_keep_a_bot_online()
    {
        var master = await StartMasterAsync(TestData.Settings with { BotCheckInTimeout = CheckInTimeout });
        var agent = CreateTestProbe(master.System, "agent");

        // Check in every third of the timeout, for longer than the timeout.
        for (var i = 0; i < 5; i++)
        {
            master.Bots.Tell(CheckInOf(master, agent.Ref, []), agent.Ref);
            agent.ExpectMsg<CheckInAccepted>();
            master.Scheduler.ExpectMsg<BotAvailable>();
            master.Scheduler.ExpectNoMsg(CheckInTimeout / 3);
        }

        (await AskFor<BotView>(master.Bots, new GetBot(Bot))).Status.Should().Be(BotStatus.Online);
    }

    /// <summary>
    /// A bot online when the master stopped and never heard from again must not stay online forever: the
    /// recovered entity has to expect a check-in just as the running one did.
    /// </summary>
    [Fact]
    public async Task A_bot_online_when_the_master_stopped_goes_offline_after_the_restart_when_it_does_not_check_in()
    {
        // Arrange: the bot checks in once; the master stops well before the bot would be overdue.
        var master = await StartMasterAsync(TestData.Settings);
        var agent = CreateTestProbe(master.System, "agent");
        master.Bots.Tell(CheckInOf(master, agent.Ref, []), agent.Ref);
        agent.ExpectMsg<CheckInAccepted>();

        // Act: the master comes back with a short check-in timeout; the bot never checks in again.
        var restarted = await RestartAsync(master, TestData.Settings with { BotCheckInTimeout = CheckInTimeout });
        (await AskFor<BotView>(restarted.Bots, new GetBot(Bot))).Status.Should().Be(BotStatus.Online);

        // Assert: it is shown offline once the timeout has passed.
        await AwaitAssertAsync(
            async () => (await AskFor<BotView>(restarted.Bots, new GetBot(Bot))).Status.Should().Be(BotStatus.Offline),
            TimeSpan.FromSeconds(6),
            TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_bot_whose_node_is_lost_is_offline_at_once_with_the_reason_and_time()
    {
        var master = await StartMasterAsync(TestData.Settings);
        var agent = CreateTestProbe(master.System, "agent");
        master.Bots.Tell(CheckInOf(master, agent.Ref, [], nodeUid: 41), agent.Ref);
        agent.ExpectMsg<CheckInAccepted>();
        master.Scheduler.ExpectMsg<BotAvailable>().NodeUid.Should().Be(41);
        var lostAt = DateTimeOffset.UtcNow;

        master.Bots.Tell(new NodeLost(Bot, 41, "its node 127.0.0.1:4053 was unreachable and has been downed", lostAt));

        master.Scheduler.ExpectMsg<BotUnavailable>().BotId.Should().Be(Bot);
        var view = await AskFor<BotView>(master.Bots, new GetBot(Bot));
        view.Status.Should().Be(BotStatus.Offline);
        view.OfflineReason.Should().Be("its node 127.0.0.1:4053 was unreachable and has been downed");
        view.OfflineSince.Should().Be(lostAt);
    }

    [Fact]
    public async Task The_loss_of_an_earlier_incarnation_does_not_take_a_restarted_bot_offline()
    {
        var master = await StartMasterAsync(TestData.Settings);
        var agent = CreateTestProbe(master.System, "agent");
        master.Bots.Tell(CheckInOf(master, agent.Ref, [], nodeUid: 42), agent.Ref);
        agent.ExpectMsg<CheckInAccepted>();
        master.Scheduler.ExpectMsg<BotAvailable>();

        master.Bots.Tell(new NodeLost(Bot, 41, "its node 127.0.0.1:4053 was downed and removed from the cluster", DateTimeOffset.UtcNow));

        master.Scheduler.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        (await AskFor<BotView>(master.Bots, new GetBot(Bot))).Status.Should().Be(BotStatus.Online);
    }

    private static CheckIn CheckInOf(MasterNode master, IActorRef agent, IReadOnlyList<JobId> running, long nodeUid = 0) =>
        new(
            Bot,
            master.PathOf(agent),
            "127.0.0.1:4053",
            "fuzz-box-7",
            TestData.LibFuzzerBot(slots: 2),
            running,
            DateTimeOffset.UtcNow,
            nodeUid);
}

public sealed class BotEntityTestsOnSqlite(ITestOutputHelper output) : BotEntityTests(output, StorageProvider.Sqlite);

public sealed class BotEntityTestsOnPostgreSql(ITestOutputHelper output) : BotEntityTests(output, StorageProvider.PostgreSql);
