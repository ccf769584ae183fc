using System.Globalization;
using PandaFuzz.Bot.Engines;

namespace PandaFuzz.Bot.Sandboxing;

/// <summary>
/// Each fuzzing job of this machine's bots on a core of its own: the job's engine run starts under <c>taskset</c> on the
/// job's core, and every other process a bot starts (triage reruns, minimization, a coverage report's tools) on the
/// cores no fuzzer of this node holds (<see cref="JobLaunchExtras"/>), so neither a report's bursts nor a rerun take a
/// fuzzer's core. A core is a lock file held with <c>flock</c> in a folder that every bot of the machine uses, so bots
/// of several nodes on one machine never pin two fuzzers to one core; with none free a job runs unpinned. Of the free
/// cores a job takes the one that has handled the fewest interrupts: on a VM every disk interrupt may go to one core, and
/// the time it takes is charged to whatever runs there.
/// </summary>
public sealed partial class CoreLeases
{
    private const string Taskset = "taskset";

    private readonly string _lockDir;
    private readonly IReadOnlyList<int> _cores;
    private readonly bool _nodeOffFuzzingCores;
    // The cores this node's fuzzing jobs hold; its other runs, and its own threads, keep off them.
    private readonly HashSet<int> _fuzzing = [];
    private readonly Lock _gate = new();

