using System.Diagnostics;
using System.Globalization;

namespace PandaFuzz.Bot.Processes;

/// <summary>
/// Kills a fuzzer's process group once this process is gone, however it went: a bot killed with SIGKILL (or by the OOM
/// killer) runs no cleanup of its own. A small shell, started with this process holding the only write end of its stdin,
/// waits in a blocking read. <see cref="Release"/> tells it the group was looked after and it exits; this process's death
/// closes the pipe instead, the read ends with nothing, and the shell kills the group. It sleeps in the kernel until
/// then: no polling, so nothing wakes on the fuzzer's core while it runs. The shell leads a session of its own (through
/// <c>setsid</c>): a service manager or an operator that kills the node's whole process group (<c>kill -9 -PGID</c>)
/// kills the node but not its switches, which then kill the fuzzers.
/// </summary>
public sealed class DeadMansSwitch : IDisposable
{
    private const string ReleaseWord = "released";

    // stdout and stderr go to /dev/null at once: a shell that outlives the node must not hold the node's own output open
    // (whoever reads it would wait for the shell). A group not made yet (setsid still starting) gets a second try.
    private const string Script =
        "exec >/dev/null 2>&1; group=$1; IFS= read -r word; [ \"$word\" = " + ReleaseWord + " ] && exit 0; " +
        "kill -9 -\"$group\" || { sleep 1; kill -9 -\"$group\"; }; exit 0";

    private readonly Process _shell;
    private bool _done;

    private DeadMansSwitch(Process shell, int group)
    {
        _shell = shell;
        Group = group;
    }

    /// <summary>The process group this switch guards.</summary>
    public int Group { get; }

    /// <summary>The switch's own shell.</summary>
    public int Pid => _shell.Id;

    /// <summary>Completes once the switch's shell has exited (after a release or a trip), having done what it does.</summary>
    public Task Ended { get; private set; } = Task.CompletedTask;

    /// <summary>Arms a switch for the group <paramref name="pgid"/>.</summary>
    public static DeadMansSwitch Arm(int pgid)
    {
        // .NET opens its pipes close-on-exec, so no other child keeps the write end (and the shell alive) after we die.
        // setsid execs sh in place (a child of .NET never leads a group, so it does not fork): the pid is the shell's.
        var info = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardInput = true };
        info.ArgumentList.Add("sh");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Script);
        info.ArgumentList.Add("pandafuzz-fuzzer-watch");
        info.ArgumentList.Add(pgid.ToString(CultureInfo.InvariantCulture));
        var shell = Process.Start(info) ?? throw new InvalidOperationException("setsid sh did not start");
        return new DeadMansSwitch(shell, pgid);
    }

    /// <summary>The group was looked after (it ended, or was killed): the switch ends without touching it.</summary>
    public void Release() => End(ReleaseWord);

    /// <summary>Kills the group now, exactly as this process's death would: the pipe closes with no release.</summary>
    public void Trip() => End(null);

    public void Dispose() => Release();

    private void End(string? word)
    {
        if (_done)
        {
            return;
        }

        _done = true;
        try
        {
            if (word is not null)
            {
                _shell.StandardInput.WriteLine(word);
            }

            _shell.StandardInput.Close();
        }
        catch (IOException)
        {
            // The shell is gone already (killed along with the node's own processes): nothing to end.
        }

        // The shell exits at once; waiting for it off this thread reaps it without holding up the caller.
        Ended = _shell.WaitForExitAsync().ContinueWith(_ => _shell.Dispose(), TaskScheduler.Default);
    }
}
