using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Akka.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Sandboxing;

/// <summary>
/// The sandbox of this bot: the plan decided once from the settings and the machine's probe, and the preparation of each
/// run (its work dir handed to the sandbox user, its memory cgroup, its command line). Fuzzing runs, reproductions and
/// minimizations all go through <see cref="Prepare"/>.
/// </summary>
public sealed partial class Sandbox
{
    // The probe describes this machine, which does not change under a running bot: once per process and settings.
    private static readonly ConcurrentDictionary<SandboxSettings, Lazy<Sandbox>> Known = new();
    private static int _runs;

    private Sandbox(SandboxSettings settings, SandboxPlan plan)
    {
        Settings = settings;
        Plan = plan;
    }

    public SandboxSettings Settings { get; }

    public SandboxPlan Plan { get; }

    public SandboxReport Report => Plan.Report;

    /// <summary>The sandbox for <paramref name="settings"/> on this machine, probed on first use.</summary>
    public static Sandbox Of(SandboxSettings settings) =>
        Known.GetOrAdd(settings, s => new Lazy<Sandbox>(() => new Sandbox(s, SandboxPlan.Decide(s, s.Enabled ? SandboxProbe.Run(s) : Unprobed())))).Value;

    /// <summary>As <see cref="Of"/>, for the bot's start: a required measure that cannot be enforced stops the start, naming its key.</summary>
    public static Sandbox Start(SandboxSettings settings)
    {
        var sandbox = Of(settings);
        return sandbox.Plan.Errors.Count == 0 ? sandbox : throw new ConfigurationException(string.Join(Environment.NewLine, sandbox.Plan.Errors));
    }

    /// <summary>
    /// Prepares one run of <paramref name="launch"/> (whose working directory is the job's work dir) limited to
    /// <paramref name="timeLimit"/> of CPU (plus the slack) and, through a cgroup, the job's <paramref name="memoryLimitMb"/>
    /// plus the headroom. Dispose the result once the run's process group is gone.
    /// </summary>
    public SandboxedRun Prepare(FuzzerLaunch launch, int memoryLimitMb, TimeSpan timeLimit)
    {
        if (Plan.RunAs is { } user)
        {
            HandOver(launch.WorkingDirectory, user);
        }

        string? cgroupDir = null;
        string? procs = null;
        if (Plan.Cgroup is { } cgroup && memoryLimitMb > 0)
        {
            var name = $"{Environment.ProcessId}-{Interlocked.Increment(ref _runs)}";
            try
            {
                procs = Cgroups.Create(cgroup, name, Plan.CgroupLimitBytes(memoryLimitMb));
                cgroupDir = Path.GetDirectoryName(procs);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (Settings.Memory.Mode == SandboxMode.Required)
                {
                    throw new IOException($"the run's memory cgroup could not be made under {cgroup.Parent}: {e.Message}", e);
                }
            }
        }

        var cpuSeconds = (long)Math.Ceiling((timeLimit + Settings.Rlimits.CpuTimeSlack).TotalSeconds);
        return new SandboxedRun(this, Plan.Wrap(launch, new SandboxRun(procs, cpuSeconds)), cgroupDir, memoryLimitMb, cpuSeconds);
    }

    /// <summary>
    /// Lets the sandbox user write in the work dir without handing it anything of the bot's: the work dir and the bot's
    /// folders in it become root's with the user's group and mode 1770 (sticky, like /tmp), the target executable the
    /// group's. The target then makes files of its own (findings, corpus, AFL++'s output) but cannot rename or remove the
    /// bot's entries, so none of them can be swapped for a link the bot would follow. Nothing is done recursively.
    /// </summary>
    private static void HandOver(string workDir, SandboxUser user)
    {
        if (!Directory.Exists(workDir))
        {
            return;
        }

        var dir = new JobWorkDir(workDir);
        Share(workDir, user.Gid, Shared);
        foreach (var folder in new[] { dir.Corpus, dir.Artifacts, dir.Output, dir.SanitizerLogs, dir.EngineTemp, Path.Combine(workDir, MinimizedFolder) })
        {
            Share(folder, user.Gid, Shared);
        }

        Share(dir.Target, user.Gid, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
    }

    /// <summary>
    /// The first folder from the root down to <paramref name="path"/> that others cannot search (no o+x), or null: bwrap,
    /// started as the sandbox user, must reach a work dir by its real path to bind it.
    /// </summary>
    public static string? UnreachableFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var full = Path.GetFullPath(path);
        for (var current = Path.GetPathRoot(full); current is not null; )
        {
            if (Directory.Exists(current) && !File.GetUnixFileMode(current).HasFlag(UnixFileMode.OtherExecute))
            {
                return current;
            }

            if (current.TrimEnd(Path.DirectorySeparatorChar) == full.TrimEnd(Path.DirectorySeparatorChar))
            {
                return null;
            }

            var rest = Path.GetRelativePath(current, full).Split(Path.DirectorySeparatorChar)[0];
            current = Path.Combine(current, rest);
        }

        return null;
    }

