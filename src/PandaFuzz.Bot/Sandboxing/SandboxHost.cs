namespace PandaFuzz.Bot.Sandboxing;

/// <summary>
/// What the start-up probe found on this machine, as plain facts for <see cref="SandboxPlan.Decide"/>: who the bot runs
/// as, which tools exist and whether each worked when tried. An error string says why something cannot be used.
/// </summary>
public sealed record SandboxHost(
    int BotUid,
    SandboxUser? TargetUser,
    string? TargetUserError,
    string? SetprivError,
    string? PrlimitError,
    string? BwrapError,
    string? UnshareError,
    CgroupHost? Cgroup,
    string? CgroupError)
{
    public bool IsRoot => BotUid == 0;
}

/// <summary>The user targets run as: resolved from a name or a uid.</summary>
public sealed record SandboxUser(string Name, int Uid, int Gid);

/// <summary>
/// Where per-run memory cgroups are made: <paramref name="Parent"/> (already created, writable) in a hierarchy of
/// <paramref name="Version"/> 1 (<c>memory.limit_in_bytes</c>) or 2 (<c>memory.max</c>).
/// </summary>
public sealed record CgroupHost(int Version, string Parent)
{
    public string LimitFile => Version == 2 ? "memory.max" : "memory.limit_in_bytes";
}
