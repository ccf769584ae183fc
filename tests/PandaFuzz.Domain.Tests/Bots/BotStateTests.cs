using FluentAssertions;
using PandaFuzz.Domain.Bots;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Testing.Samples;
using static PandaFuzz.Protocol.BotEvents;

namespace PandaFuzz.Domain.Tests.Bots;

public sealed class BotStateTests
{
    private static BotCommands.CheckIn CheckIn(DateTimeOffset at, BotCapabilities? capabilities = null, params JobId[] running) =>
        new(BotA, AgentPathA, "10.0.0.5:4053", "fuzz-box-1", capabilities ?? Capabilities(slots: 4), running, at);

    private static BotState Online() => BotState.Registered(new BotRegistered(BotA, AgentPathA, "10.0.0.5:4053", "fuzz-box-1", Capabilities(slots: 4), T0));

    [Fact]
    public void First_check_in_registers_the_bot()
    {
        var checkIn = CheckIn(T0);

        var events = BotState.CheckIn(null, checkIn);

        events.Should().ContainSingle().Which.Should().BeEquivalentTo(
            new BotRegistered(BotA, AgentPathA, "10.0.0.5:4053", "fuzz-box-1", checkIn.Capabilities, T0));
    }

    [Fact]
    public void Registered_bot_is_online()
    {
        var state = Online();

        state.Status.Should().Be(BotStatus.Online);
        state.RegisteredAt.Should().Be(T0);
        state.OfflineReason.Should().BeNull();
        state.OfflineSince.Should().BeNull();
    }

    [Fact]
    public void Unchanged_check_in_persists_nothing_even_with_other_running_jobs()
    {
        var events = BotState.CheckIn(Online(), CheckIn(T0.AddSeconds(5), Capabilities(slots: 4), Job(0), Job(1)));

        events.Should().BeEmpty();
    }

    [Fact]
    public void Check_in_with_an_equal_but_distinct_sandbox_report_persists_nothing()
    {
        var state = BotState.Registered(new BotRegistered(BotA, AgentPathA, "10.0.0.5:4053", "fuzz-box-1",
            Capabilities(slots: 4) with { Sandbox = Samples.Sandboxed() }, T0));

        BotState.CheckIn(state, CheckIn(T0.AddSeconds(5), Capabilities(slots: 4) with { Sandbox = Samples.Sandboxed() })).Should().BeEmpty();
    }

