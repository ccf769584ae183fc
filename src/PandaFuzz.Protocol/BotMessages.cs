namespace PandaFuzz.Protocol;

/// <summary>Whether a bot is taking work.</summary>
public enum BotStatus
{
    Online,
    Offline,
}

/// <summary>Commands a bot entity handles.</summary>
public static class BotCommands
{
    /// <summary>Sent at start and periodically; <paramref name="NodeUid"/> tells this node incarnation's loss from an earlier one's.</summary>
    public sealed record CheckIn(
        BotId BotId,
        string AgentPath,
        string Address,
        string Hostname,
        BotCapabilities Capabilities,
        IReadOnlyList<JobId> RunningJobs,
        DateTimeOffset At,
        long NodeUid = 0) : IWithBotId;

    public sealed record NodeLost(BotId BotId, long NodeUid, string Reason, DateTimeOffset At) : IWithBotId;

    public sealed record CheckInAccepted(BotId BotId) : IWithBotId;

    /// <summary>Drains a bot (no new job; running ones finish) or undrains it; answered with its <see cref="BotQueries.BotView"/>.</summary>
    public sealed record SetDraining(BotId BotId, bool Draining) : IWithBotId;
}

/// <summary>Events a bot entity persists.</summary>
public static class BotEvents
{
    public sealed record BotRegistered(
        BotId BotId,
        string AgentPath,
        string Address,
        string Hostname,
        BotCapabilities Capabilities,
        DateTimeOffset At) : IWithBotId, IPersistedEvent;

    public sealed record BotWentOffline(BotId BotId, string Reason, DateTimeOffset At) : IWithBotId, IPersistedEvent;

    public sealed record BotDrainingChanged(BotId BotId, bool Draining, DateTimeOffset At) : IWithBotId, IPersistedEvent;
}

/// <summary>Queries a bot entity answers.</summary>
public static class BotQueries
{
    public sealed record GetBot(BotId BotId) : IWithBotId;

    public sealed record BotView(
        BotId Id,
        string Address,
        string Hostname,
        BotStatus Status,
        BotCapabilities Capabilities,
        IReadOnlyList<JobId> CurrentJobs,
        DateTimeOffset RegisteredAt,
        DateTimeOffset? LastSeenAt,
        string? OfflineReason,
        DateTimeOffset? OfflineSince,
        bool Draining = false) : IProtocolMessage;
}
