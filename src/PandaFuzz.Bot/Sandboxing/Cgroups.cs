using System.Globalization;

namespace PandaFuzz.Bot.Sandboxing;

/// <summary>File operations on memory cgroups (v1 and v2): the parent, one cgroup per run, its limit, its OOM kills.</summary>
public static class Cgroups
{
    /// <summary>Makes the parent; on v2 enables the memory controller for its children (and its own, from the root down).</summary>
    public static void PrepareParent(CgroupHost host)
    {
        Directory.CreateDirectory(host.Parent);
        if (host.Version == 2)
        {
            var above = Path.GetDirectoryName(host.Parent)!;
            EnableMemory(above);
            EnableMemory(host.Parent);
        }
    }

    /// <summary>
    /// Removes the run cgroups that bots no longer alive left (names start with the bot's pid); those of live bots,
    /// possibly made a moment ago and not yet joined, are theirs.
    /// </summary>
    public static void RemoveLeftovers(CgroupHost host)
    {
        foreach (var dir in Directory.EnumerateDirectories(host.Parent))
        {
            var owner = Path.GetFileName(dir).Split('-')[0];
            if (!int.TryParse(owner, CultureInfo.InvariantCulture, out var pid) || !Directory.Exists($"/proc/{pid}"))
            {
                Remove(dir);
            }
        }
    }

    /// <summary>Makes the run's cgroup with its limit (and no swap beyond it, where the kernel lets us say so); returns its <c>cgroup.procs</c>.</summary>
    public static string Create(CgroupHost host, string name, long limitBytes)
    {
        var dir = Path.Combine(host.Parent, name);
        Remove(dir);
        Directory.CreateDirectory(dir);
        var limit = limitBytes.ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(dir, host.LimitFile), limit);
        TryWrite(Path.Combine(dir, host.Version == 2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes"), host.Version == 2 ? "0" : limit);
        return Path.Combine(dir, "cgroup.procs");
    }

    /// <summary>How many processes of the cgroup the kernel's OOM killer killed (v2 memory.events, v1 memory.oom_control).</summary>
    public static long OomKills(CgroupHost host, string dir)
    {
        var file = Path.Combine(dir, host.Version == 2 ? "memory.events" : "memory.oom_control");
        try
        {
            foreach (var line in File.ReadAllLines(file))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && parts[0] == "oom_kill" && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var count))
                {
                    return count;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The cgroup is gone: nothing to count.
        }

        return 0;
    }

    /// <summary>Removes an empty cgroup; the kernel may still count a process that just died, so it tries a few times.</summary>
    public static void Remove(string dir)
    {
        for (var attempt = 0; attempt < 5 && Directory.Exists(dir); attempt++)
        {
            try
            {
                // A cgroup's files are not files: only rmdir of the directory itself removes it.
                Directory.Delete(dir, recursive: false);
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(20 * (attempt + 1));
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    private static void EnableMemory(string dir)
    {
        var control = Path.Combine(dir, "cgroup.subtree_control");
        if (File.Exists(control) && !File.ReadAllText(control).Split(' ', '\n').Contains("memory"))
        {
            File.WriteAllText(control, "+memory");
        }
    }

    private static void TryWrite(string file, string value)
    {
        try
        {
            if (File.Exists(file))
            {
                File.WriteAllText(file, value);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Swap accounting is off on this kernel: the memory limit alone applies.
        }
    }
}
