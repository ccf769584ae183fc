using System.Diagnostics;
using System.Runtime.InteropServices;
using PandaFuzz.Bot.Engines;

namespace PandaFuzz.Bot.Processes;

/// <summary>Fuzzers lead their own process group (<c>setsid</c>), so a job's stop or a restarted bot kills all the target forked.</summary>
public static partial class ProcessGroups
{
    private const int SigTerm = 15;
    private const int SigKill = 9;

    /// <summary>The group's id is the program's pid; the caller closes stdin.</summary>
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

    public static bool IsAlive(int pgid) => Kill(-pgid, 0) == 0;

    /// <summary>User + system clock ticks of the group, with its reaped children's; -1 where there is no /proc.</summary>
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

    /// <summary>The command name (field 2) may hold spaces and parentheses: fields are counted from the last ')'.</summary>
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
