namespace PandaFuzz.Bot.Sandboxing;

/// <summary>What the start-up probe found, as plain facts; an error string says why something cannot be used.</summary>
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

/// <summary>The user targets run as.</summary>
public sealed record SandboxUser(string Name, int Uid, int Gid);

/// <summary>Where per-run memory cgroups are made: a created, writable parent in a v1 or v2 hierarchy.</summary>
public sealed record CgroupHost(int Version, string Parent)
{
    public string LimitFile => Version == 2 ? "memory.max" : "memory.limit_in_bytes";
}
