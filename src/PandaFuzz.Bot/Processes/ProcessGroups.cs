using System.Diagnostics;
using System.Runtime.InteropServices;
using PandaFuzz.Bot.Engines;

namespace PandaFuzz.Bot.Processes;

/// <summary>
/// Fuzzers run as leaders of their own process group (started through <c>setsid</c>), so stopping a job
/// kills the target and everything it forked, and a bot that restarts after a crash can find and kill the
/// groups its previous life left behind.
/// </summary>
public static partial class ProcessGroups
{
    private const int SigTerm = 15;
    private const int SigKill = 9;

    /// <summary>
    /// A start of <paramref name="launch"/> through <c>setsid</c>: the program leads a new process group whose id
    /// is its pid; all output is redirected and stdin closed by the caller.
    /// </summary>
    public static ProcessStartInfo StartInfo(FuzzerLaunch launch)
    {
        var info = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = launch.WorkingDirectory,
        };
        info.ArgumentList.Add(launch.Program);
        foreach (var arg in launch.Arguments)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in launch.Environment)
        {
            info.Environment[key] = value;
        }

        return info;
    }

    /// <summary>
    /// Starts a dead man's switch for the group <paramref name="pgid"/>: a detached shell loop that kills the group once
    /// this process is gone (a bot killed with SIGKILL runs no cleanup), and ends by itself once the group has. It
    /// checks once a second from a second after the start; the shell that starts it exits at once, so the loop belongs
    /// to init, not to us.
    /// </summary>
    public static void KillWithThisProcess(int pgid)
    {
        var info = new ProcessStartInfo("sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        // The first look waits a second: setsid may not have made the group yet, and a loop that found no group and
        // then killed it would kill the fuzzer it guards. Only a gone owner kills; a gone group ends the loop.
        info.ArgumentList.Add("owner=$1; group=$2; (sleep 1; while kill -0 \"$owner\" 2>/dev/null; do " +
            "kill -0 -\"$group\" 2>/dev/null || exit 0; sleep 1; done; kill -9 -\"$group\" 2>/dev/null) </dev/null >/dev/null 2>&1 &");
        info.ArgumentList.Add("pandafuzz-fuzzer-watch");
        info.ArgumentList.Add(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add(pgid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var starter = Process.Start(info);
        starter?.WaitForExit(TimeSpan.FromSeconds(5));
    }

    public static void Terminate(int pgid) => _ = Kill(-pgid, SigTerm);

    public static void KillGroup(int pgid) => _ = Kill(-pgid, SigKill);

    /// <summary>Whether any process of the group is alive (signal 0 only checks).</summary>
    public static bool IsAlive(int pgid) => Kill(-pgid, 0) == 0;

    /// <summary>
    /// The CPU time (user + system, in clock ticks, with that of reaped children) of the processes in group
    /// <paramref name="pgid"/>, from <c>/proc/*/stat</c>; -1 where there is no /proc.
    /// </summary>
    public static long CpuTicks(int pgid)
    {
        if (!Directory.Exists("/proc"))
        {
            return -1;
        }

        long total = 0;
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out _))
            {
                continue;
            }

            try
            {
                if (ParseStat(File.ReadAllText(Path.Combine(entry, "stat"))) is { } stat && stat.Group == pgid)
                {
                    total += stat.Ticks;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked.
            }
        }

        return total;
    }

    /// <summary>
    /// The process group and CPU ticks (utime + stime + cutime + cstime) of one <c>/proc/PID/stat</c> line. The command
    /// name (field 2) may hold spaces and parentheses, so the fields are counted from its last ')'.
    /// </summary>
    public static (int Group, long Ticks)? ParseStat(string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        // After ')': state(3) ppid(4) pgrp(5) ... utime(14) stime(15) cutime(16) cstime(17).
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 15 || !int.TryParse(fields[2], out var group))
        {
            return null;
        }

        long ticks = 0;
        for (var i = 11; i <= 14; i++)
        {
            if (!long.TryParse(fields[i], out var value))
            {
                return null;
            }

            ticks += value;
        }

        return (group, ticks);
    }

    /// <summary>Kills the group recorded in <paramref name="pidFile"/> if its leader still runs the program under <paramref name="workDir"/>.</summary>
    public static bool KillLeftover(string pidFile, string workDir)
    {
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pgid) || pgid <= 1)
        {
            return false;
        }

        // A recycled pid belongs to someone else: only kill when its command line names this work dir.
        var cmdline = $"/proc/{pgid}/cmdline";
        var ours = File.Exists(cmdline) && File.ReadAllText(cmdline).Contains(workDir, StringComparison.Ordinal);
        if (ours)
        {
            KillGroup(pgid);
        }

        File.Delete(pidFile);
        return ours;
    }

    /// <summary>Kills every process (other than this one) whose command line contains <paramref name="text"/>.</summary>
    public static int KillProcessesMentioning(string text)
    {
        if (!Directory.Exists("/proc"))
        {
            return 0;
        }

        var killed = 0;
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(entry, "cmdline")).Contains(text, StringComparison.Ordinal))
                {
                    _ = Kill(pid, SigKill);
                    killed++;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked, or is not ours to read.
            }
        }

        return killed;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int sig);
}