    [Fact]
    public void Check_in_with_equal_but_distinct_capabilities_persists_nothing()
    {
        var copy = new BotCapabilities([.. Capabilities(slots: 4).Engines.Select(e => new EngineCapability(e.Name, e.Version))], 4, 16_384);

        BotState.CheckIn(Online(), CheckIn(T0.AddSeconds(5), copy)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("agent")]
    [InlineData("address")]
    [InlineData("hostname")]
    [InlineData("slots")]
    [InlineData("memory")]
    [InlineData("engine-version")]
    [InlineData("sandbox")]
    public void Check_in_that_changes_what_is_known_is_persisted(string change)
    {
        var at = T0.AddSeconds(5);
        var checkIn = CheckIn(at);
        checkIn = change switch
        {
            "agent" => checkIn with { AgentPath = AgentPathB },
            "address" => checkIn with { Address = "10.0.0.99:4053" },
            "hostname" => checkIn with { Hostname = "fuzz-box-2" },
            "slots" => checkIn with { Capabilities = Capabilities(slots: 8) },
            "memory" => checkIn with { Capabilities = Capabilities(slots: 4) with { MemoryMb = 32_768 } },
            "engine-version" => checkIn with
            {
                Capabilities = Capabilities(slots: 4) with { Engines = [new EngineCapability(EngineNames.LibFuzzer, "19.1.0")] },
            },
            "sandbox" => checkIn with { Capabilities = Capabilities(slots: 4) with { Sandbox = Samples.Sandboxed() } },
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };

        var events = BotState.CheckIn(Online(), checkIn);

        var registered = events.Should().ContainSingle().Which.Should().BeOfType<BotRegistered>().Subject;
        registered.AgentPath.Should().Be(checkIn.AgentPath);
        registered.Address.Should().Be(checkIn.Address);
        registered.Hostname.Should().Be(checkIn.Hostname);
        registered.Capabilities.Should().Be(checkIn.Capabilities);
        registered.At.Should().Be(at);
    }

    [Fact]
    public void Check_in_of_an_offline_bot_brings_it_back_online()
    {
        var offline = Online().Apply(new BotWentOffline(BotA, "no check-in for 30s", T0.AddMinutes(1)));

        var events = BotState.CheckIn(offline, CheckIn(T0.AddMinutes(2)));
        var state = events.Aggregate(offline, (s, e) => s.Apply(e));

        events.Should().ContainSingle().Which.Should().BeOfType<BotRegistered>();
        state.Status.Should().Be(BotStatus.Online);
        state.OfflineReason.Should().BeNull();
        state.OfflineSince.Should().BeNull();
        state.RegisteredAt.Should().Be(T0);
    }

    [Fact]
    public void Going_offline_is_persisted_once()
    {
        var now = T0.AddMinutes(1);
        var first = Online().GoOffline("no check-in for 30s", now);
        var offline = first.Aggregate(Online(), (s, e) => s.Apply(e));

        var second = offline.GoOffline("no check-in for 30s", now.AddSeconds(30));

        first.Should().Equal(new BotWentOffline(BotA, "no check-in for 30s", now));
        second.Should().BeEmpty();
        offline.Status.Should().Be(BotStatus.Offline);
        offline.OfflineReason.Should().Be("no check-in for 30s");
        offline.OfflineSince.Should().Be(now);
    }

    [Fact]
    public void A_drained_bot_offers_no_free_slot_and_stays_drained_when_it_registers_again()
    {
        var events = Online().SetDraining(true, T0.AddMinutes(1));
        var drained = events.Aggregate(Online(), (s, e) => s.Apply(e));
        var caps = drained.Capabilities;

        events.Should().Equal(new BotDrainingChanged(BotA, true, T0.AddMinutes(1)));
        drained.SetDraining(true, T0.AddMinutes(2)).Should().BeEmpty("draining twice changes nothing");
        drained.Offered(caps with { Slots = 4 }, running: 1).Slots.Should().Be(0, "its running job keeps its slot in the queue; no slot is offered");
        drained.Offered(caps with { Slots = 4 }, running: 0).Slots.Should().Be(0);
        drained.Apply(new BotRegistered(BotA, "akka.tcp://x/user/agent2", "10.0.0.9:4053", "box", caps, T0.AddMinutes(3))).Draining.Should().BeTrue();

        var resumed = drained.SetDraining(false, T0.AddMinutes(4)).Aggregate(drained, (s, e) => s.Apply(e));
        resumed.Draining.Should().BeFalse();
        resumed.Offered(caps with { Slots = 4 }, running: 1).Slots.Should().Be(4);
    }

    [Fact]
    public void A_bot_that_cannot_isolate_its_targets_offers_no_slot()
    {
        var caps = Online().Capabilities with { Slots = 4 };
        var refusing = caps with { Sandbox = Samples.Sandboxed() with { RefusesJobs = "targets would run without isolation" } };
        var allowed = caps with { Sandbox = Samples.Sandboxed() with { AllowUnisolated = true } };

        Online().Offered(refusing, running: 0).Slots.Should().Be(0);
        Online().Offered(allowed, running: 0).Slots.Should().Be(4, "the operator's opt-out lets it run targets unisolated");
        Online().Offered(caps with { Sandbox = null }, running: 0).Slots.Should().Be(4, "a bot from before the sandbox reported nothing to refuse on");
    }

    [Fact]
    public void Apply_of_another_entity_event_throws()
    {
        var act = () => Online().Apply(new JobEvents.JobStarted(Job(0), BotA, T0));

        act.Should().Throw<ArgumentException>();
    }
}
