using System.Globalization;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Sandboxing;

/// <summary>What one sandboxed run needs beyond the plan: its cgroup's <c>cgroup.procs</c> (if any) and its CPU time limit.</summary>
/// <param name="ReadOnlyFolder">A folder the run sees read-only besides its work dir (its build bundle).</param>
public sealed record SandboxRun(string? CgroupProcs, long CpuSeconds, string? ReadOnlyFolder = null);

/// <summary>Which sandbox measures apply on this machine, and the command line that applies them; pure code.</summary>
/// <param name="Errors">Required measures that cannot be enforced here; the bot does not start with any.</param>
public sealed record SandboxPlan(
    SandboxReport Report,
    SandboxUser? RunAs,
    RlimitSandbox? Rlimits,
    CgroupHost? Cgroup,
    long CgroupHeadroomMb,
    string? NetworkVia,
    bool Filesystem,
    IReadOnlyList<string> ReadOnlyPaths,
    bool IsRoot,
    IReadOnlyList<string> Errors)
{
    public const string Bwrap = "bwrap";
    public const string Unshare = "unshare";

    private bool UsesBwrap => Filesystem || NetworkVia == Bwrap;

    /// <summary>Each measure is off, enforced when the probe found the means, or reported as not enforced (an error when required).</summary>
    public static SandboxPlan Decide(SandboxSettings settings, SandboxHost host)
    {
        var measures = new List<SandboxMeasure>();
        var errors = new List<string>();
        measures.Add(new SandboxMeasure("session", "required", true, "setsid: a new session and process group per run, killed as a whole with its job"));
        if (!settings.Enabled)
        {
            foreach (var name in new[] { "user", "rlimits", "memory", "network", "filesystem" })
            {
                measures.Add(new SandboxMeasure(name, "off", false, "the sandbox is disabled (pandafuzz.bot.sandbox.enabled = off)"));
            }

            return new SandboxPlan(Isolation(settings, measures, false), null, null, null, 0, null, false, [], host.IsRoot, errors);
        }

        SandboxUser? runAs = null;
        Measure("user", settings.User.Mode, () =>
        {
            if (!host.IsRoot)
            {
                return (false, $"the bot itself runs as uid {host.BotUid} (not root), so targets run as the bot's own user: no user isolation");
            }

            if (host.TargetUser is null)
            {
                return (false, $"user '{settings.User.Name}' not usable: {host.TargetUserError}");
            }

            if (host.SetprivError is not null)
            {
                return (false, $"setpriv not usable: {host.SetprivError}");
            }

            runAs = host.TargetUser;
            return (true, $"setpriv: uid {runAs.Uid} ({runAs.Name}), gid {runAs.Gid}, no supplementary groups");
        });

        RlimitSandbox? rlimits = null;
        Measure("rlimits", settings.Rlimits.Mode, () =>
        {
            if (host.PrlimitError is not null)
            {
                return (false, $"prlimit not usable: {host.PrlimitError}");
            }

            rlimits = settings.Rlimits;
            var r = settings.Rlimits;
            // The kernel does not apply RLIMIT_NPROC to root: say so rather than claim a process limit.
            var processes = host.IsRoot && runAs is null ? "processes not limited (targets run as root, which RLIMIT_NPROC exempts)" : $"processes {r.Processes} per user";
            return (true, $"prlimit: cpu time = the run's time limit + {r.CpuTimeSlack.TotalSeconds:0} s, open files {r.OpenFiles}, " +
                $"file size {r.FileSizeBytes} bytes, core dumps {r.CoreDumpBytes} bytes, {processes}; no address-space limit (it breaks ASan)");
        });

        CgroupHost? cgroup = null;
        Measure("memory", settings.Memory.Mode, () =>
        {
            if (host.Cgroup is null)
            {
                return (false, $"no memory cgroup: {host.CgroupError}; memory is bounded only by the engine's own limit (-rss_limit_mb, afl -m)");
            }

            cgroup = host.Cgroup;
            return (true, $"cgroup v{cgroup.Version} {cgroup.LimitFile} = the job's memory limit + {settings.Memory.HeadroomMb} MiB per run, under {cgroup.Parent}; " +
                "the engine's own limit reports ordinary OOMs first");
        });

        string? networkVia = null;
        Measure("network", settings.Network.Mode, () =>
        {
            var wanted = settings.Network.Isolation;
            if (wanted != Unshare && host.BwrapError is null)
            {
                networkVia = Bwrap;
                return (true, "bwrap --unshare-net: a fresh network namespace with only loopback");
            }

            if (wanted != Bwrap && host.UnshareError is null)
            {
                networkVia = Unshare;
                return (true, "unshare --net: a fresh network namespace with only loopback");
            }

            var why = wanted switch
            {
                Bwrap => $"bwrap not usable: {host.BwrapError}",
                Unshare => $"unshare not usable: {host.UnshareError}",
                _ => $"bwrap not usable: {host.BwrapError}; unshare not usable: {host.UnshareError}",
            };
            return (false, why);
        });

        var filesystem = false;
        Measure("filesystem", settings.Filesystem.Mode, () =>
        {
            if (host.BwrapError is not null)
            {
                return (false, $"bwrap not usable: {host.BwrapError}; targets see the whole filesystem as their user");
            }

            filesystem = true;
            return (true, $"bwrap: the job's work dir read-write, {string.Join(", ", settings.Filesystem.ReadOnlyPaths)} read-only (where present), a private /tmp, /dev and /proc");
        });

        return new SandboxPlan(Isolation(settings, measures, networkVia is not null && filesystem), runAs, rlimits, cgroup, settings.Memory.HeadroomMb,
            networkVia, filesystem, settings.Filesystem.ReadOnlyPaths, host.IsRoot, errors);

        void Measure(string name, SandboxMode mode, Func<(bool Enforced, string Detail)> decide)
        {
            if (mode == SandboxMode.Off)
            {
                measures.Add(new SandboxMeasure(name, "off", false, $"off (pandafuzz.bot.sandbox.{name}.mode = off)"));
                return;
            }

            var (enforced, detail) = decide();
            var modeName = mode == SandboxMode.Required ? "required" : "best-effort";
            measures.Add(new SandboxMeasure(name, modeName, enforced, detail));
            if (!enforced && mode == SandboxMode.Required)
            {
                errors.Add($"pandafuzz.bot.sandbox.{name}.mode = required, but it cannot be enforced on this machine: {detail}");
            }
        }
    }

    // A bot whose targets would keep the network or the whole filesystem takes no job unless the operator opted out.
    private static SandboxReport Isolation(SandboxSettings settings, List<SandboxMeasure> measures, bool isolated)
    {
        string? refusal = null;
        if (!isolated && !settings.AllowUnisolated)
        {
            var missing = measures.Where(m => m.Name is "network" or "filesystem" && !m.Enforced).Select(m => $"{m.Name}: {m.Detail}");
            refusal = $"targets would run without isolation ({string.Join("; ", missing)}); install bubblewrap and let the bot make user " +
                $"namespaces, or set {SandboxSettings.Section}.allow-unisolated = on to run them anyway";
        }

        return new SandboxReport(settings.Enabled, measures, isolated, settings.AllowUnisolated, refusal);
    }

    public long CgroupLimitBytes(int jobMemoryLimitMb) => (jobMemoryLimitMb + CgroupHeadroomMb) * 1024 * 1024;

    /// <summary>
    /// Wraps the launch, outermost first: join the cgroup (as the bot, which may write there), rlimits, unshare (as root),
    /// drop to the sandbox user, then bwrap (unprivileged, in its own namespaces).
    /// </summary>
    public FuzzerLaunch Wrap(FuzzerLaunch launch, SandboxRun run)
    {
        var command = new List<string>();
        if (run.CgroupProcs is { } procs)
        {
            // The shell moves itself into the cgroup, then execs the rest: everything it starts is inside from the start.
            command.AddRange(["sh", "-c", "echo $$ > \"$1\" || exit 125; shift; exec \"$@\"", "pandafuzz-cgroup", procs]);
        }

        if (Rlimits is { } r)
        {
            // The CPU limit's hard value is a little above its soft one: at the soft limit the kernel sends SIGXCPU, which
            // says why the run ended; with both equal it would send SIGKILL, which says nothing.
            command.AddRange(["prlimit", Limit("cpu", run.CpuSeconds, run.CpuSeconds + CpuHardMarginSeconds), Limit("nofile", r.OpenFiles), Limit("fsize", r.FileSizeBytes),
                Limit("core", r.CoreDumpBytes), Limit("nproc", r.Processes), "--"]);
        }

        if (NetworkVia == Unshare)
        {
            command.AddRange(IsRoot ? ["unshare", "--net", "--"] : ["unshare", "--user", "--map-current-user", "--net", "--"]);
        }

        if (RunAs is { } user)
        {
            command.AddRange(["setpriv", $"--reuid={user.Uid}", $"--regid={user.Gid}", "--clear-groups", "--"]);
        }

        if (UsesBwrap)
        {
            // bwrap's outer process would die of the group's SIGTERM and leave the engine finishing unwatched: bwrap ignores
            // it and waits, while the engines install their own handlers and end cleanly.
            command.AddRange(["sh", "-c", "trap '' TERM; exec \"$@\"", "pandafuzz-sandbox"]);
            command.AddRange(BwrapArguments(launch.WorkingDirectory, run.ReadOnlyFolder));
        }

        if (command.Count == 0)
        {
            return launch;
        }

        command.Add(launch.Program);
        command.AddRange(launch.Arguments);
        return launch with { Program = command[0], Arguments = command[1..] };
    }

    public IReadOnlyList<string> BwrapArguments(string workDir, string? readOnlyFolder = null)
    {
        // No --die-with-parent: it fires when the bot's *thread* that started the run ends (pool threads retire), which
        // killed healthy runs; the process group and the dead man's switch already end a run with its bot.
        var args = new List<string> { "bwrap", "--unshare-pid", "--unshare-ipc" };
        if (NetworkVia == Bwrap)
        {
            args.Add("--unshare-net");
        }

        if (Filesystem)
        {
            foreach (var path in ReadOnlyPaths)
            {
                args.AddRange(["--ro-bind-try", path, path]);
            }

            args.AddRange(["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--bind", workDir, workDir]);
            if (readOnlyFolder is not null)
            {
                args.AddRange(["--ro-bind", readOnlyFolder, readOnlyFolder]);
            }
        }
        else
        {
            args.AddRange(["--bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc"]);
        }

        // bwrap's init outlives the engine while anything the target forked still runs, keeping the run's pipes and slot:
        // a shell runs the engine, then kills everything else in the namespace (kill -1 spares the shell and init).
        args.AddRange(["--chdir", workDir, "--", "sh", "-c", RunThenEmptyNamespace, "pandafuzz-run"]);
        return args;
    }

    private const long CpuHardMarginSeconds = 10;

    public const string RunThenEmptyNamespace = "\"$@\"; status=$?; kill -KILL -1 2>/dev/null; exit $status";

    private static string Limit(string name, long value) => Limit(name, value, value);

    private static string Limit(string name, long soft, long hard) =>
        $"--{name}={soft.ToString(CultureInfo.InvariantCulture)}:{hard.ToString(CultureInfo.InvariantCulture)}";
}
