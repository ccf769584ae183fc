namespace PandaFuzz.Protocol;

/// <summary>What the scheduler singleton is told, and what it tells.</summary>
public static class SchedulerMessages
{
    /// <summary>A job wants a bot. <paramref name="Minimization"/> jobs run one at a time per campaign, so they never hold
    /// more than one of the slots its fuzzing could use.</summary>
    public sealed record JobPending(JobId JobId, string Engine, DateTimeOffset Since, bool Minimization = false) : IProtocolMessage;

    /// <summary>Only the jobs nearest the head stay in memory (<c>pandafuzz.master.pending-jobs-in-memory</c>); the journal
    /// keeps the others until the scheduler wakes them or offers them a bot.</summary>
    public sealed record JobQueued(JobId JobId, bool StayInMemory) : IProtocolMessage;

    public sealed record JobReleased(JobId JobId, BotId? BotId) : IProtocolMessage;

    /// <summary>A bot's current capacity, sent by its entity on every check-in.</summary>
    public sealed record BotAvailable(BotId BotId, string AgentPath, BotCapabilities Capabilities, IReadOnlyList<JobId> RunningJobs, long NodeUid = 0)
        : IProtocolMessage;

    public sealed record BotUnavailable(BotId BotId) : IProtocolMessage;

    public sealed record AssignmentAccepted(JobId JobId, BotId BotId) : IProtocolMessage;

    public sealed record AssignmentRejected(JobId JobId, BotId BotId, string Reason) : IProtocolMessage;

    /// <summary>Campaign id → weight ≥ 1, sent again on configuration reload; empty means first come, first served.</summary>
    public sealed record SetCampaignWeights(IReadOnlyDictionary<string, int> Weights) : IProtocolMessage;

    /// <summary>
    /// A campaign's priority as its entity holds it (set through the API), told at its creation, when it changes and when
    /// the campaign is woken (a restarted scheduler learns them again); 1 is the default. A weight in the configuration
    /// (<see cref="SetCampaignWeights"/>) for the same campaign wins.
    /// </summary>
    public sealed record CampaignPriority(CampaignId CampaignId, int Priority) : IProtocolMessage;

    public sealed record GetQueue(int Offset = 0, int Limit = int.MaxValue) : IProtocolMessage
    {
        public static readonly GetQueue Instance = new();

        public static readonly GetQueue CountsOnly = new(0, 0);
    }

    public sealed record QueueView(IReadOnlyList<JobId> Pending, int BotsKnown, int FreeSlots, DateTimeOffset? OldestPendingSince = null, int Total = 0) : IProtocolMessage;
}
