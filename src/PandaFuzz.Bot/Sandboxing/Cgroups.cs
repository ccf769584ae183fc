using System.Globalization;

namespace PandaFuzz.Bot.Sandboxing;

/// <summary>File operations on memory cgroups (v1 and v2).</summary>
public static class Cgroups
{
    /// <summary>On v2 the memory controller must be enabled for the parent's children and its own.</summary>
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

    /// <summary>Names start with the bot's pid: a live bot's cgroups, maybe made a moment ago and not yet joined, stay.</summary>
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

    /// <summary>No swap beyond the limit where the kernel lets us say so; returns the <c>cgroup.procs</c> path.</summary>
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

    /// <summary>The kernel may still count a process that just died, so it tries a few times.</summary>
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
