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

/// <summary>The HTTP API's bugs and crashes: lists, SARIF, one bug, one crash and its inputs.</summary>
public static class CrashesApi
{
    public static RouteGroupBuilder MapCrashesApi(this RouteGroupBuilder v1)
    {
        var bugs = v1.MapGroup("").WithTags("bugs");
        Describe(bugs.MapGet("/campaigns/{id}/bugs", ListBugs), "listCampaignBugs", "A campaign's bugs (unique crashes grouped), each with its crashes", 404).Paged();
        Describe(bugs.MapGet("/bugs/{id}", GetBug), "getBug", "A bug with its crashes", 404);
        Describe(bugs.MapPatch("/bugs/{id}", TriageBug), "triageBug", "Set a bug's status, tracker link or note", 400, 404)
            .JsonBody<BugTriageRequest>("The fields to change: status, externalUrl, note (an empty string clears a link or note)",
                new System.Text.Json.Nodes.JsonObject { ["status"] = "wontfix", ["externalUrl"] = "https://bugs.example.com/1234", ["note"] = "the parser is fuzz-only code" });
        Describe(bugs.MapGet("/campaigns/{id}/bugs.sarif", ExportBugsAsSarif), "exportCampaignBugsAsSarif", "A campaign's bugs as SARIF 2.1.0, one result per bug", 404)
            .BinaryAnswer("A SARIF 2.1.0 log", CrashSarif.MediaType, bytes: false).Paged();
        var crashes = v1.MapGroup("").WithTags("crashes");
        Describe(crashes.MapGet("/campaigns/{id}/crashes", ListCrashes), "listCampaignCrashes", "A campaign's unique crashes", 404).Paged();
        Describe(crashes.MapGet("/campaigns/{id}/crashes.sarif", ExportCrashesAsSarif), "exportCampaignCrashesAsSarif", "A campaign's unique crashes as SARIF 2.1.0", 404)
            .BinaryAnswer("A SARIF 2.1.0 log", CrashSarif.MediaType, bytes: false).Paged();
        Describe(crashes.MapGet("/campaigns/{id}/crash-inputs/{sha256}", GetCrashInputStatus), "getCrashInputStatus", "Whether a campaign counted a crash input", 404);
        Describe(crashes.MapGet("/crashes", ListAllCrashes), "listCrashes", "List unique crashes of every campaign (read model, paged)", 400).Paged();
        Describe(crashes.MapGet("/crashes/{id}", GetCrash), "getCrash", "A unique crash in full", 404);
        Describe(crashes.MapGet("/crashes/{id}/input", (string id, [AsParameters] ApiServices api) =>
            GetCrashInput(id, minimized: false, api)), "getCrashInput", "The first sample input's bytes", 404)
            .BinaryAnswer("The input's exact bytes", Binary);
        Describe(crashes.MapGet("/crashes/{id}/input/minimized", (string id, [AsParameters] ApiServices api) =>
            GetCrashInput(id, minimized: true, api)), "getMinimizedCrashInput", "The minimized input's bytes", 404)
            .BinaryAnswer("The input's exact bytes", Binary);
        Describe(crashes.MapGet("/crashes/{id}/bundle", GetCrashBundle), "getCrashBundle",
                "A zip to reproduce the crash anywhere: its input, the minimized input, reproduce.sh and the report", 404)
            .BinaryAnswer("The bundle: crash-SIGNATURE, crash-SIGNATURE.minimized (once minimized), reproduce.sh, report.txt, crash.json", Archive);
        return v1;
    }

    private static readonly System.Text.Json.JsonSerializerOptions SarifJson = new() { WriteIndented = true };

    private static Task<Results<Ok<List<CrashSummaryResponse>>, ProblemHttpResult>> ListCrashes(
        HttpContext context, string id, [AsParameters] ApiServices api, string? limit, string? offset) =>
        CampaignPage(context, id, api, limit, offset, (campaign, page) => new CampaignQueries.GetCampaignCrashes(campaign, page.Offset, page.Limit),
            (CampaignQueries.CampaignCrashes crashes) =>
                (crashes.Crashes.Select((c, i) => CrashSummaryResponse.From(c, crashes.BugIds?[i])).ToList(), crashes.Total));

