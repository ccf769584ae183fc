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
    /// <summary>
    /// Sent by the bot agent at start and then periodically: registers the bot on first sight and
    /// tells the master what runs there now. <paramref name="NodeUid"/> is the cluster incarnation of the bot's
    /// node, so the loss of an earlier incarnation is not taken for the loss of this one.
    /// </summary>
    public sealed record CheckIn(
        BotId BotId,
        string AgentPath,
        string Address,
        string Hostname,
        BotCapabilities Capabilities,
        IReadOnlyList<JobId> RunningJobs,
        DateTimeOffset At,
        long NodeUid = 0) : IWithBotId;

    /// <summary>The bot's node left the cluster or was downed: the bot is offline and its jobs must move.</summary>
    public sealed record NodeLost(BotId BotId, long NodeUid, string Reason, DateTimeOffset At) : IWithBotId;

    public sealed record CheckInAccepted(BotId BotId) : IWithBotId;

    /// <summary>
    /// An operator drains a bot (it takes no new job; the jobs it runs finish) or puts it back to work; answered with
    /// its <see cref="BotQueries.BotView"/>.
    /// </summary>
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
