using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using static PandaFuzz.Gateway.ApiPlumbing;

namespace PandaFuzz.Gateway;

/// <summary>The HTTP API's seed corpora and campaign corpora: uploads, versions, the kept archive, minimization.</summary>
public static class CorporaApi
{
    public static RouteGroupBuilder MapCorporaApi(this RouteGroupBuilder v1)
    {
        var corpora = v1.MapGroup("").WithTags("corpora");
        Describe(corpora.MapPost("/corpora", UploadCorpus), "uploadCorpus", "Upload a seed corpus archive (zip, tar, tar.gz)", 400, 413)
            .BinaryBody("A zip, tar or tar.gz archive of inputs", Archive, "application/x-tar", "application/gzip");
        Describe(corpora.MapPost("/campaigns/{id}/corpus", AddToCorpus), "addToCorpus", "Add an archive's inputs to a campaign's corpus", 400, 404, 413)
            .BinaryBody("A zip, tar or tar.gz archive of inputs", Archive, "application/x-tar", "application/gzip");
        Describe(corpora.MapGet("/campaigns/{id}/corpus", GetCorpus), "getCorpus", "A campaign's corpus versions", 404);
        Describe(corpora.MapGet("/campaigns/{id}/corpus/archive", DownloadCorpus), "downloadCorpus", "A campaign's current corpus as a zip", 404)
            .BinaryAnswer("The corpus's inputs, one file each, in a zip", Archive);
        Describe(corpora.MapPost("/campaigns/{id}/corpus/minimize", MinimizeCorpus), "minimizeCorpus", "Minimize a campaign's corpus on a bot", 400, 404, 409);
        return v1;
    }

    private static async Task<Results<Created<CorpusArchiveResponse>, ProblemHttpResult>> UploadCorpus(
        HttpRequest request, string? name, [AsParameters] ApiServices api)
    {
        if (!CampaignRequestValidator.IsValidTargetName(name))
        {
            return Problems.Invalid("name", "the query parameter name is required: 1-100 characters of letters, digits, space, '.', '_' or '-'");
        }

        // A file of this request's own: a blob may be shared by a concurrent upload of the same bytes, so it is never
        // read half-checked nor deleted because this copy was refused.
        var received = await ReceiveBody(request, api.Blobs, api.Settings.MaxTargetBytes, api.Cancellation);
        if (received is not (string temp, long size))
        {
            return (ProblemHttpResult)received;
        }

        int entries;
        try
        {
            // Checked whole, its inputs staged and dropped: only the archive is kept (a campaign seeded with it imports them).
            using (var staged = await CorpusArchive.ImportAsync(temp, api.Blobs, "upload", CorpusArchive.Default, api.Cancellation))
            {
                entries = staged.Entries.Count;
            }

            await using var archiveFile = File.OpenRead(temp);
            var (archive, _) = await api.Blobs.PutAsync(archiveFile, api.Settings.MaxTargetBytes, api.Cancellation);
            return TypedResults.Created($"/api/v1/corpora/{archive}", new CorpusArchiveResponse(archive.Sha256, name!, size, entries));
        }
        catch (InvalidDataException e)
        {
            return Problems.Invalid("body", e.Message);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static async Task<Results<Ok<CorpusResponse>, ProblemHttpResult>> AddToCorpus(
        string id, HttpRequest request, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId) || await Ask(api, new CampaignQueries.GetCampaign(campaignId)) is not CampaignQueries.CampaignView)
        {
            return Problems.NotFound("campaign", id);
        }

        var received = await ReceiveBody(request, api.Blobs, api.Settings.MaxTargetBytes, api.Cancellation);
        if (received is not (string temp, long _))
        {
            return (ProblemHttpResult)received;
        }

        object changed;
        try
        {
            changed = await ImportArchive(temp, campaignId, "upload", api);
        }
        finally
        {
            File.Delete(temp);
        }

        if (changed is not CorpusCommands.CorpusChanged)
        {
            return changed as ProblemHttpResult ?? Problems.From(changed);
        }

        return await GetCorpus(id, api);
    }

