using System.Diagnostics;
using System.Globalization;

namespace PandaFuzz.Bot.Processes;

/// <summary>
/// Kills a fuzzer's process group once this process is gone, however it went (SIGKILL runs no cleanup). A shell blocks
/// reading a pipe whose only write end we hold: <see cref="Release"/> writes a word, our death closes it and the shell
/// kills the group; no polling. It leads its own session, so <c>kill -9 -PGID</c> of the node spares it.
/// </summary>
public sealed class DeadMansSwitch : IDisposable
{
    private const string ReleaseWord = "released";

    // A shell that outlives the node must not hold the node's output open. A group not made yet (setsid still starting)
    // gets a second try.
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

    public int Group { get; }

    public int Pid => _shell.Id;

    /// <summary>Completes once the shell has exited, after a release or a trip.</summary>
    public Task Ended { get; private set; } = Task.CompletedTask;

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

    public void Release() => End(ReleaseWord);

    /// <summary>Kills the group now, exactly as this process's death would.</summary>
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
