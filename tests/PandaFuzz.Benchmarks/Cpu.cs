using System.Globalization;

namespace PandaFuzz.Benchmarks;

/// <summary>CPU affinity (through taskset) and CPU time of processes, read from /proc.</summary>
public static class Cpu
{
    private static readonly Lazy<double> LazyClockTicks = new(() =>
    {
        try
        {
            var result = ProcessRunner.RunAsync("getconf", ["CLK_TCK"], TimeSpan.FromSeconds(10), CancellationToken.None).GetAwaiter().GetResult();
            return double.TryParse(result.Output.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
        }
    });

    /// <summary>Clock ticks per second of the times in /proc (<c>getconf CLK_TCK</c>, 100 when unknown).</summary>
    public static double ClockTicks => LazyClockTicks.Value;

    /// <summary>"0-1,3" → {0, 1, 3}: the kernel's core lists, read as the bot reads them.</summary>
    public static SortedSet<int> ParseList(string list) => [.. PandaFuzz.Bot.Sandboxing.CoreLeases.ParseCoreList(list)];

    public static string Format(IEnumerable<int> cpus) => string.Join(',', cpus);

    /// <summary>The cores this machine has online (/sys/devices/system/cpu/online).</summary>
    public static SortedSet<int> Online()
    {
        const string file = "/sys/devices/system/cpu/online";
        return File.Exists(file)
            ? ParseList(File.ReadAllText(file).Trim())
            : new SortedSet<int>(Enumerable.Range(0, Environment.ProcessorCount));
    }

    /// <summary>
    /// CPU seconds all cores have spent busy since boot (user, nice, system, irq, softirq of /proc/stat's <c>cpu</c> line) and
    /// those the hypervisor took from this VM (steal), or null where there is no /proc/stat.
    /// </summary>
    public static (double Busy, double Steal)? MachineSeconds()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            double Field(int i) => i < fields.Length ? double.Parse(fields[i], CultureInfo.InvariantCulture) : 0;
            return ((Field(1) + Field(2) + Field(3) + Field(6) + Field(7)) / LazyClockTicks.Value, Field(8) / LazyClockTicks.Value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The cores a thread or process may run on (<c>Cpus_allowed_list</c> of /proc/&lt;path&gt;/status), or null when gone.</summary>
    public static SortedSet<int>? Allowed(string procPath)
    {
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(procPath, "status")))
            {
                if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
                {
                    return ParseList(line["Cpus_allowed_list:".Length..].Trim());
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process or thread has gone.
        }

        return null;
    }

    /// <summary>
    /// Moves every thread of <paramref name="pid"/> onto <paramref name="cpus"/> (<c>taskset -a -p -c</c>) and checks each
    /// thread's allowed list, trying again for threads created meanwhile.
    /// </summary>
    public static async Task PinAllThreadsAsync(int pid, IReadOnlyCollection<int> cpus, CancellationToken cancellationToken)
    {
        var list = Format(cpus);
        for (var attempt = 1; ; attempt++)
        {
            var result = await ProcessRunner.RunAsync(
                "taskset", ["-a", "-p", "-c", list, pid.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(20), cancellationToken);
            if (!result.Succeeded)
            {
                throw new InvalidOperationException($"taskset -a -p -c {list} {pid} failed ({result.ExitCode}): {result.Tail(5)}");
            }

            var stray = StrayThreads(pid, cpus);
            if (stray.Count == 0)
            {
                return;
            }

            if (attempt == 5)
            {
                throw new InvalidOperationException($"After 5 attempts, threads {string.Join(", ", stray)} of process {pid} are not confined to cores {list}.");
            }
        }
    }

    /// <summary>Threads of <paramref name="pid"/> allowed on a core outside <paramref name="cpus"/>.</summary>
    public static List<string> StrayThreads(int pid, IReadOnlyCollection<int> cpus)
    {
        var stray = new List<string>();
        var tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks))
        {
            return stray;
        }

        foreach (var thread in Directory.EnumerateDirectories(tasks))
        {
            if (Allowed(thread) is { } allowed && !allowed.SetEquals(cpus))
            {
                stray.Add($"{Path.GetFileName(thread)} ({Format(allowed)})");
            }
        }

        return stray;
    }

    /// <summary>User + system CPU seconds used by the process's own threads so far (not its children), or null when gone.</summary>
    public static double? CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name, which is in parentheses and may contain spaces: state is field 3, utime 14, stime 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = double.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = double.Parse(fields[12], CultureInfo.InvariantCulture);
            return (utime + stime) / LazyClockTicks.Value;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// User + system CPU seconds of the process's children that it has waited for (cutime + cstime, which include their own
    /// waited-for descendants), or null when gone: for a node, the fuzzers it ran; for this program, the standalone fuzzers.
    /// </summary>
    public static double? ChildrenCpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var cutime = double.Parse(fields[13], CultureInfo.InvariantCulture);
            var cstime = double.Parse(fields[14], CultureInfo.InvariantCulture);
            return (cutime + cstime) / LazyClockTicks.Value;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Processes whose command line contains <paramref name="literal"/>, as (pid, command line).</summary>
    public static List<(int Pid, string CommandLine)> FindByCommandLine(string literal)
    {
        var found = new List<(int, string)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
                if (commandLine.Contains(literal, StringComparison.Ordinal))
                {
                    found.Add((pid, commandLine));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }

        return found;
    }
}
