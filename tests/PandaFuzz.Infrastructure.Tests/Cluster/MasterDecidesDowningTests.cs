using FluentAssertions;
using PandaFuzz.Infrastructure.Cluster;
using Xunit;

namespace PandaFuzz.Infrastructure.Tests.Cluster;

public sealed class MasterDecidesDowningTests
{
    private const string Master = "akka.tcp://pandafuzz@10.0.0.1:4053";
    private const string SecondMaster = "akka.tcp://pandafuzz@10.0.0.2:4053";
    private const string BotA = "akka.tcp://pandafuzz@10.0.0.5:4053";
    private const string BotB = "akka.tcp://pandafuzz@10.0.0.6:4053";

    private static MemberView M(string address, int age, bool reachable = true, bool master = false, bool down = false, bool downed = false) =>
        new(address, master, age, reachable, down || downed, downed);

    [Fact]
    public void The_master_downs_an_unreachable_bot()
    {
        var members = new[] { M(Master, 0, master: true), M(BotA, 1, reachable: false), M(BotB, 2) };

        MasterDecidesDowning.Decide(Master, members).Should().Equal(BotA);
    }

    [Fact]
    public void A_bot_never_downs_anyone_not_even_an_unreachable_master_or_itself()
    {
        var masterGone = new[] { M(Master, 0, reachable: false, master: true), M(BotA, 1), M(BotB, 2) };
        var cutOff = new[] { M(Master, 0, reachable: false, master: true), M(BotA, 1), M(BotB, 2, reachable: false) };

        MasterDecidesDowning.Decide(BotA, masterGone).Should().BeEmpty();
        MasterDecidesDowning.Decide(BotA, cutOff).Should().BeEmpty();
    }

    [Fact]
    public void A_bot_speaks_for_a_rejoining_master_whose_old_incarnation_is_down_and_downs_what_blocks_its_removal()
    {
        // The master downed bot B and died before bot A heard it; restarted, it asks to join: its old self is down.
        var blocked = new[] { M(Master, 0, reachable: false, master: true, downed: true), M(BotA, 1), M(BotB, 2, reachable: false) };

        MasterDecidesDowning.Decide(BotA, blocked).Should().Equal(BotB);
        MasterDecidesDowning.Decide(BotB, blocked).Should().BeEmpty("only the oldest reachable member decides");

        // A master that leaves (an upgrade) is on its way out, not marked down: the bots still down no one.
        var leaving = new[] { M(Master, 0, master: true, down: true), M(BotA, 1), M(BotB, 2, reachable: false) };
        MasterDecidesDowning.Decide(BotA, leaving).Should().BeEmpty();
    }

    [Fact]
    public void A_reachable_master_still_decides_alone_when_another_master_is_down()
    {
        var members = new[] { M(Master, 0, reachable: false, master: true, downed: true), M(SecondMaster, 1, master: true), M(BotA, 2), M(BotB, 3, reachable: false) };

        MasterDecidesDowning.Decide(SecondMaster, members).Should().Equal(BotB);
        MasterDecidesDowning.Decide(BotA, members).Should().BeEmpty();
    }

    [Fact]
    public void A_master_cut_off_from_every_bot_keeps_running_and_downs_them()
    {
        var members = new[] { M(Master, 0, master: true), M(BotA, 1, reachable: false), M(BotB, 2, reachable: false) };

        MasterDecidesDowning.Decide(Master, members).Should().BeEquivalentTo([BotA, BotB]);
    }

    [Fact]
    public void Only_the_oldest_reachable_master_decides()
    {
        var members = new[] { M(Master, 0, master: true), M(SecondMaster, 1, master: true), M(BotA, 2, reachable: false) };

        MasterDecidesDowning.Decide(Master, members).Should().Equal(BotA);
        MasterDecidesDowning.Decide(SecondMaster, members).Should().BeEmpty();
    }

    [Fact]
    public void A_new_master_takes_over_the_decision_from_an_unreachable_older_one()
    {
        var members = new[] { M(Master, 0, reachable: false, master: true), M(SecondMaster, 1, master: true), M(BotA, 2) };

        MasterDecidesDowning.Decide(SecondMaster, members).Should().Equal(Master);
    }

    [Fact]
    public void Members_already_down_are_not_downed_again()
    {
        var members = new[] { M(Master, 0, master: true), M(BotA, 1, reachable: false, down: true), M(BotB, 2, reachable: false) };

        MasterDecidesDowning.Decide(Master, members).Should().Equal(BotB);
    }

    [Fact]
    public void Nothing_is_downed_when_everything_is_reachable()
    {
        var members = new[] { M(Master, 0, master: true), M(BotA, 1), M(BotB, 2) };

        MasterDecidesDowning.Decide(Master, members).Should().BeEmpty();
    }
}
