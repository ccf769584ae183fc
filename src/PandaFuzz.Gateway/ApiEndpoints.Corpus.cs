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

/// <summary>The HTTP API's seed corpora and campaign corpora: uploads, versions, the kept archive, minimization.</summary>
public static partial class ApiEndpoints
{
    private static async Task<Results<Created<CorpusArchiveResponse>, ProblemHttpResult>> UploadCorpus(
        HttpRequest request, string? name, ContentAddressedStore blobs, MasterSettings settings, CancellationToken ct)
    {
        if (!CampaignRequestValidator.IsValidTargetName(name))
        {
            return Problems.Invalid("name", "the query parameter name is required: 1-100 characters of letters, digits, space, '.', '_' or '-'");
        }

        // The archive is read from a file of this request's own: a blob of the store may be shared by a concurrent upload
        // of the same bytes, so it is never read half-checked nor deleted because this request's copy was refused.
        var received = await ReceiveBody(request, blobs, settings.MaxTargetBytes, ct);
        if (received is not (string temp, long size))
        {
            return (ProblemHttpResult)received;
        }

        int entries;
        try
        {
            // Checked whole, its inputs staged and dropped: only the archive is kept (a campaign seeded with it imports them).
            using (var staged = await CorpusArchive.ImportAsync(temp, blobs, "upload", CorpusArchive.Default, ct))
            {
                entries = staged.Entries.Count;
            }

            await using var archiveFile = File.OpenRead(temp);
            var (archive, _) = await blobs.PutAsync(archiveFile, settings.MaxTargetBytes, ct);
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
        string id, HttpRequest request, ContentAddressedStore blobs, MasterSettings settings, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId) || await Ask(gateway, new CampaignQueries.GetCampaign(campaignId), ct) is not CampaignQueries.CampaignView)
        {
            return Problems.NotFound("campaign", id);
        }

        var received = await ReceiveBody(request, blobs, settings.MaxTargetBytes, ct);
        if (received is not (string temp, long _))
        {
            return (ProblemHttpResult)received;
        }

        object changed;
        try
        {
            changed = await ImportArchive(temp, campaignId, "upload", blobs, gateway, ct);
        }
        finally
        {
            File.Delete(temp);
        }

        if (changed is not CorpusCommands.CorpusChanged)
        {
            return changed as ProblemHttpResult ?? Problems.From(changed);
        }

        return await GetCorpus(id, gateway, ct);
    }

    private static async Task<Results<Ok<CorpusResponse>, ProblemHttpResult>> GetCorpus(string id, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId) || await Ask(gateway, new CampaignQueries.GetCampaign(campaignId), ct) is not CampaignQueries.CampaignView)
        {
            return Problems.NotFound("campaign", id);
        }

        var reply = await Ask(gateway, new CorpusQueries.GetCorpusSummary(campaignId), ct);
        return reply is CorpusQueries.CorpusSummary summary ? TypedResults.Ok(CorpusResponse.From(summary)) : Problems.From(reply);
    }

    /// <summary>
    /// The campaign's current corpus as a zip: built once per corpus state and kept (<see cref="CorpusArchiveCache"/>), so
    /// a GET, which needs no token where reads are open, costs a summary ask and a file read.
    /// </summary>
    private static async Task<IResult> DownloadCorpus(string id, IRequiredActor<GatewayActor> gateway, CorpusArchiveCache archives, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId) || await Ask(gateway, new CampaignQueries.GetCampaign(campaignId), ct) is not CampaignQueries.CampaignView)
        {
            return Problems.NotFound("campaign", id);
        }

        if (await Ask(gateway, new CorpusQueries.GetCorpusSummary(campaignId), ct) is not CorpusQueries.CorpusSummary summary)
        {
            return Problems.From(new Unavailable("the corpus did not answer in time"));
        }

        try
        {
            // The read serves every request waiting for this build, not only this one: each of its asks has its own timeout.
            var (zip, version) = await archives.OpenAsync(campaignId, summary.Version, summary.Count, () => ReadCorpusAsync(gateway, campaignId, CancellationToken.None));
            return TypedResults.File(zip, "application/zip", $"corpus-{campaignId}-v{version}.zip");
        }
        catch (InvalidOperationException e)
        {
            return Problems.From(new Unavailable(e.Message));
        }
    }

    /// <summary>One version of a corpus, read page by page, so a corpus replaced meanwhile is not mixed with the old one.</summary>
    private static async Task<(int Version, IReadOnlyList<CorpusEntry> Entries)?> ReadCorpusAsync(IRequiredActor<GatewayActor> gateway, CampaignId campaignId, CancellationToken ct)
    {
        var entries = new List<CorpusEntry>();
        var version = 0;
        while (true)
        {
            if (await Ask(gateway, new CorpusQueries.GetCorpusPage(campaignId, version, entries.Count, 500), ct) is not CorpusQueries.CorpusPage page)
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
        string id, int? timeLimitSeconds, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        if (!CampaignId.TryParse(id, out var campaignId))
        {
            return Problems.NotFound("campaign", id);
        }

        if (timeLimitSeconds is < 10 or > 24 * 3600)
        {
            return Problems.Invalid("timeLimitSeconds", "timeLimitSeconds must be between 10 and 86400");
        }

        var reply = await Ask(gateway, new CampaignCommands.MinimizeCorpus(campaignId, timeLimitSeconds ?? 600), ct);
        return reply is CampaignCommands.JobAdded added
            ? TypedResults.Accepted($"/api/v1/jobs/{added.JobId}", new MinimizationResponse(added.CampaignId.Value, added.JobId.Value))
            : Problems.From(reply, "campaign", id);
    }

    /// <summary>Reads an archive into the blob store and adds its inputs to the campaign's corpus.</summary>
    private static async Task<object> ImportArchive(string path, CampaignId campaign, string source, ContentAddressedStore blobs, IRequiredActor<GatewayActor> gateway, CancellationToken ct)
    {
        CorpusArchive.StagedCorpus staged;
        try
        {
            staged = await CorpusArchive.ImportAsync(path, blobs, source, CorpusArchive.Default, ct);
        }
        catch (InvalidDataException e)
        {
            return Problems.Invalid("body", e.Message);
        }

        using (staged)
        {
            // Blobs first, then the entries that refer to them.
            staged.Commit();
            return await Ask(gateway, new CorpusCommands.AddCorpusEntries(campaign, staged.Entries), ct);
        }
    }
}