    /// <param name="nodeOffFuzzingCores">Keep this process's own threads (the node: corpus sync, zips, the API) off the cores its
    /// fuzzing jobs hold, while a core is left for them.</param>
    public CoreLeases(string lockDir, IReadOnlyList<int> cores, bool nodeOffFuzzingCores = false)
    {
        _lockDir = lockDir;
        _cores = cores;
        _nodeOffFuzzingCores = nodeOffFuzzingCores;
        Directory.CreateDirectory(lockDir);
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                // Bots of other users on this machine lock here too (sticky, like /tmp).
                File.SetUnixFileMode(lockDir, (UnixFileMode)Convert.ToInt32("1777", 8));
            }
            catch (UnauthorizedAccessException)
            {
                // Another user's folder: its mode is theirs to set.
            }
        }
    }

    public IReadOnlyList<int> Cores => _cores;

    /// <summary>The machine's leases for this process's cores, or null (with the reason) when pinning cannot work here.</summary>
    public static CoreLeases? ForThisMachine(string lockDir, bool nodeOffFuzzingCores, out string? reason)
    {
        var taskset = ToolProbe.Find(Taskset);
        var cores = AllowedCores();
        reason = !OperatingSystem.IsLinux() ? "not Linux"
            : taskset is null ? "taskset (util-linux) is not on the PATH"
            : cores.Count < 2 ? "this process may use one core only"
            : null;
        return reason is null ? new CoreLeases(lockDir, cores, nodeOffFuzzingCores) : null;
    }

    /// <summary>The default lock folder: one per machine, outside every bot's data dir.</summary>
    public static string DefaultLockDir() =>
        Directory.Exists("/run/lock") && !OperatingSystem.IsWindows() ? "/run/lock/pandafuzz-cores" : Path.Combine(Path.GetTempPath(), "pandafuzz-cores");

    /// <summary>A free core for the fuzzing job whose processes run in <paramref name="jobDir"/>, or null when every core is taken.</summary>
    public CoreLease? TryTake(string jobDir)
    {
        var interrupts = InterruptsByCore();
        foreach (var core in _cores.OrderBy(c => interrupts.GetValueOrDefault(c)).ThenBy(c => c))
        {
            var lockFile = Path.Combine(_lockDir, $"core{core.ToString(CultureInfo.InvariantCulture)}.lock");
            FileStream held;
            try
            {
                // FileShare.None takes flock(LOCK_EX | LOCK_NB) on Unix: held by another job, of this process or another, it throws.
                var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = (UnixFileMode)Convert.ToInt32("666", 8);
                }

                held = new FileStream(lockFile, options);
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            JobLaunchExtras.PinTo(jobDir, core);
            Fuzzing(core, true);
            return new CoreLease(core, () =>
            {
                Fuzzing(core, false);
                JobLaunchExtras.Unpin(jobDir);
                held.Dispose();
            });
        }

        return null;
    }

    /// <summary>
    /// The cores for everything but the fuzzers (the node's own threads, reruns, minimizations, coverage tools): those no
    /// fuzzing job of this node holds, or all when none is left.
    /// </summary>
    public IReadOnlyList<int> FreeCores
    {
        get
        {
            lock (_gate)
            {
                var free = _cores.Where(c => !_fuzzing.Contains(c)).ToList();
                return free.Count > 0 ? free : _cores;
            }
        }
    }

    private void Fuzzing(int core, bool holds)
    {
        lock (_gate)
        {
            if (holds)
            {
                _fuzzing.Add(core);
            }
            else
            {
                _fuzzing.Remove(core);
            }

            if (_nodeOffFuzzingCores && OperatingSystem.IsLinux())
            {
                MoveThreads(FreeCores);
            }
        }
    }

    /// <summary>Every thread of this process onto <paramref name="cores"/>; threads started later inherit it from their creator.</summary>
    private static void MoveThreads(IReadOnlyList<int> cores)
    {
        var mask = new byte[128];
        foreach (var core in cores.Where(c => c < mask.Length * 8))
        {
            mask[core / 8] |= (byte)(1 << (core % 8));
        }

        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            // A thread that ended since the listing is no error.
            if (int.TryParse(Path.GetFileName(task), CultureInfo.InvariantCulture, out var tid))
            {
                _ = SchedSetAffinity(tid, (nuint)mask.Length, mask);
            }
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nuint size, byte[] mask);

    /// <summary>The cores this process may run on (<c>Cpus_allowed_list</c>: "0-3,6").</summary>
    public static IReadOnlyList<int> AllowedCores()
    {
        var line = OperatingSystem.IsLinux()
            ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
            : null;
        return line is null ? [.. Enumerable.Range(0, Environment.ProcessorCount)] : ParseCoreList(line["Cpus_allowed_list:".Length..]);
    }

    public static IReadOnlyList<int> ParseCoreList(string list)
    {
        var cores = new SortedSet<int>();
        foreach (var part in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            var first = int.Parse(range[0], CultureInfo.InvariantCulture);
            var last = range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : first;
            for (var core = first; core <= last; core++)
            {
                cores.Add(core);
            }
        }

        return [.. cores];
    }

    /// <summary>Interrupts each core has handled since boot, from <c>/proc/interrupts</c> (empty where it cannot be read).</summary>
    public static IReadOnlyDictionary<int, long> InterruptsByCore()
    {
        try
        {
            return OperatingSystem.IsLinux() ? ParseInterrupts(File.ReadAllLines("/proc/interrupts")) : new Dictionary<int, long>();
        }
        catch (IOException)
        {
            return new Dictionary<int, long>();
        }
    }

    public static IReadOnlyDictionary<int, long> ParseInterrupts(IReadOnlyList<string> lines)
    {
        var totals = new Dictionary<int, long>();
        if (lines.Count == 0)
        {
            return totals;
        }

        var columns = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(c => c.StartsWith("CPU", StringComparison.Ordinal) && int.TryParse(c[3..], CultureInfo.InvariantCulture, out var n) ? n : -1)
            .ToList();
        foreach (var line in lines.Skip(1))
        {
            // "  24:   1234   5678   PCI-MSI ... virtio1-req.0": a count per CPU column; rows such as ERR have one number.
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < columns.Count + 1)
            {
                continue;
            }

            for (var i = 0; i < columns.Count; i++)
            {
                if (columns[i] >= 0 && long.TryParse(fields[i + 1], CultureInfo.InvariantCulture, out var count))
                {
                    totals[columns[i]] = totals.GetValueOrDefault(columns[i]) + count;
                }
            }
        }

        return totals;
    }
}

/// <summary>A job's hold on a core; disposing it frees the core for the next job on this machine.</summary>
public sealed class CoreLease(int core, Action release) : IDisposable
{
    private int _released;

    public int Core { get; } = core;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            release();
        }
    }
}
