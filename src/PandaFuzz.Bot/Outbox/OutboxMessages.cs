using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Outbox;

/// <summary>What a job runner asks of the bot's outbox.</summary>
public static class OutboxCommands
{
    /// <summary>Answered with <see cref="Kept"/> once on disk, or <see cref="NotKept"/>; delivered until the master acknowledges it.</summary>
    public sealed record Put(IProtocolMessage Message);

    /// <summary>On disk: the sender may treat it as delivered.</summary>
    public sealed record Kept(string Key);

    public sealed record NotKept(string Key, string Reason);

    /// <summary>Whatever waits out a backoff or an open breaker is sent now.</summary>
    public sealed record MasterAvailable(string Address);
}

/// <summary>What the outbox tells about itself.</summary>
public static class OutboxQueries
{
    public sealed record GetBacklog
    {
        public static readonly GetBacklog Instance = new();
    }

    public sealed record Backlog(int Count, TimeSpan OldestAge, OutboxBreakerState Breaker, int InFlight);
}

/// <summary>The outbox's circuit breaker: closed delivers, open holds back, half-open lets one probe through.</summary>
public enum OutboxBreakerState
{
    Closed,
    Open,
    HalfOpen,
}
