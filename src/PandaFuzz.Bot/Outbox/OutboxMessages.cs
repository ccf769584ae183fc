using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Outbox;

/// <summary>What a job runner asks of the bot's outbox.</summary>
public static class OutboxCommands
{
    /// <summary>
    /// Keep <paramref name="Message"/> (a crash report, a minimization or a job end) and deliver it until the master
    /// acknowledges it; answered with <see cref="Kept"/> once it is on disk, or <see cref="NotKept"/>.
    /// </summary>
    public sealed record Put(IProtocolMessage Message);

    /// <summary>The message under <paramref name="Key"/> is on disk: the sender may treat it as delivered.</summary>
    public sealed record Kept(string Key);

    /// <summary>The message could not be kept (disk error, a kind the outbox does not deliver); the sender may offer it again.</summary>
    public sealed record NotKept(string Key, string Reason);

    /// <summary>
    /// A master came up, or became reachable again, at <paramref name="Address"/>: whatever waits out a backoff or an open
    /// breaker is sent now. The outbox tells itself this from cluster events; the bot may tell it too.
    /// </summary>
    public sealed record MasterAvailable(string Address);
}

/// <summary>What the outbox tells about itself.</summary>
public static class OutboxQueries
{
    public sealed record GetBacklog
    {
        public static readonly GetBacklog Instance = new();
    }

    /// <summary>Messages not yet acknowledged by the master, the age of the oldest, and the circuit breaker's state.</summary>
    public sealed record Backlog(int Count, TimeSpan OldestAge, OutboxBreakerState Breaker, int InFlight);
}

/// <summary>The outbox's circuit breaker: closed delivers, open holds back, half-open lets one probe through.</summary>
public enum OutboxBreakerState
{
    Closed,
    Open,
    HalfOpen,
}
