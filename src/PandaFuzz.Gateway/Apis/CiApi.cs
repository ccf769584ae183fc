using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Protocol;
using static PandaFuzz.Gateway.ApiPlumbing;

namespace PandaFuzz.Gateway;

/// <summary>
/// The HTTP API's CI gate, as ClusterFuzzLite runs one on a pull request: the build is added to the target, the target's
/// known bugs are rerun on it, and a short campaign fuzzes it from the target's corpus; the gate fails only for a new or a
/// regressed bug. One POST, then GETs until the status is no longer running (what <c>pandafuzz-cmd ci</c> does).
/// </summary>
public static class CiApi
{
    /// <summary>How long a gate fuzzes unless told: five minutes (CIFuzz's fuzz-seconds default is ten).</summary>
    public const int DefaultSeconds = 300;

    /// <summary>The gate campaign's seeds: the target's campaigns' corpora, up to this many inputs.</summary>
    public const int MaxSeeds = 20_000;

    public static RouteGroupBuilder MapCiApi(this RouteGroupBuilder v1)
    {
        var ci = v1.MapGroup("/targets/{name}/ci").WithTags("ci");
        Describe(ci.MapPost("", StartGate), "startCiGate",
                "Check a build in CI: add it to the target, rerun the target's known bugs on it, fuzz it briefly from the target's corpus", 400, 404, 413)
            .BinaryBody("The fuzz target, as built from the change being checked", Binary);
        Describe(ci.MapGet("/{campaignId}", GetGate), "getCiGate",
            "A CI gate's verdict: running, passed (only known bugs), failed (a new or regressed bug) or error", 404);
        Describe(ci.MapGet("/{campaignId}/sarif", ExportGateAsSarif), "exportCiGateAsSarif",
                "A CI gate's new, regressed and known bugs as SARIF 2.1.0 (sourceRoot: paths relative to the checkout)", 400, 404)
            .BinaryAnswer("A SARIF 2.1.0 log", CrashSarif.MediaType, bytes: false);
        return v1;
    }

    private static async Task<Results<Accepted<CiGateResponse>, ProblemHttpResult, ValidationProblem>> StartGate(
        HttpRequest request, string name, string? engine, int? seconds, int? jobs, string? revision, string? createdAt, string? sourceRoot, [AsParameters] ApiServices api)
    {
        // Checked before the upload, so a refused gate adds no build.
        if (ListParameters.TryEngine(engine, out var engineName) is { } badEngine)
        {
            return badEngine;
        }

        if (seconds is < 1 or > CampaignRequestValidator.MaxDurationSeconds)
        {
            return Problems.Invalid("seconds", $"seconds must be between 1 and {CampaignRequestValidator.MaxDurationSeconds}");
        }

        if (jobs is < 1 or > CampaignRequestValidator.MaxJobs)
        {
            return Problems.Invalid("jobs", $"jobs must be between 1 and {CampaignRequestValidator.MaxJobs}");
        }

        var (added, _, problem) = await TargetsApi.AddBinaryAsync(request, name, TargetBinaryKinds.Fuzzer, revision, createdAt, build: null, sourceRoot, api);
        if (added is null)
        {
            return problem!;
        }

        try
        {
            return await StartAsync(name, added, engineName ?? EngineNames.LibFuzzer, seconds, jobs, revision, api);
        }
        catch (GateUnavailableException e)
        {
            return Problems.From(new Unavailable(e.Message));
        }
    }