    private static Task<Results<Ok<List<BugResponse>>, ProblemHttpResult>> ListBugs(
        HttpContext context, string id, [AsParameters] ApiServices api, string? status, string? limit, string? offset)
    {
        if (ListParameters.TryStatus<BugStatus>(status, out var byStatus) is { } problem)
        {
            return Task.FromResult<Results<Ok<List<BugResponse>>, ProblemHttpResult>>(problem);
        }

        return CampaignPage(context, id, api, limit, offset, (campaign, page) => new CampaignQueries.GetCampaignBugs(campaign, page.Offset, page.Limit, byStatus),
            (CampaignQueries.CampaignBugs bugs) => (bugs.Bugs.Select(BugResponse.From).ToList(), bugs.Total));
    }

    /// <summary>Sets a bug's status, tracker link or note (what the body leaves out stays; an empty string clears a link or note).</summary>
    private static async Task<Results<Ok<BugResponse>, ProblemHttpResult, ValidationProblem>> TriageBug(
        string id, HttpRequest request, [AsParameters] ApiServices api)
    {
        if (!BugId.TryParse(id, out var bugId))
        {
            return Problems.NotFound("bug", id);
        }

        var (body, unreadable) = await ReadJsonAsync<BugTriageRequest>(request, api, "bug update");
        if (unreadable is not null)
        {
            return unreadable;
        }

        var errors = body is null ? new Dictionary<string, string[]> { ["body"] = ["the body must be a JSON object"] } : BugTriageRequest.Validate(body);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The bug update is invalid", type: Problems.InvalidType);
        }

