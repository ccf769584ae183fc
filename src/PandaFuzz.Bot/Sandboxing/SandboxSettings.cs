using Akka.Configuration;
using PandaFuzz.Infrastructure.Configuration;

namespace PandaFuzz.Bot.Sandboxing;

/// <summary>How much a measure matters; the bot refuses to start when a required one cannot be enforced.</summary>
public enum SandboxMode
{
    Off,
    BestEffort,
    Required,
}

/// <summary>The <c>pandafuzz.bot.sandbox</c> section; <see cref="Default"/> equals the shipped bot.conf.</summary>
public sealed record SandboxSettings(
    bool Enabled,
    UserSandbox User,
    RlimitSandbox Rlimits,
    MemorySandbox Memory,
    NetworkSandbox Network,
    FilesystemSandbox Filesystem)
{
    /// <summary>Where the job work dirs are: the sandbox user must be able to reach them.</summary>
    public string? WorkRoot { get; init; }

    /// <summary>Without it a bot whose targets would reach the network or the whole filesystem takes no job.</summary>
    public bool AllowUnisolated { get; init; }

    public const string Section = "pandafuzz.bot.sandbox";

    public static readonly SandboxSettings Default = new(
        true,
        new UserSandbox(SandboxMode.BestEffort, "nobody"),
        new RlimitSandbox(SandboxMode.BestEffort, TimeSpan.FromMinutes(5), 4096, 1024L * 1024 * 1024, 0, 1024),
        new MemorySandbox(SandboxMode.BestEffort, "auto", 256, ""),
        new NetworkSandbox(SandboxMode.BestEffort, "auto"),
        new FilesystemSandbox(SandboxMode.BestEffort, FilesystemSandbox.DefaultReadOnlyPaths));

    /// <summary>For tools and tests that run no untrusted target.</summary>
    public static readonly SandboxSettings Off = Default with { Enabled = false, AllowUnisolated = true };

    public static SandboxSettings From(Config config)
    {
        var r = new HoconReader(config, Section);
        return new SandboxSettings(
            r.Bool("enabled"),
            new UserSandbox(Mode(r, "user.mode"), NonEmpty(r, "user.name")),
            new RlimitSandbox(
                Mode(r, "rlimits.mode"),
                r.PositiveDuration("rlimits.cpu-time-slack"),
                r.Int("rlimits.open-files", 64, 1 << 20),
                r.Bytes("rlimits.file-size", 1024 * 1024),
                r.Bytes("rlimits.core-dumps", 0),
                r.Int("rlimits.processes", 16, 1 << 22)),
            new MemorySandbox(
                Mode(r, "memory.mode"),
                r.Choice("memory.cgroup", "auto", "v2", "v1"),
                r.Bytes("memory.headroom", 0) / (1024 * 1024),
                r.String("memory.cgroup-parent").Trim()),
            new NetworkSandbox(Mode(r, "network.mode"), r.Choice("network.isolation", "auto", "bwrap", "unshare")),
            new FilesystemSandbox(Mode(r, "filesystem.mode"), ReadOnlyPaths(r)))
        {
            AllowUnisolated = r.Bool("allow-unisolated"),
        };
    }

    private static SandboxMode Mode(HoconReader r, string key) => r.Choice(key, "off", "best-effort", "required") switch
    {
        "off" => SandboxMode.Off,
        "required" => SandboxMode.Required,
        _ => SandboxMode.BestEffort,
    };

    private static string NonEmpty(HoconReader r, string key) =>
        r.String(key).Trim() is { Length: > 0 } value ? value : throw new ConfigurationException($"{Section}.{key} must name a user (a name or a uid)");

    private static IReadOnlyList<string> ReadOnlyPaths(HoconReader r)
    {
        var paths = r.Strings("filesystem.read-only-paths");
        return paths.FirstOrDefault(p => !Path.IsPathRooted(p) || p.Contains("..", StringComparison.Ordinal)) is { } bad
            ? throw new ConfigurationException($"{Section}.filesystem.read-only-paths holds '{bad}', which is not an absolute path without '..'")
            : paths;
    }
}

/// <summary>Who the targets run as: <paramref name="Name"/> (a user name or a uid) when the bot is root.</summary>
public sealed record UserSandbox(SandboxMode Mode, string Name);

/// <summary>prlimit's limits; the CPU limit is the run's time limit plus the slack; no address-space limit, which breaks ASan.</summary>
public sealed record RlimitSandbox(SandboxMode Mode, TimeSpan CpuTimeSlack, long OpenFiles, long FileSizeBytes, long CoreDumpBytes, long Processes);

/// <summary>A memory cgroup per run, limited to the job's memory limit plus the headroom.</summary>
public sealed record MemorySandbox(SandboxMode Mode, string Cgroup, long HeadroomMb, string CgroupParent);

/// <summary>No network: a fresh network namespace (only loopback) through bwrap or unshare (<paramref name="Isolation"/>).</summary>
public sealed record NetworkSandbox(SandboxMode Mode, string Isolation);

/// <summary>The filesystem the target sees (through bwrap): its work dir, <paramref name="ReadOnlyPaths"/> read-only, a private /tmp.</summary>
public sealed record FilesystemSandbox(SandboxMode Mode, IReadOnlyList<string> ReadOnlyPaths)
{
    public static readonly IReadOnlyList<string> DefaultReadOnlyPaths =
    [
        "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
        "/etc/alternatives", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/localtime",
    ];

    // By the paths, not the list instance: settings read from the same configuration are equal (and share one probe).
    public bool Equals(FilesystemSandbox? other) => other is not null && Mode == other.Mode && ReadOnlyPaths.SequenceEqual(other.ReadOnlyPaths);

    public override int GetHashCode() => HashCode.Combine(Mode, ReadOnlyPaths.Count);
}
