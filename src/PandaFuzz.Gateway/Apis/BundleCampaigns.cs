using PandaFuzz.Infrastructure.Archives;
using PandaFuzz.Infrastructure.Bundles;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>
/// A campaign on a fuzz target of a build bundle: what the target's files beside it give the campaign unless the request
/// says otherwise (its <c>.options</c> file's timeout, memory limit and engine options, its dictionary) and the seed
/// corpus zip put into the campaign's corpus before its first job.
/// </summary>
internal static class BundleCampaigns
{
    /// <summary>The fuzz target the request names in its build's bundle, if the campaign runs one.</summary>
    public static BundleFuzzTarget? TargetOf(CreateCampaignRequest request, TargetBuild? build) =>
        request.FuzzTarget is { } name ? build?.Bundle?.Target(name) : null;

    /// <summary>The request with the target's defaults where it gives none: timeout, memory limit, dictionary.</summary>
    public static async Task<CreateCampaignRequest> WithDefaultsAsync(CreateCampaignRequest request, TargetBuild build, BundleFuzzTarget target, ApiServices api)
    {
        var dictionary = request.Dictionary;
        if (dictionary is null && target.Dictionary is { } path && BundleBlob(build, api) is { } bundle
            && await BundleArchive.ReadFileAsync(bundle, path, CampaignRequestValidator.MaxDictionaryChars, Limits(api), api.Cancellation) is { } bytes)
        {
            dictionary = System.Text.Encoding.UTF8.GetString(bytes);
        }

        return request with
        {
            TimeoutMs = request.TimeoutMs ?? target.TimeoutMs,
            MemoryLimitMb = request.MemoryLimitMb ?? target.MemoryLimitMb,
            Dictionary = dictionary,
        };
    }

    /// <summary>The spec runs the target; the request's engine options win over its <c>.options</c> file's, key by key.</summary>
    public static CampaignSpec Runs(CampaignSpec spec, BundleFuzzTarget target) =>
        spec with { FuzzTarget = target.Path, Options = spec.Options?.Over(target.Options) ?? target.Options };

    /// <summary>Imports the target's seed corpus zip into the campaign's corpus; null when it has none or it went in.</summary>
    public static async Task<object?> SeedAsync(CampaignId campaign, TargetBuild build, BundleFuzzTarget target, ApiServices api)
    {
        if (target.SeedCorpus is not { } path || BundleBlob(build, api) is not { } bundle)
        {
            return null;
        }

        var seeds = Path.Combine(Path.GetTempPath(), $"pandafuzz-seeds-{Guid.NewGuid():N}.zip");
        try
        {
            await using (var file = new FileStream(seeds, FileMode.CreateNew, FileAccess.Write))
            {
                if (!await BundleArchive.CopyFileAsync(bundle, path, file, api.Settings.MaxTargetBytes, Limits(api), api.Cancellation))
                {
                    return null;
                }
            }

            var seeded = await CorporaApi.ImportArchive(seeds, campaign, $"seed corpus ({target.Name})", api);
            return seeded is CorpusCommands.CorpusChanged ? null : seeded;
        }
        finally
        {
            File.Delete(seeds);
        }
    }

    /// <summary>
    /// Why the dictionaries an AFL++ campaign names in its bundle (<c>engineOptions.aflplusplus.x</c>) cannot be used, or
    /// null when the bundle holds each, no larger than a campaign's own dictionary may be.
    /// </summary>
    public static async Task<string?> BundleDictionariesProblemAsync(CampaignSpec spec, TargetBuild? build, BundleFuzzTarget? target, ApiServices api)
    {
        var named = Domain.Engines.EngineOptionRules.AflBundleDictionaries(spec.Options);
        if (named.Count == 0)
        {
            return null;
        }

        if (target is null || build is null || BundleBlob(build, api) is not { } bundle)
        {
            return "names dictionaries inside the campaign's build bundle, and this campaign's build is not a bundle (set its dictionary instead)";
        }

        foreach (var path in named)
        {
            try
            {
                if (await BundleArchive.ReadFileAsync(bundle, path, CampaignRequestValidator.MaxDictionaryChars, Limits(api), api.Cancellation) is null)
                {
                    return $"build {build.Number} of target {spec.TargetName} holds no file '{path}'";
                }
            }
            catch (InvalidDataException e)
            {
                return e.Message;
            }
        }

        return null;
    }

    private static ArchiveLimits Limits(ApiServices api) => BundleArchive.Limits(api.Settings.MaxTargetBytes);

    private static string? BundleBlob(TargetBuild build, ApiServices api) =>
        build.BinaryOf(TargetBinaryKinds.Bundle) is { } binary && api.Blobs.Contains(binary.Binary) ? api.Blobs.PathOf(binary.Binary) : null;
}