    /// <summary>The folder a corpus minimization writes into (see JobRunnerActor).</summary>
    public const string MinimizedFolder = "minimized";

    private const UnixFileMode Shared = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.StickyBit;

    /// <summary>
    /// Makes <paramref name="path"/> root's with group <paramref name="gid"/>, then sets its mode. lchown first: once the
    /// entry is root's in a sticky root folder the target cannot swap it, so the check for a link and the chmod (which
    /// follows links) see the same entry. A link (planted, or the target's own) keeps its mode.
    /// </summary>
    private static void Share(string path, int gid, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows() || LChown(path, 0, gid) != 0 || new FileInfo(path).LinkTarget is not null)
        {
            return;
        }

        File.SetUnixFileMode(path, mode);
    }

    /// <summary>A plan that enforces nothing, for a disabled sandbox (no probe needed).</summary>
    private static SandboxHost Unprobed() => new(0, null, "disabled", "disabled", "disabled", "disabled", "disabled", null, "disabled");

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LChown(string path, int uid, int gid);
}

/// <summary>One prepared run: the command line to start, and after the run, what the sandbox did to it.</summary>
public sealed class SandboxedRun(Sandbox sandbox, FuzzerLaunch launch, string? cgroupDir, int memoryLimitMb, long cpuSeconds) : IDisposable
{
    private const int SignalBase = 128;
    private const int SigXcpu = 24;
    private const int SigXfsz = 25;

    /// <summary>A run outside any sandbox (tests of engine command lines, tools that need none).</summary>
    public static SandboxedRun None(FuzzerLaunch launch) => new(Sandbox.Of(SandboxSettings.Off), launch, null, 0, 0);

    public FuzzerLaunch Launch { get; } = launch;

    /// <summary>
    /// Why the run ended, when it was the sandbox that ended it: the memory cgroup's OOM killer, the CPU time or file size
    /// limit; null when the exit was the run's own.
    /// </summary>
    public string? Explain(int exitCode)
    {
        if (cgroupDir is not null && sandbox.Plan.Cgroup is { } cgroup && Cgroups.OomKills(cgroup, cgroupDir) > 0)
        {
            var limit = sandbox.Plan.CgroupLimitBytes(memoryLimitMb) / (1024 * 1024);
            return $"{CrashAnalyzer.SandboxMemoryKill} (limit {limit} MiB: the job's {memoryLimitMb} MiB + {sandbox.Settings.Memory.HeadroomMb} MiB headroom)";
        }

        if (sandbox.Plan.Rlimits is { } r)
        {
            switch (exitCode - SignalBase)
            {
                case SigXcpu:
                    return $"killed by the sandbox's CPU time limit (RLIMIT_CPU {cpuSeconds} s)";
                case SigXfsz:
                    return $"killed by the sandbox's file size limit (RLIMIT_FSIZE {r.FileSizeBytes} bytes)";
            }
        }

        return exitCode == 125 && cgroupDir is not null ? "the sandbox could not move the run into its memory cgroup" : null;
    }

    /// <summary>Removes the run's cgroup (call once its processes are gone).</summary>
    public void Dispose()
    {
        if (cgroupDir is not null)
        {
            Cgroups.Remove(cgroupDir);
        }
    }
}
