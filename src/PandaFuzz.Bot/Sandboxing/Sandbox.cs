using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Akka.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Sandboxing;

/// <summary>The bot's sandbox: a plan decided once from settings and probe; every run of a target goes through <see cref="Prepare"/>.</summary>
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

    public static Sandbox Of(SandboxSettings settings) =>
        Known.GetOrAdd(settings, s => new Lazy<Sandbox>(() => new Sandbox(s, SandboxPlan.Decide(s, s.Enabled ? SandboxProbe.Run(s) : Unprobed())))).Value;

    /// <summary>A required measure that cannot be enforced stops the bot's start, naming its key.</summary>
    public static Sandbox Start(SandboxSettings settings)
    {
        var sandbox = Of(settings);
        return sandbox.Plan.Errors.Count == 0 ? sandbox : throw new ConfigurationException(string.Join(Environment.NewLine, sandbox.Plan.Errors));
    }

    /// <summary>
    /// Limits one run's CPU time and, through a cgroup, its memory; dispose the result once its process group is gone.
    /// <paramref name="engineRun"/>: the fuzzing run of a job, which gets its job's pinned core (<see cref="JobLaunchExtras"/>).
    /// </summary>
    public SandboxedRun Prepare(FuzzerLaunch launch, int memoryLimitMb, TimeSpan timeLimit, bool engineRun = false)
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
        // The job's bundle libraries and core, whichever part of the bot starts the run.
        var jobDir = launch.WorkingDirectory;
        var wrapped = JobLaunchExtras.Pinned(
            Plan.Wrap(JobLaunchExtras.WithLibraries(launch), new SandboxRun(procs, cpuSeconds, JobLaunchExtras.ReadOnlyFolderOf(jobDir))), jobDir, engineRun);
        return new SandboxedRun(this, wrapped, cgroupDir, memoryLimitMb, cpuSeconds);
    }

    // The bot's folders become root's, group the sandbox user's, mode 1770 (sticky, like /tmp): the target makes files of
    // its own but cannot swap the bot's entries for a link the bot would follow. Nothing is done recursively.
    private static void HandOver(string workDir, SandboxUser user)
    {
        if (!Directory.Exists(workDir))
        {
            return;
        }

        var dir = new JobWorkDir(workDir);
        Share(workDir, user.Gid, Shared);
        foreach (var folder in new[]
                 {
                     dir.Corpus, dir.Artifacts, dir.Output, dir.SanitizerLogs, dir.EngineTemp, Path.Combine(workDir, MinimizedFolder),
                     Path.Combine(workDir, ProfilesFolder), Path.Combine(workDir, CoverageFolder),
                 })
        {
            Share(folder, user.Gid, Shared);
        }

        // The target, and the CMPLOG binary an AFL++ secondary runs beside it (a missing one is left alone: lchown fails).
        foreach (var binary in new[] { dir.Target, dir.CmplogTarget })
        {
            Share(binary, user.Gid, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        }
    }

    /// <summary>The first folder down to the path that others cannot search (no o+x): bwrap, run as the sandbox user, must reach it to bind it.</summary>
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

    /// <summary>The folder a corpus minimization writes into.</summary>
    public const string MinimizedFolder = "minimized";

    /// <summary>The folder a coverage build writes its raw profiles into.</summary>
    public const string ProfilesFolder = "profiles";

    /// <summary>The folder LLVM's coverage tools write the merged profile, the summary and the HTML report into.</summary>
    public const string CoverageFolder = "coverage";

    private const UnixFileMode Shared = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.StickyBit;

    // lchown first: once the entry is root's in a sticky root folder the target cannot swap it, so the check for a link
    // and the chmod (which follows links) see the same entry.
    private static void Share(string path, int gid, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows() || LChown(path, 0, gid) != 0 || new FileInfo(path).LinkTarget is not null)
        {
            return;
        }

        File.SetUnixFileMode(path, mode);
    }

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

    public static SandboxedRun None(FuzzerLaunch launch) => new(Sandbox.Of(SandboxSettings.Off), launch, null, 0, 0);

    public FuzzerLaunch Launch { get; } = launch;

    /// <summary>Why the sandbox ended the run (OOM killer, CPU time or file size limit); null when the exit was the run's own.</summary>
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

    public void Dispose()
    {
        if (cgroupDir is not null)
        {
            Cgroups.Remove(cgroupDir);
        }
    }
}
