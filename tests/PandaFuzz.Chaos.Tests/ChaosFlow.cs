using PandaFuzz.EndToEnd.Tests;

namespace PandaFuzz.Chaos.Tests;

/// <summary>The arrange steps the chaos tests share: bots online, and one long job running with stats.</summary>
public static class ChaosFlow
{
    /// <summary>Waits until exactly <paramref name="count"/> bots are online.</summary>
    public static Task<IReadOnlyList<BotInfo>> WaitForOnlineBotsAsync(ApiClient api, int count, Action guard, CancellationToken ct) =>
        Eventually.SatisfyAsync(
            count == 1 ? "the bot is online" : $"{count} bots are online",
            Timeouts.BotOnline,
            api.GetBotsAsync,
            list => list.Count(b => States.Is(b.State, States.Online)) == count,
            ct,
            guard);

    /// <summary>
    /// Uploads <paramref name="target"/>, starts a campaign of one 600 s job on it and waits until the job runs and has
    /// reported stats; returns the running job. Without bugs in the target the job keeps one fuzzer running.
    /// </summary>
    public static async Task<JobSummary> StartOneLongJobAsync(ApiClient api, BuiltTarget target, string name, Action guard, CancellationToken ct)
    {
        var uploaded = await FuzzingFlow.UploadAsync(api, target, ct);
        var campaign = await FuzzingFlow.CreateCampaignAsync(api, new CampaignRequest(name, uploaded.Id, Jobs: 1, DurationSeconds: 600), ct);
        var jobId = campaign.Jobs!.Single().Id;
        return await Eventually.SatisfyAsync(
            "the job runs and reports stats",
            Timeouts.JobStats,
            c => api.GetJobAsync(jobId, c),
            j => States.Is(j.State, States.Running) && j.Stats is { Execs: > 0 },
            ct,
            guard);
    }
}
