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
        // The pid file sits in the work dir, the target's to replace: read as a small regular file of its own only.
        if (Sandboxing.UntrustedFiles.ReadAllBytes(workDir, pidFile, 64) is not { } pidText
            || !int.TryParse(System.Text.Encoding.ASCII.GetString(pidText).Trim(), out var pgid) || pgid <= 1)
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
