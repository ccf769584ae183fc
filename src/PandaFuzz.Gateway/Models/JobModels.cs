using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>One job as the API shows it.</summary>
public sealed record JobResponse(
    string Id,
    string CampaignId,
    int Index,
    JobStatus State,
    string? BotId,
    string? FailureReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset? AssignedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    StatsResponse? Stats,
    string Engine,
    JobTask Task)
{
    /// <summary>How the bot runs the job's engine (environment, program, arguments, quoted for sh), once it has run it.</summary>
    public string? CommandLine { get; init; }

    /// <summary>The campaign's engine and sanitizer options the job runs with, by section.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? EngineOptions { get; init; }

    public static JobResponse From(JobQueries.JobView v) =>
        new(v.Id.Value, v.CampaignId.Value, v.Index, v.Status, v.BotId?.Value, v.FailureReason, v.CreatedAt, v.AssignedAt, v.StartedAt, v.FinishedAt,
            StatsResponse.From(v.Stats), v.Engine, v.Task)
        {
            CommandLine = v.CommandLine,
            EngineOptions = EngineOptionsModel.ToSections(v.Options),
        };

    /// <summary>No live stats (they are not journaled), so <c>stats</c> is null.</summary>
    public static JobResponse From(JobRow r) =>
        new(r.Id.Value, r.CampaignId.Value, r.Index, r.Status, r.BotId?.Value, r.FailureReason, r.CreatedAt, r.AssignedAt, r.StartedAt, r.FinishedAt,
            null, r.Engine, r.Task);
}

/// <summary><c>GET /api/v1/queue</c>: a page of pending jobs in the order the scheduler offers them; <c>total</c> counts them all.</summary>
public sealed record QueueResponse(IReadOnlyList<QueueEntryResponse> Pending, int BotsKnown, int FreeSlots, int Total);

/// <summary>A pending job; <c>eta</c> estimates when a slot frees up for it (now, or a running job's planned end), null when more jobs wait than run.</summary>
public sealed record QueueEntryResponse(int Position, string JobId, string? CampaignId, string? Engine, DateTimeOffset? WaitingSince, DateTimeOffset? Eta);