    private static async Task<Results<Accepted<CiGateResponse>, ProblemHttpResult, ValidationProblem>> StartAsync(
        string name, TargetCommands.TargetBinaryAdded added, string engineName, int? seconds, int? jobs, string? revision, ApiServices api)
    {
        // The target's campaigns, oldest first: their corpora seed the gate, the newest on this engine lends its limits.
        var known = await KnownCampaignsAsync(name, null, api);
        var model = known.LastOrDefault(k => k.Spec.Engines.Any(e => e.Engine == engineName))?.Spec;
        var body = new CreateCampaignRequest(
            GateName(name, added.Build.Number, revision), null, engineName, jobs ?? 1, seconds ?? DefaultSeconds,
            model?.MemoryLimitMb, model?.TimeoutMs, model?.Dictionary, Target: name, Build: added.Build.Number);
        var (resolved, buildErrors) = CampaignRequestValidator.ForBuild(body, await TargetsApi.Builds(name, api));
        if (resolved is null)
        {
            return TypedResults.ValidationProblem(buildErrors, title: "The gate's campaign is invalid", type: Problems.InvalidType);
        }

        var (spec, errors) = CampaignRequestValidator.Validate(resolved.Value.Request, api.Blobs.Contains);
        if (spec is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The gate's campaign is invalid", type: Problems.InvalidType);
        }

        // The model campaign's engine options too: a gate runs the build as the campaigns it is judged against do.
        spec = spec with { TargetName = name, Build = added.Build.Number, PinnedBuild = true, Options = model?.Options };
        var id = CampaignId.New();
        var seeds = new Dictionary<BlobId, CorpusEntry>();
        foreach (var campaign in known)
        {
            if (await CorporaApi.ReadCorpusAsync(api, campaign.Id) is { } corpus)
            {
                foreach (var entry in corpus.Entries.Where(e => seeds.Count < MaxSeeds))
                {
                    seeds.TryAdd(entry.Input, entry);
                }
            }
        }

        // The seeds are in the gate's corpus before its first job starts.
        if (seeds.Count > 0 && await Ask(api, new CorpusCommands.AddCorpusEntries(id, [.. seeds.Values])) is not CorpusCommands.CorpusChanged)
        {
            return Problems.From(new Unavailable("the gate's corpus did not answer in time"));
        }

        var reply = await Ask(api, new CampaignCommands.CreateCampaign(id, spec));
        if (reply is not CampaignQueries.CampaignView gate)
        {
            return Problems.From(reply);
        }

        var response = await JudgeAsync(name, gate, api);
        return TypedResults.Accepted($"/api/v1/targets/{Uri.EscapeDataString(name)}/ci/{id}", response.Response with { NewBuild = added.Created });
    }

    private static async Task<Results<Ok<CiGateResponse>, ProblemHttpResult>> GetGate(string name, string campaignId, [AsParameters] ApiServices api)
    {
        if (await FindGateAsync(name, campaignId, api) is not { } gate)
        {
            return Problems.NotFound("CI gate", $"{name}/{campaignId}");
        }

        try
        {
            return TypedResults.Ok((await JudgeAsync(name, gate, api)).Response);
        }
        catch (GateUnavailableException e)
        {
            return Problems.From(new Unavailable(e.Message));
        }
    }

    private static async Task<IResult> ExportGateAsSarif(string name, string campaignId, string? sourceRoot, [AsParameters] ApiServices api)
    {
        if (sourceRoot is not null && !CrashSarif.IsSourceRoot(sourceRoot))
        {
            return Problems.Invalid("sourceRoot", CrashSarif.SourceRootRule);
        }

        if (await FindGateAsync(name, campaignId, api) is not { } gate)
        {
            return Problems.NotFound("CI gate", $"{name}/{campaignId}");
        }

        BuildGate.Verdict verdict;
        try
        {
            verdict = (await JudgeAsync(name, gate, api)).Verdict;
        }
        catch (GateUnavailableException e)
        {
            return Problems.From(new Unavailable(e.Message));
        }

        var bugs = verdict.New.Select(l => (l.Bug.Bug, "new"))
            .Concat(verdict.Regressed.Select(l => (l.Bug.Bug, "regressed")))
            .Concat(verdict.Known.Select(l => (l.Bug.Bug, "known")))
            .ToList();
        sourceRoot ??= (await TargetsApi.BuildOf(gate.Spec, api))?.SourceRoot;
        return TypedResults.Text(CrashSarif.Build(name, gate.Spec.Build!.Value, gate.Id, bugs, sourceRoot).ToJsonString(SarifJson), CrashSarif.MediaType);
    }

