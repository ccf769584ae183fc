namespace PandaFuzz.Protocol;

/// <summary>What the scheduler singleton is told, and what it tells.</summary>
public static class SchedulerMessages
{
    /// <summary>
    /// A job entity is pending and wants a bot. <paramref name="Minimization"/>: it minimizes a crash or a corpus, and a
    /// campaign runs one of those at a time, so they never hold more than one of the slots its fuzzing could use.
    /// </summary>
    public sealed record JobPending(JobId JobId, string Engine, DateTimeOffset Since, bool Minimization = false) : IProtocolMessage;

    /// <summary>
    /// The scheduler's answer to <see cref="JobPending"/>: the job is queued. Only the jobs nearest the head of a long queue
    /// stay in memory (<c>pandafuzz.master.pending-jobs-in-memory</c>); the others leave it and the journal keeps them until the
    /// scheduler wakes them (<see cref="JobCommands.WakeJob"/>) or offers them a bot.
    /// </summary>
    public sealed record JobQueued(JobId JobId, bool StayInMemory) : IProtocolMessage;

    /// <summary>A job no longer wants a bot, or no longer holds the slot it had.</summary>
    public sealed record JobReleased(JobId JobId, BotId? BotId) : IProtocolMessage;

    /// <summary>A bot's current capacity, sent by its entity on every check-in.</summary>
    public sealed record BotAvailable(BotId BotId, string AgentPath, BotCapabilities Capabilities, IReadOnlyList<JobId> RunningJobs, long NodeUid = 0)
        : IProtocolMessage;

    public sealed record BotUnavailable(BotId BotId) : IProtocolMessage;

    public sealed record AssignmentAccepted(JobId JobId, BotId BotId) : IProtocolMessage;

    public sealed record AssignmentRejected(JobId JobId, BotId BotId, string Reason) : IProtocolMessage;

    /// <summary>
    /// The campaigns' scheduling weights (campaign id → weight ≥ 1), from <c>pandafuzz.master.scheduler.campaign-weights</c>;
    /// sent again when the configuration is reloaded. Empty: first come, first served.
    /// </summary>
    public sealed record SetCampaignWeights(IReadOnlyDictionary<string, int> Weights) : IProtocolMessage;

    /// <summary>
    /// The queue: <paramref name="Limit"/> pending jobs in order after skipping <paramref name="Offset"/> (the whole queue by
    /// default). A queue of thousands of jobs is asked for a page, and for counts only (<see cref="CountsOnly"/>).
    /// </summary>
    public sealed record GetQueue(int Offset = 0, int Limit = int.MaxValue) : IProtocolMessage
    {
        public static readonly GetQueue Instance = new();

        public static readonly GetQueue CountsOnly = new(0, 0);
    }

    /// <summary>
    /// The queue as the scheduler sees it: the asked page of pending jobs in order, <c>Total</c> pending in all;
    /// <c>OldestPendingSince</c> is when the longest-waiting job became pending.
    /// </summary>
    public sealed record QueueView(IReadOnlyList<JobId> Pending, int BotsKnown, int FreeSlots, DateTimeOffset? OldestPendingSince = null, int Total = 0) : IProtocolMessage;
}