    private static async Task<Results<Ok<CorpusResponse>, ProblemHttpResult>> GetCorpus(string id, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId) || await Ask(api, new CampaignQueries.GetCampaign(campaignId)) is not CampaignQueries.CampaignView)
        {
            return Problems.NotFound("campaign", id);
        }

        var reply = await Ask(api, new CorpusQueries.GetCorpusSummary(campaignId));
        return reply is CorpusQueries.CorpusSummary summary ? TypedResults.Ok(CorpusResponse.From(summary)) : Problems.From(reply);
    }

    /// <summary>Built once per corpus state and kept, so a GET, tokenless where reads are open, costs a summary ask and a file read.</summary>
    private static async Task<IResult> DownloadCorpus(string id, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId) || await Ask(api, new CampaignQueries.GetCampaign(campaignId)) is not CampaignQueries.CampaignView)
        {
            return Problems.NotFound("campaign", id);
        }

        if (await Ask(api, new CorpusQueries.GetCorpusSummary(campaignId)) is not CorpusQueries.CorpusSummary summary)
        {
            return Problems.From(new Unavailable("the corpus did not answer in time"));
        }

        try
        {
            // The read serves every request waiting for this build, not only this one: each of its asks has its own timeout.
            var (zip, version) = await api.Archives.OpenAsync(campaignId, summary.Version, summary.Count, () => ReadCorpusAsync(api with { Cancellation = CancellationToken.None }, campaignId));
            return TypedResults.File(zip, "application/zip", $"corpus-{campaignId}-v{version}.zip");
        }
        catch (InvalidOperationException e)
        {
            return Problems.From(new Unavailable(e.Message));
        }
    }

    /// <summary>One version of a corpus, read page by page, so a corpus replaced meanwhile is not mixed with the old one.</summary>
    internal static async Task<(int Version, IReadOnlyList<CorpusEntry> Entries)?> ReadCorpusAsync(ApiServices api, CampaignId campaignId)
    {
        var entries = new List<CorpusEntry>();
        var version = 0;
        while (true)
        {
            if (await Ask(api, new CorpusQueries.GetCorpusPage(campaignId, version, entries.Count, 500)) is not CorpusQueries.CorpusPage page)
            {
                return null;
            }

            if (page.Version != version)
            {
                version = page.Version;
                entries.Clear();
            }

            entries.AddRange(page.Entries);
            if (page.Entries.Count == 0 || entries.Count >= page.Total)
            {
                return (version, entries);
            }
        }
    }

    private static async Task<Results<Accepted<MinimizationResponse>, ProblemHttpResult>> MinimizeCorpus(
        string id, int? timeLimitSeconds, [AsParameters] ApiServices api)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (timeLimitSeconds is < 10 or > 24 * 3600)
        {
            return Problems.Invalid("timeLimitSeconds", "timeLimitSeconds must be between 10 and 86400");
        }

        var reply = await Ask(api, new CampaignCommands.MinimizeCorpus(campaignId, timeLimitSeconds ?? 600));
        return reply is CampaignCommands.JobAdded added
            ? TypedResults.Accepted($"/api/v1/jobs/{added.JobId}", new MinimizationResponse(added.CampaignId.Value, added.JobId.Value))
            : Problems.From(reply, "campaign", id);
    }

    internal static async Task<object> ImportArchive(string path, CampaignId campaign, string source, ApiServices api)
    {
        CorpusArchive.StagedCorpus staged;
        try
        {
            staged = await CorpusArchive.ImportAsync(path, api.Blobs, source, CorpusArchive.Default, api.Cancellation);
        }
        catch (InvalidDataException e)
        {
            return Problems.Invalid("body", e.Message);
        }

        using (staged)
        {
            // Blobs first, then the entries that refer to them.
            staged.Commit();
            return await Ask(api, new CorpusCommands.AddCorpusEntries(campaign, staged.Entries));
        }
    }
}
