using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;
using static PandaFuzz.Gateway.ApiPlumbing;

namespace PandaFuzz.Gateway;

/// <summary>The HTTP API's jobs and the queue of pending ones.</summary>
public static class JobsApi
{
    public static RouteGroupBuilder MapJobsApi(this RouteGroupBuilder v1)
    {
        var jobs = v1.MapGroup("").WithTags("jobs");
        Describe(jobs.MapGet("/jobs", ListJobs), "listJobs", "List jobs (read model, paged)", 400).Paged();
        Describe(jobs.MapGet("/jobs/{id}", GetJob), "getJob", "A job with its live stats", 404);
        Describe(jobs.MapGet("/jobs/{id}/stats", GetJobStats), "getJobStats", "A job's stats over time, kept after it ends", 400, 404);
        Describe(jobs.MapPost("/jobs/{id}/cancel", CancelJob), "cancelJob", "Cancel a job", 404, 409);
        Describe(jobs.MapGet("/queue", GetQueue), "getQueue", "Pending jobs in order, with positions and ETAs (paged)", 400).Paged();
        return v1;
    }

    private static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetJob(string id, [AsParameters] ApiServices api)
    {
        if (!JobId.TryParse(id, out var jobId))
        {
            return Problems.NotFound("job", id);
        }

        var reply = await Ask(api, new JobQueries.GetJob(jobId));
        return reply is JobQueries.JobView view ? TypedResults.Ok(JobResponse.From(view)) : Problems.From(reply);
    }

    /// <summary>From the stats store (kept after the job ended and across restarts); without a read model, the job's recent samples in memory.</summary>
    private static async Task<Results<Ok<StatsSeriesResponse>, ProblemHttpResult>> GetJobStats(string id, string? from, string? to, int? step, [AsParameters] ApiServices api)
    {
        if (!JobId.TryParse(id, out var jobId) || await Ask(api, new JobQueries.GetJob(jobId)) is not JobQueries.JobView job)
        {
            return Problems.NotFound("job", id);
        }

        if (ListParameters.TryStatsRange(from, to, step, job.CreatedAt, job.FinishedAt ?? DateTimeOffset.UtcNow, api.Settings, out var range) is { } problem)
        {
            return problem;
        }

        try
        {
            var steps = api.Queries.Stats.Job(jobId, range.From, range.To, range.Step);
            return TypedResults.Ok(new StatsSeriesResponse(id, [.. steps.Select(s => StatsResponse.From(s.Jobs[0].Stats)!)]));
        }
        catch (System.Data.Common.DbException)
        {
        }

        var reply = await Ask(api, new JobQueries.GetJobStatsSeries(jobId));
        return reply is JobQueries.JobStatsSeries series
            ? TypedResults.Ok(new StatsSeriesResponse(id, [.. series.Points.Select(p => StatsResponse.From(p)!)]))
            : Problems.From(reply);
    }

    /// <summary>Cancels one job: a pending job never runs, a running one is stopped on its bot; a finished job is a conflict.</summary>
    private static async Task<Results<Accepted<JobResponse>, ProblemHttpResult>> CancelJob(string id, [AsParameters] ApiServices api)
    {
        if (!JobId.TryParse(id, out var jobId))
        {
            return Problems.NotFound("job", id);
        }

        var reply = await Ask(api, new JobCommands.CancelJob(jobId, "cancelled by an operator"));
        if (reply is not JobCommands.JobCommandAccepted)
        {
            return Problems.From(reply, "job", id);
        }

        return await Ask(api, new JobQueries.GetJob(jobId)) is JobQueries.JobView view
            ? TypedResults.Accepted($"/api/v1/jobs/{id}", JobResponse.From(view))
            : Problems.From(new Unavailable("the job did not answer after its cancellation"));
    }

    /// <summary>
    /// The queue in order, each job with an estimate of when a slot frees up for it. Details come from the read model in
    /// one query; only a job it does not hold yet (created within the last second or so) is asked of its entity.
    /// </summary>
    private static async Task<Results<Ok<QueueResponse>, ProblemHttpResult>> GetQueue(
        HttpContext context, [AsParameters] ApiServices api, string? limit, string? offset)
    {
        if (ListParameters.TryPage(limit, offset, out var page) is { } problem)
        {
            return problem;
        }

        if (await Ask(api, new SchedulerMessages.GetQueue(page.Offset, page.Limit)) is not SchedulerMessages.QueueView queue)
        {
            return Problems.From(new Unavailable("the scheduler did not answer in time"));
        }

        var now = DateTimeOffset.UtcNow;
        IReadOnlyDictionary<JobId, JobRow> rows;
        IReadOnlyList<DateTimeOffset> running;
        try
        {
            rows = api.Queries.JobsById(queue.Pending);
            running = api.Queries.RunningJobEnds(now);
        }
        catch (System.Data.Common.DbException e)
        {
            return Problems.From(new Unavailable($"the read model cannot be read: {e.Message}"));
        }

        var missing = queue.Pending.Where(j => !rows.ContainsKey(j)).ToList();
        var asked = (await Task.WhenAll(missing.Select(j => Ask(api, new JobQueries.GetJob(j))))).OfType<JobQueries.JobView>().ToDictionary(v => v.Id);
        var entries = new List<QueueEntryResponse>();
        for (var i = 0; i < queue.Pending.Count; i++)
        {
            var job = queue.Pending[i];
            var position = page.Offset + i;
            var slotsAhead = position - queue.FreeSlots;
            DateTimeOffset? eta = slotsAhead < 0 ? now : slotsAhead < running.Count ? running[slotsAhead] : null;
            entries.Add(rows.TryGetValue(job, out var row)
                ? new QueueEntryResponse(position + 1, job.Value, row.CampaignId.Value, row.Engine, row.CreatedAt, eta)
                : asked.TryGetValue(job, out var view)
                    ? new QueueEntryResponse(position + 1, job.Value, view.CampaignId.Value, view.Engine, view.CreatedAt, eta)
                    : new QueueEntryResponse(position + 1, job.Value, null, null, null, eta));
        }

        PageHeaders(context, page, entries.Count, queue.Total);
        return TypedResults.Ok(new QueueResponse(entries, queue.BotsKnown, queue.FreeSlots, queue.Total));
    }

    /// <summary>From the read model; live stats are on <c>GET /api/v1/jobs/{id}</c>.</summary>
    private static Results<Ok<List<JobResponse>>, ProblemHttpResult> ListJobs(
        HttpContext context, [AsParameters] ApiServices api, string? campaign, string? status, string? engine, string? bot, string? since, string? limit, string? offset)
    {
        var problem = ListParameters.First(
            ListParameters.TryId<CampaignId>("campaign", campaign, CampaignId.TryParse, out var byCampaign),
            ListParameters.TryStatus<JobStatus>(status, out var byStatus),
            ListParameters.TryEngine(engine, out var byEngine),
            ListParameters.TryId<BotId>("bot", bot, BotId.TryParse, out var byBot),
            ListParameters.TrySince(since, out var bySince),
            ListParameters.TryPage(limit, offset, out var page));
        if (problem is not null)
        {
            return problem;
        }

        return ReadList(context, page, () => api.Queries.Jobs(new JobFilter(byCampaign, byStatus, byEngine, byBot, bySince), page), JobResponse.From);
    }
}