    /// <summary>"ci parser build 7 3f2a9c1b0d4e": the revision's start, in the characters a campaign's name takes.</summary>
    private static string GateName(string target, int build, string? revision)
    {
        var label = new string((revision ?? "").Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-').Take(12).ToArray());
        var name = $"ci {target} build {build}{(label.Length > 0 ? " " + label : "")}";
        return name.Length <= 100 ? name : name[..100];
    }

    private static readonly System.Text.Json.JsonSerializerOptions SarifJson = new() { WriteIndented = true };

    /// <summary>A campaign on a build of the named target: any such campaign can be judged as a gate.</summary>
    private static async Task<CampaignQueries.CampaignView?> FindGateAsync(string name, string campaignId, ApiServices api) =>
        CampaignId.TryParse(campaignId, out var id)
        && await Ask(api, new CampaignQueries.GetCampaign(id)) is CampaignQueries.CampaignView { Spec: { Build: not null } spec } gate
        && spec.TargetName == name
            ? gate
            : null;

    /// <summary>The target's campaigns (from the read model, about a second behind), oldest first; with a gate, those created before it but it.</summary>
    private static async Task<IReadOnlyList<CampaignQueries.CampaignView>> KnownCampaignsAsync(string name, CampaignQueries.CampaignView? gate, ApiServices api)
    {
        IReadOnlyList<CampaignId> ids;
        try
        {
            ids = api.Queries.CampaignsOfTarget(name);
        }
        catch (System.Data.Common.DbException)
        {
            throw new GateUnavailableException("the read model cannot be read: the target's campaigns are unknown");
        }

        var views = await Task.WhenAll(ids.Where(id => id != gate?.Id).Select(id => Ask(api, new CampaignQueries.GetCampaign(id))));
        return [.. views.OfType<CampaignQueries.CampaignView>().Where(v => gate is null || v.CreatedAt < gate.CreatedAt).OrderBy(v => v.CreatedAt)];
    }

    /// <summary>
    /// The verdict so far, and whether it is final: the gate's fuzzing jobs ended, every crash they reported counted by its
    /// campaign (reports travel apart from the job's end), and every earlier campaign on the target done rerunning its bugs on the build.
    /// </summary>
    private static async Task<(CiGateResponse Response, BuildGate.Verdict Verdict)> JudgeAsync(string name, CampaignQueries.CampaignView gate, ApiServices api)
    {
        var build = gate.Spec.Build!.Value;
        var fuzzJobs = (await Task.WhenAll(gate.JobIds.Take(gate.Spec.Jobs).Select(j => Ask(api, new JobQueries.GetJob(j))))).OfType<JobQueries.JobView>().ToList();
        var ended = fuzzJobs.Where(j => j.Status is JobStatus.Completed or JobStatus.Failed or JobStatus.Cancelled).ToList();
        var fuzzing = gate.Spec.Jobs - ended.Count;
        var inFlight = 0;
        foreach (var input in ended.SelectMany(j => j.CrashInputs ?? []).Distinct())
        {
            if (await Ask(api, new CampaignQueries.GetCrashInput(gate.Id, input)) is not CampaignQueries.CrashInputStatus { Counted: true })
            {
                inFlight++;
            }
        }

        var known = await KnownCampaignsAsync(name, gate, api);
        var verifying = known.Count(k => k.VerifyingBuilds?.Contains(build) == true);
        var found = await BugsOfAsync(gate.Id, api);
        var knownBugs = new List<BuildGate.CampaignBug>();
        foreach (var campaign in known)
        {
            knownBugs.AddRange(await BugsOfAsync(campaign.Id, api));
        }

        var verdict = BuildGate.Judge(build, found, knownBugs);
        var settled = fuzzing == 0 && inFlight == 0 && verifying == 0;
        string? error = null;
        if (settled && ended.Count > 0 && ended.All(j => j.Status != JobStatus.Completed))
        {
            error = $"no fuzzing job of the gate completed: {ended[0].Status.ToString().ToLowerInvariant()}{(ended[0].FailureReason is { } why ? $" ({why})" : "")}";
        }

        var status = !settled ? CiGateStatus.Running : error is not null ? CiGateStatus.Error : verdict.Passed ? CiGateStatus.Passed : CiGateStatus.Failed;
        var revision = (await TargetsApi.Builds(name, api))?.Find(build)?.Revision;
        var response = new CiGateResponse(name, build, revision, gate.Id.Value, status, gate.Spec.DurationSeconds,
            await LinesAsync(verdict.New, api), await LinesAsync(verdict.Regressed, api), await LinesAsync(verdict.Known, api), await LinesAsync(verdict.Fixed, api))
        {
            FuzzingJobs = fuzzing,
            VerifyingCampaigns = verifying,
            CrashReportsInFlight = inFlight,
            Error = error,
        };
        return (response, verdict);
    }

    private static async Task<IReadOnlyList<BuildGate.CampaignBug>> BugsOfAsync(CampaignId campaign, ApiServices api) =>
        await Ask(api, new CampaignQueries.GetCampaignBugs(campaign)) is CampaignQueries.CampaignBugs bugs
            ? [.. bugs.Bugs.Select(b => new BuildGate.CampaignBug(campaign, b))]
            : throw new GateUnavailableException($"campaign {campaign} did not answer in time");

    /// <summary>Each line with its reproduce command (its campaign knows how the job that found it ran).</summary>
    private static async Task<IReadOnlyList<CiBugResponse>> LinesAsync(IReadOnlyList<BuildGate.Line> lines, ApiServices api)
    {
        var responses = new List<CiBugResponse>();
        foreach (var line in lines)
        {
            var view = await Ask(api, new CampaignQueries.GetBug(line.Bug.Campaign, line.Bug.Bug.Id)) as CampaignQueries.BugView;
            responses.Add(CiBugResponse.From(line, view?.Reproduce));
        }

        return responses;
    }

    /// <summary>The gate cannot be judged now (the read model or a campaign does not answer): a 503, try again.</summary>
    private sealed class GateUnavailableException(string message) : Exception(message);
}
