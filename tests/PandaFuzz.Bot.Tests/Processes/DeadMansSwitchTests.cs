using System.Diagnostics;
using FluentAssertions;
using PandaFuzz.Bot.Processes;
using Xunit;

namespace PandaFuzz.Bot.Tests.Processes;

/// <summary>A real process group, started through setsid as a fuzzer is, guarded by a real switch.</summary>
public sealed class DeadMansSwitchTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_tripped_switch_kills_the_group_even_with_other_children_started_after_it()
    {
        // Arrange: a group whose leader forked a child of its own; then another child of ours, as the next job's fuzzer
        // would be: it must not keep the switch's pipe open (so that only our end was left to close).
        using var group = StartGroup();
        using var theSwitch = DeadMansSwitch.Arm(group.Id);
        using var nextFuzzer = Process.Start(new ProcessStartInfo("sleep", ["30"]) { UseShellExecute = false })!;
        await WaitForAsync(() => Members(group.Id) == 2, "the group has its leader and the leader's child");

        // Act: what this process's death does.
        theSwitch.Trip();

        // Assert: the whole group is killed with SIGKILL; our other child is untouched.
        await group.WaitForExitAsync().WaitAsync(Wait);
        group.ExitCode.Should().Be(128 + 9, "the leader was killed with SIGKILL");
        await WaitForAsync(() => Members(group.Id) == 0, "no member of the group is left");
        await theSwitch.Ended.WaitAsync(Wait);
        nextFuzzer.HasExited.Should().BeFalse();
        nextFuzzer.Kill();
    }

    [Fact]
    public async Task A_released_switch_ends_and_leaves_the_group_alone()
    {
        // Arrange
        using var group = StartGroup();
        var theSwitch = DeadMansSwitch.Arm(group.Id);
        await WaitForAsync(() => Members(group.Id) == 2, "the group has its leader and the leader's child");

        // Act
        theSwitch.Release();
        await theSwitch.Ended.WaitAsync(Wait);

        // Assert: the shell is gone, and the group still runs (a trip kills at once, before the shell exits).
        Members(group.Id).Should().Be(2);
        group.HasExited.Should().BeFalse();
        ProcessGroups.KillGroup(group.Id);
        await group.WaitForExitAsync().WaitAsync(Wait);
    }

    [Fact]
    public async Task A_switch_whose_group_has_ended_trips_without_harm()
    {
        // Arrange: the group ended by itself before the owner died.
        using var group = StartGroup("true");
        using var theSwitch = DeadMansSwitch.Arm(group.Id);
        await group.WaitForExitAsync().WaitAsync(Wait);

        // Act
        theSwitch.Trip();

        // Assert: the shell still ends (after its second try, a second later).
        await theSwitch.Ended.WaitAsync(Wait);
        Members(group.Id).Should().Be(0);
    }

    [Fact]
    public async Task A_switch_leads_a_session_of_its_own_so_a_kill_of_its_owners_process_group_spares_it()
    {
        // Arrange
        using var group = StartGroup();
        using var theSwitch = DeadMansSwitch.Arm(group.Id);

        // Assert: the shell leads its own session and group, not ours (kill -9 -<our group> must leave it to act).
        await WaitForAsync(() => SessionAndGroup(theSwitch.Pid) == (theSwitch.Pid, theSwitch.Pid), "the switch's shell leads its own session");
        SessionAndGroup(Environment.ProcessId).Group.Should().NotBe(theSwitch.Pid);
        theSwitch.Trip();
        await group.WaitForExitAsync().WaitAsync(Wait);
        await theSwitch.Ended.WaitAsync(Wait);
    }

    /// <summary>The session and process group of a process, from its <c>/proc/PID/stat</c> (fields 6 and 5).</summary>
    private static (int Session, int Group) SessionAndGroup(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (int.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A new process group led by a shell that forks a sleeping child and waits for it.</summary>
    private static Process StartGroup(string command = "sleep 60 & wait") =>
        Process.Start(new ProcessStartInfo("setsid", ["sh", "-c", command]) { UseShellExecute = false })!;

    /// <summary>The live members of a group (a zombie waiting for init to reap it is not one).</summary>
    private static int Members(int pgid) =>
        Directory.EnumerateDirectories("/proc")
            .Where(d => int.TryParse(Path.GetFileName(d), out _))
            .Count(d =>
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(d, "stat"));
                    var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
                    return state != "Z" && ProcessGroups.ParseStat(stat) is { } parsed && parsed.Group == pgid;
                }
                catch (IOException)
                {
                    return false;
                }
            });

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            clock.Elapsed.Should().BeLessThan(Wait, what);
            await Task.Delay(50);
        }
    }
}