        var reply = await Ask(api, new CampaignCommands.TriageBug(bugId.Campaign, bugId, body!.ParsedStatus(), body.ExternalUrl, body.Note));
        return reply is CampaignQueries.BugView view
            ? TypedResults.Ok(BugResponse.From(view.Bug) with { Reproduce = ReproduceResponse.From(view.Reproduce, view.Bug.Leader.Signature) })
            : Problems.From(reply, "bug", id);
    }

    private static async Task<Results<Ok<List<TItem>>, ProblemHttpResult>> CampaignPage<TReply, TItem>(
        HttpContext context, string id, ApiServices api, string? limit, string? offset,
        Func<CampaignId, Page, object> query, Func<TReply, (List<TItem> Items, int Total)> read)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (ListParameters.TryPage(limit, offset, out var page) is { } problem)
        {
            return problem;
        }

        var reply = await Ask(api, query(campaignId, page));
        if (reply is not TReply answer)
        {
            return Problems.From(reply);
        }

        var (items, total) = read(answer);
        PageHeaders(context, page, items.Count, total);
        return TypedResults.Ok(items);
    }

    /// <summary>A group that merged into another answers with the group it is part of.</summary>
    private static async Task<Results<Ok<BugResponse>, ProblemHttpResult>> GetBug(string id, [AsParameters] ApiServices api)
    {
        var reply = BugId.TryParse(id, out var bugId)
            ? await Ask(api, new CampaignQueries.GetBug(bugId.Campaign, bugId))
            : new CommandRejected($"bug {id} not found", RejectionKind.NotFound);
        return reply is CampaignQueries.BugView view
            ? TypedResults.Ok(BugResponse.From(view.Bug) with { Reproduce = ReproduceResponse.From(view.Reproduce, view.Bug.Leader.Signature) })
            : Problems.From(reply, "bug", id);
    }

    /// <summary>Lets an operator check that a file a fuzzer wrote was reported.</summary>
    private static async Task<Results<Ok<CrashInputResponse>, ProblemHttpResult>> GetCrashInputStatus(
        string id, string sha256, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (!BlobId.TryParse(sha256, out var input))
        {
            return Problems.Invalid("sha256", "the crash input's SHA-256, 64 lowercase hex digits");
        }

        var reply = await Ask(api, new CampaignQueries.GetCrashInput(campaignId, input));
        return reply switch
        {
            CampaignQueries.CrashInputStatus { Counted: true } status => TypedResults.Ok(new CrashInputResponse(status.Input.Sha256, true)),
            CampaignQueries.CrashInputStatus => Problems.NotFound("crash input", sha256),
            _ => Problems.From(reply),
        };
    }

    /// <summary>At most 1,000 crashes a document, paged like every list.</summary>
    private static async Task<IResult> ExportCrashesAsSarif(
        HttpContext context, string id, [AsParameters] ApiServices api, string? limit, string? offset, string? sourceRoot)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (sourceRoot is not null && !CrashSarif.IsSourceRoot(sourceRoot))
        {
            return Problems.Invalid("sourceRoot", CrashSarif.SourceRootRule);
        }

        if (ListParameters.TryPage(limit, offset, out var page, defaultLimit: Page.MaxLimit) is { } problem)
        {
            return problem;
        }

        var campaign = await Ask(api, new CampaignQueries.GetCampaign(campaignId));
        if (campaign is not CampaignQueries.CampaignView view)
        {
            return Problems.From(campaign);
        }

        var reply = await Ask(api, new CampaignQueries.GetCampaignCrashes(campaignId, page.Offset, page.Limit));
        if (reply is not CampaignQueries.CampaignCrashes crashes)
        {
            return Problems.From(reply);
        }

        PageHeaders(context, page, crashes.Crashes.Count, crashes.Total);
        sourceRoot ??= (await TargetsApi.BuildOf(view.Spec, api))?.SourceRoot;
        return TypedResults.Text(CrashSarif.Build(view, crashes.Crashes, crashes.BugIds, sourceRoot).ToJsonString(SarifJson), CrashSarif.MediaType);
    }

    private static async Task<IResult> ExportBugsAsSarif(
        HttpContext context, string id, [AsParameters] ApiServices api, string? limit, string? offset, string? sourceRoot)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (sourceRoot is not null && !CrashSarif.IsSourceRoot(sourceRoot))
        {
            return Problems.Invalid("sourceRoot", CrashSarif.SourceRootRule);
        }

        if (ListParameters.TryPage(limit, offset, out var page, defaultLimit: Page.MaxLimit) is { } problem)
        {
            return problem;
        }

        if (await Ask(api, new CampaignQueries.GetCampaign(campaignId)) is not CampaignQueries.CampaignView view)
        {
            return Problems.NotFound("campaign", id);
        }

        var reply = await Ask(api, new CampaignQueries.GetCampaignBugs(campaignId, page.Offset, page.Limit));
        if (reply is not CampaignQueries.CampaignBugs bugs)
        {
            return Problems.From(reply);
        }

        PageHeaders(context, page, bugs.Bugs.Count, bugs.Total);
        sourceRoot ??= (await TargetsApi.BuildOf(view.Spec, api))?.SourceRoot;
        return TypedResults.Text(CrashSarif.Build(view, bugs.Bugs, sourceRoot).ToJsonString(SarifJson), CrashSarif.MediaType);
    }

    private static async Task<Results<Ok<CrashResponse>, ProblemHttpResult>> GetCrash(string id, [AsParameters] ApiServices api)
    {
        var crash = await FindCrash(id, api);
        return crash is CampaignQueries.CrashView view ? TypedResults.Ok(CrashResponse.From(view.Crash, view.BugId, view.Reproduce)) : Problems.From(crash, "crash", id);
    }

    /// <summary>The first sample input of a unique crash, or its minimized input (404 until minimization succeeded).</summary>
    private static async Task<IResult> GetCrashInput(string id, bool minimized, ApiServices api)
    {
        var crash = await FindCrash(id, api);
        if (crash is not CampaignQueries.CrashView view)
        {
            return Problems.From(crash, "crash", id);
        }

        var unique = view.Crash;
        var input = minimized ? unique.Minimization?.Input : unique.Samples.Count > 0 ? unique.Samples[0] : null;
        if (input is null)
        {
            return Problems.NotFound(minimized ? "minimized crash input" : "crash input", id);
        }

        var name = minimized ? $"minimized-{unique.Signature}" : unique.First.Finding.ArtifactName;
        return api.Blobs.Contains(input)
            ? TypedResults.File(api.Blobs.OpenRead(input), "application/octet-stream", name)
            : Problems.NotFound("crash input", input.Sha256);
    }

    /// <summary>
    /// Everything needed to rerun the crash without PandaFuzz: the first sample input (<c>crash-SIGNATURE</c>), the
    /// minimized one, <c>reproduce.sh</c> (the bot's command, the target's path as its argument), the report and the
    /// crash as the API shows it.
    /// </summary>
    private static async Task<IResult> GetCrashBundle(string id, [AsParameters] ApiServices api)
    {
        var crash = await FindCrash(id, api);
        if (crash is not CampaignQueries.CrashView { Reproduce: { } reproduce } view)
        {
            return crash is CampaignQueries.CrashView ? Problems.NotFound("crash bundle", id) : Problems.From(crash, "crash", id);
        }

        var unique = view.Crash;
        if (unique.Samples.Count == 0 || !api.Blobs.Contains(unique.Samples[0]))
        {
            return Problems.NotFound("crash input", id);
        }

        var input = Domain.Engines.Reproduction.InputName(unique.Signature);
        var zip = new MemoryStream();
        using (var archive = new System.IO.Compression.ZipArchive(zip, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            async Task AddBlob(string name, BlobId blob)
            {
                await using var entry = archive.CreateEntry(name).Open();
                await using var source = api.Blobs.OpenRead(blob);
                await source.CopyToAsync(entry, api.Cancellation);
            }

            async Task AddText(string name, string text, bool executable = false)
            {
                var entry = archive.CreateEntry(name);
                if (executable)
                {
                    // rwxr-xr-x in the entry's Unix mode, so unzip keeps the script runnable.
                    entry.ExternalAttributes = Convert.ToInt32("100755", 8) << 16;
                }

                await using var writer = new StreamWriter(entry.Open(), new System.Text.UTF8Encoding(false));
                await writer.WriteAsync(text);
            }

            await AddBlob(input, unique.Samples[0]);
            if (unique.Minimization?.Input is { } minimized && api.Blobs.Contains(minimized))
            {
                await AddBlob(input + ".minimized", minimized);
            }

            await AddText("reproduce.sh", Domain.Engines.Reproduction.Script(reproduce, "./" + reproduce.Target, input), executable: true);
            await AddText("report.txt", unique.First.Finding.Output);
            await AddText("crash.json", System.Text.Json.JsonSerializer.Serialize(
                CrashResponse.From(unique, view.BugId, reproduce), BundleJson));
        }

        zip.Position = 0;
        return TypedResults.File(zip, Archive, $"{unique.Id.Value}.zip");
    }

    private static readonly System.Text.Json.JsonSerializerOptions BundleJson = new(System.Text.Json.JsonSerializerOptions.Web)
    {
        WriteIndented = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase) },
    };

    private static Results<Ok<List<CrashSummaryResponse>>, ProblemHttpResult> ListAllCrashes(
        HttpContext context, [AsParameters] ApiServices api, string? campaign, string? kind, string? security, string? since, string? limit, string? offset,
        string? bugId)
    {
        var problem = ListParameters.First(
            ListParameters.TryId<CampaignId>("campaign", campaign, CampaignId.TryParse, out var byCampaign),
            ListParameters.TryId<BugId>("bugId", bugId, BugId.TryParse, out var byBug),
            ListParameters.TryKind(kind, out var byKind),
            ListParameters.TryFlag("security", security, out var bySecurity),
            ListParameters.TrySince(since, out var bySince),
            ListParameters.TryPage(limit, offset, out var page));
        if (problem is not null)
        {
            return problem;
        }

        return ReadList(context, page, () => api.Queries.Crashes(new CrashFilter(byCampaign, byKind, bySecurity, bySince, byBug), page), CrashSummaryResponse.From);
    }

    private static async Task<object> FindCrash(string id, ApiServices api) =>
        CrashId.TryParse(id, out var crashId)
            ? await Ask(api, new CampaignQueries.GetCrash(crashId.Campaign, crashId))
            : new CommandRejected($"crash {id} not found", RejectionKind.NotFound);
}
