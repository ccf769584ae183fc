using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.BotEvents;

namespace PandaFuzz.Domain.Bots;

/// <summary>A bot's persisted state: who it is, what it can do, whether it is online.</summary>
public sealed record BotState(
    BotId Id,
    string AgentPath,
    string Address,
    string Hostname,
    BotCapabilities Capabilities,
    BotStatus Status,
    DateTimeOffset RegisteredAt,
    string? OfflineReason,
    DateTimeOffset? OfflineSince,
    bool Draining = false)
{
    public static BotState Registered(BotRegistered e) =>
        new(e.BotId, e.AgentPath, e.Address, e.Hostname, e.Capabilities, BotStatus.Online, e.At, null, null);

    public BotState Apply(IPersistedEvent e) => e switch
    {
        BotRegistered r => this with
        {
            AgentPath = r.AgentPath, Address = r.Address, Hostname = r.Hostname, Capabilities = r.Capabilities,
            Status = BotStatus.Online, OfflineReason = null, OfflineSince = null,
        },
        BotWentOffline o => this with { Status = BotStatus.Offline, OfflineReason = o.Reason, OfflineSince = o.At },
        BotDrainingChanged d => this with { Draining = d.Draining },
        _ => throw new ArgumentException($"Not a bot event: {e.GetType().Name}", nameof(e)),
    };

    /// <summary>A check-in is persisted only when it changes what is known: a new or returning bot, a new address or capabilities.</summary>
    public static Decision CheckIn(BotState? state, BotCommands.CheckIn c)
    {
        var registered = new BotRegistered(c.BotId, c.AgentPath, c.Address, c.Hostname, c.Capabilities, c.At);
        if (state is null || state.Status == BotStatus.Offline || state.AgentPath != c.AgentPath || state.Address != c.Address
            || state.Hostname != c.Hostname || !SameCapabilities(state.Capabilities, c.Capabilities))
        {
            return [registered];
        }

        return [];
    }

    /// <summary>A drained bot stays drained across restarts and re-registrations.</summary>
    public Decision SetDraining(bool draining, DateTimeOffset now) =>
        Draining == draining ? [] : [new BotDrainingChanged(Id, draining, now)];

    /// <summary>A draining bot offers no slot: its running jobs keep theirs (the queue holds running jobs whatever the
    /// capacity), and a slot a finishing job frees is not refilled. A bot that cannot isolate its targets (and has no
    /// opt-out) offers none either.</summary>
    public BotCapabilities Offered(BotCapabilities reported, int running) =>
        Draining || reported.Sandbox?.RefusesJobs is not null ? reported with { Slots = 0 } : reported;

    public Decision GoOffline(string reason, DateTimeOffset now) =>
        Status == BotStatus.Online ? [new BotWentOffline(Id, reason, now)] : [];

    private static bool SameCapabilities(BotCapabilities a, BotCapabilities b) =>
        a.Slots == b.Slots && a.MemoryMb == b.MemoryMb && a.Engines.SequenceEqual(b.Engines)
        && (a.Sandbox is null ? b.Sandbox is null : a.Sandbox.SameAs(b.Sandbox));
}
