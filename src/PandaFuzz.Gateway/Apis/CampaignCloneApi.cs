using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using PandaFuzz.Protocol;
using static PandaFuzz.Gateway.ApiPlumbing;

namespace PandaFuzz.Gateway;

/// <summary>
/// <c>POST /api/v1/campaigns/{id}/clone</c>: a new campaign with another's settings (engines, jobs, duration, limits,
/// dictionary, engine options, priority) and its current corpus as seeds, on the same build or a newer one of its target.
/// </summary>
public static class CampaignCloneApi
{
    /// <summary>Clones' names: the source's with this after it, cut to fit the 100 characters a name may have.</summary>
    public const string CloneSuffix = "-clone";

    public static RouteGroupBuilder MapCampaignCloneApi(this RouteGroupBuilder v1)
    {
        var campaigns = v1.MapGroup("").WithTags("campaigns");
        Describe(campaigns.MapPost("/campaigns/{id}/clone", CloneCampaign), "cloneCampaign",
                "Start a new campaign with another's settings and its current corpus, optionally on a newer build of its target", 400, 404, 409, 413)
            .JsonBody<CloneCampaignRequest>("Optional: the clone's name, and a build of the target (build, or newestBuild)",
                new JsonObject { ["name"] = "parser nightly 2", ["newestBuild"] = true }, required: false);
        return v1;
    }

    private static async Task<Results<Created<CampaignResponse>, ProblemHttpResult, ValidationProblem>> CloneCampaign(
        string id, HttpRequest request, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var sourceId))
        {
            return Problems.NotFound("campaign", id);
        }

        // The body is optional: none is a clone as it is.
        var body = new CloneCampaignRequest();
        if (request.ContentLength is not 0 && (request.ContentLength is not null || request.Headers.ContentType.Any()))
        {
            var (read, unreadable) = await ReadJsonAsync<CloneCampaignRequest>(request, api, "clone request");
            if (unreadable is not null)
            {
                return unreadable;
            }

            body = read ?? body;
        }

        if (await Ask(api, new CampaignQueries.GetCampaign(sourceId)) is not CampaignQueries.CampaignView source)
        {
            return Problems.NotFound("campaign", id);
        }

        var errors = new Dictionary<string, string[]>();
        var name = body.Name ?? CloneName(source.Spec.Name);
        if (!CampaignRequestValidator.IsValidTargetName(name))
        {
            errors["name"] = ["name must be 1-100 characters of letters, digits, space, '.', '_' or '-'"];
        }

        if (body.Build is not null && body.NewestBuild == true)
        {
            errors["build"] = ["give build or newestBuild, not both"];
        }
        else if (body.Build is < 1)
        {
            errors["build"] = ["build must be the number of a build of the campaign's target: 1 or more"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The clone request is invalid", type: Problems.InvalidType);
        }

        var spec = source.Spec with { Name = name };
        if (body.Build is not null || body.NewestBuild == true)
        {
            if (spec.TargetName is not { } target || await TargetsApi.Builds(target, api) is not { Builds.Count: > 0 } builds)
            {
                return ApiErrors.Result(ApiErrorKind.Conflict, $"campaign {id} fuzzes a binary of no named target's build: it can only be cloned on the same binary");
            }

            var build = body.Build is { } number ? builds.Find(number) : builds.Newest;
            if (build is null)
            {
                return Problems.NotFound("build", $"{target}/{body.Build}");
            }

            var engines = new List<EngineTarget>();
            foreach (var engine in spec.Engines.Select(e => e.Engine))
            {
                if (build.FuzzingBinaryFor(engine) is not { } binary)
                {
                    return ApiErrors.Result(ApiErrorKind.Conflict, $"build {build.Number} of target {target} has no binary for {engine}, which the campaign runs");
                }

                engines.Add(new EngineTarget(engine, binary.Binary));
            }

            spec = spec with
            {
                Target = engines[0].Target,
                Engine = engines[0].Engine,
                Ensemble = engines.Count > 1 ? engines : null,
                Build = build.Number,
                PinnedBuild = body.Build is not null,
            };
            spec = spec with { Cmplog = CampaignsApi.CmplogOf(spec, build) };
        }

        // The source's current corpus seeds the clone before its first job starts.
        var cloneId = CampaignId.New();
        if (await CorporaApi.ReadCorpusAsync(api, sourceId) is { Entries.Count: > 0 } corpus
            && await Ask(api, new CorpusCommands.AddCorpusEntries(cloneId, [.. corpus.Entries])) is not CorpusCommands.CorpusChanged)
        {
            return Problems.From(new Unavailable("the clone's corpus did not answer in time"));
        }

        var reply = await Ask(api, new CampaignCommands.CreateCampaign(cloneId, spec));
        return reply is CampaignQueries.CampaignView created
            ? TypedResults.Created($"/api/v1/campaigns/{cloneId}", await CampaignsApi.DescribeCampaign(api, created, new ReadModel.Page()) with { ClonedFrom = sourceId.Value })
            : Problems.From(reply);
    }

    private static string CloneName(string name) => name.Length + CloneSuffix.Length <= 100 ? name + CloneSuffix : name[..(100 - CloneSuffix.Length)] + CloneSuffix;
}

/// <summary>The body of <c>POST /api/v1/campaigns/{id}/clone</c>, all optional: the clone's name, and the build it fuzzes.</summary>
public sealed record CloneCampaignRequest(string? Name = null, int? Build = null, bool? NewestBuild = null);
