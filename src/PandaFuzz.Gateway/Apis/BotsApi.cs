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

/// <summary>The HTTP API's bots: list, one bot, drain and resume.</summary>
public static class BotsApi
{
    public static RouteGroupBuilder MapBotsApi(this RouteGroupBuilder v1)
    {
        var bots = v1.MapGroup("").WithTags("bots");
        Describe(bots.MapGet("/bots", ListBots), "listBots", "List bots (read model, live fields from each bot)", 400).Paged();
        Describe(bots.MapGet("/bots/{id}", GetBot), "getBot", "One bot", 404);
        Describe(bots.MapPost("/bots/{id}/drain", (string id, [AsParameters] ApiServices api) => SetDraining(id, true, api)),
            "drainBot", "Drain a bot: no new job, its running jobs finish", 404);
        Describe(bots.MapPost("/bots/{id}/resume", (string id, [AsParameters] ApiServices api) => SetDraining(id, false, api)),
            "resumeBot", "Put a drained bot back to work", 404);
        return v1;
    }

    /// <summary>
    /// The read model picks, filters and pages the bots; each bot's entity then adds what only it knows live (its last
    /// check-in and jobs, as check-ins are not journaled). A bot whose entity does not answer in time is shown as the read model has it.
    /// </summary>
    private static async Task<Results<Ok<List<BotResponse>>, ProblemHttpResult>> ListBots(
        HttpContext context, [AsParameters] ApiServices api,
        string? status, string? engine, string? limit, string? offset)
    {
        var problem = ListParameters.First(
            ListParameters.TryStatus<BotStatus>(status, out var byStatus),
            ListParameters.TryEngine(engine, out var byEngine),
            ListParameters.TryPage(limit, offset, out var page));
        if (problem is not null)
        {
            return problem;
        }

        var listed = ReadList(context, page, () => api.Queries.Bots(new BotFilter(byStatus, byEngine), page), row => row);
        if (listed.Result is not Ok<List<BotRow>> { Value: { } rows })
        {
            return (ProblemHttpResult)listed.Result;
        }

        var bots = await Task.WhenAll(rows.Select(async row =>
            await Ask(api, new BotQueries.GetBot(row.Id)) is BotQueries.BotView view ? BotResponse.From(view) : BotResponse.From(row)));
        return TypedResults.Ok(bots.ToList());
    }

    private static async Task<Results<Ok<BotResponse>, ProblemHttpResult>> GetBot(string id, [AsParameters] ApiServices api)
    {
        if (!BotId.TryParse(id, out var botId))
        {
            return Problems.NotFound("bot", id);
        }

        var reply = await Ask(api, new BotQueries.GetBot(botId));
        return reply is BotQueries.BotView view ? TypedResults.Ok(BotResponse.From(view)) : Problems.From(reply, "bot", id);
    }

    /// <summary>Drains a bot (no new job; its running jobs finish) or puts it back to work.</summary>
    private static async Task<Results<Ok<BotResponse>, ProblemHttpResult>> SetDraining(string id, bool draining, ApiServices api)
    {
        if (!BotId.TryParse(id, out var botId))
        {
            return Problems.NotFound("bot", id);
        }

        var reply = await Ask(api, new BotCommands.SetDraining(botId, draining));
        return reply is BotQueries.BotView view ? TypedResults.Ok(BotResponse.From(view)) : Problems.From(reply, "bot", id);
    }
}
