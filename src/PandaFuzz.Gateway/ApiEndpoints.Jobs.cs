using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using PandaFuzz.Gateway.Access;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>The HTTP API's jobs, bots and the queue.</summary>
public static partial class ApiEndpoints
{
    private static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetJob(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!JobId.TryParse(id, out var jobId))
        {
            return Problems.NotFound("job", id);
        }

        var reply = await Ask(gateway, new JobQueries.GetJob(jobId), ct);
        return reply is JobQueries.JobView view ? TypedResults.Ok(JobResponse.From(view)) : Problems.From(reply);
    }

    private static async Task<Results<Ok<StatsSeriesResponse>, ProblemHttpResult>> GetJobStats(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!JobId.TryParse(id, out var jobId))
        {
            return Problems.NotFound("job", id);
        }

        var reply = await Ask(gateway, new JobQueries.GetJobStatsSeries(jobId), ct);
        return reply is JobQueries.JobStatsSeries series
            ? TypedResults.Ok(new StatsSeriesResponse(id, [.. series.Points.Select(p => StatsResponse.From(p)!)]))
            : Problems.From(reply);
    }

    /// <summary>Bots from the read model, by id, filtered and paged.</summary>
    /// <summary>
    /// The read model picks, filters and pages the bots; each listed bot's entity then answers with what only it knows
    /// live — its last check-in and the jobs it reported — since check-ins are not journaled. A bot whose entity does
    /// not answer in time is shown as the read model has it.
    /// </summary>
    private static async Task<Results<Ok<List<BotResponse>>, ProblemHttpResult>> ListBots(
        HttpContext context, ReadModelQueries queries, IRequiredActor<GatewayActor> gateway,
        string? status, string? engine, string? limit, string? offset, CancellationToken ct)
    {
        var problem = ListParameters.First(
            ListParameters.TryStatus<BotStatus>(status, out var byStatus),
            ListParameters.TryEngine(engine, out var byEngine),
            ListParameters.TryPage(limit, offset, out var page));
        if (problem is not null)
        {
            return problem;
        }

        var listed = ReadList(context, page, () => queries.Bots(new BotFilter(byStatus, byEngine), page), row => row);
        if (listed.Result is not Ok<List<BotRow>> { Value: { } rows })
        {
            return (ProblemHttpResult)listed.Result;
        }

        var bots = await Task.WhenAll(rows.Select(async row =>
            await Ask(gateway, new BotQueries.GetBot(row.Id), ct) is BotQueries.BotView view ? BotResponse.From(view) : BotResponse.From(row)));
        return TypedResults.Ok(bots.ToList());
    }

    private static async Task<Results<Ok<BotResponse>, ProblemHttpResult>> GetBot(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!BotId.TryParse(id, out var botId))
        {
            return Problems.NotFound("bot", id);
        }

        var reply = await Ask(gateway, new BotQueries.GetBot(botId), ct);
        return reply is BotQueries.BotView view ? TypedResults.Ok(BotResponse.From(view)) : Problems.From(reply, "bot", id);
    }

    /// <summary>Drains a bot (no new job; its running jobs finish) or puts it back to work.</summary>
    private static async Task<Results<Ok<BotResponse>, ProblemHttpResult>> SetDraining(string id, bool draining, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!BotId.TryParse(id, out var botId))
        {
            return Problems.NotFound("bot", id);
        }

        var reply = await Ask(gateway, new BotCommands.SetDraining(botId, draining), ct);
        return reply is BotQueries.BotView view ? TypedResults.Ok(BotResponse.From(view)) : Problems.From(reply, "bot", id);
    }

    /// <summary>Cancels one job: a pending job never runs, a running one is stopped on its bot; a finished job is a conflict.</summary>
    private static async Task<Results<Accepted<JobResponse>, ProblemHttpResult>> CancelJob(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!JobId.TryParse(id, out var jobId))
        {
            return Problems.NotFound("job", id);
        }

        var reply = await Ask(gateway, new JobCommands.CancelJob(jobId, "cancelled by an operator"), ct);
        if (reply is not JobCommands.JobCommandAccepted)
        {
            return Problems.From(reply, "job", id);
        }

        return await Ask(gateway, new JobQueries.GetJob(jobId), ct) is JobQueries.JobView view
            ? TypedResults.Accepted($"/api/v1/jobs/{id}", JobResponse.From(view))
            : Problems.From(new Unavailable("the job did not answer after its cancellation"));
    }

    /// <summary>
    /// A page of the scheduler's queue in order (<c>limit</c>, default 100, and <c>offset</c>, as every list), each pending
    /// job with its position and an estimate of when a slot frees up for it: now while bots have free slots, else the
    /// planned ends of the running jobs, earliest first. The jobs' details come from the read model in one query; only a
    /// job it does not hold yet (created within the last second or so) is asked of its entity.
    /// </summary>
    private static async Task<Results<Ok<QueueResponse>, ProblemHttpResult>> GetQueue(
        HttpContext context, IRequiredActor<GatewayActor> gateway, ReadModelQueries queries, string? limit, string? offset, CancellationToken ct)
    {
        if (ListParameters.TryPage(limit, offset, out var page) is { } problem)
        {
            return problem;
        }

        if (await Ask(gateway, new SchedulerMessages.GetQueue(page.Offset, page.Limit), ct) is not SchedulerMessages.QueueView queue)
        {
            return Problems.From(new Unavailable("the scheduler did not answer in time"));
        }

        var now = DateTimeOffset.UtcNow;
        IReadOnlyDictionary<JobId, JobRow> rows;
        IReadOnlyList<DateTimeOffset> running;
        try
        {
            rows = queries.JobsById(queue.Pending);
            running = queries.RunningJobEnds(now);
        }
        catch (System.Data.Common.DbException e)
        {
            return Problems.From(new Unavailable($"the read model cannot be read: {e.Message}"));
        }

        var missing = queue.Pending.Where(j => !rows.ContainsKey(j)).ToList();
        var asked = (await Task.WhenAll(missing.Select(j => Ask(gateway, new JobQueries.GetJob(j), ct)))).OfType<JobQueries.JobView>().ToDictionary(v => v.Id);
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

    /// <summary>Jobs from the read model, oldest first, filtered and paged; live stats are on <c>GET /api/v1/jobs/{id}</c>.</summary>
    private static Results<Ok<List<JobResponse>>, ProblemHttpResult> ListJobs(
        HttpContext context, ReadModelQueries queries, string? campaign, string? status, string? engine, string? bot, string? since, string? limit, string? offset)
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

        return ReadList(context, page, () => queries.Jobs(new JobFilter(byCampaign, byStatus, byEngine, byBot, bySince), page), JobResponse.From);
    }
}
