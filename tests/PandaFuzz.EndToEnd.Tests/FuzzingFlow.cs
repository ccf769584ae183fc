using System.Security.Cryptography;
using FluentAssertions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>The steps the end-to-end tests share: upload a target, start a campaign, wait for crashes and fuzzers.</summary>
public static class FuzzingFlow
{
    public static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Uploads a built target and checks the reply: its id is the sha256 of its bytes.</summary>
    public static async Task<TargetInfo> UploadAsync(ApiClient api, BuiltTarget target, CancellationToken cancellationToken)
    {
        var bytes = target.ReadBytes();
        var info = await api.UploadTargetAsync(target.Name, bytes, cancellationToken);
        info.Id.Should().BeEquivalentTo(Sha256Hex(bytes), "a target's id is the sha256 of its bytes");
        info.Name.Should().Be(target.Name);
        info.Size.Should().Be(bytes.LongLength);
        return info;
    }

    /// <summary>Creates a libFuzzer campaign with one job for 120 s and checks the 201 reply.</summary>
    public static async Task<CampaignDetail> StartCampaignAsync(
        ApiClient api, string name, TargetInfo target, CancellationToken cancellationToken)
    {
        var (campaign, location) = await api.CreateCampaignAsync(
            new CampaignRequest(name, target.Id, Engine: "libfuzzer", Jobs: 1, DurationSeconds: 120),
            cancellationToken);
        campaign.Id.Should().NotBeNullOrWhiteSpace();
        campaign.TargetId.Should().BeEquivalentTo(target.Id);
        location.Should().NotBeNull("a created campaign is answered with a Location header");
        location!.OriginalString.Should().Contain(campaign.Id);
        return campaign;
    }

    /// <summary>Creates any campaign and checks the 201 reply: an id, the target, and a Location naming the campaign.</summary>
    public static async Task<CampaignDetail> CreateCampaignAsync(ApiClient api, CampaignRequest request, CancellationToken cancellationToken)
    {
        var (campaign, location) = await api.CreateCampaignAsync(request, cancellationToken);
        campaign.Id.Should().NotBeNullOrWhiteSpace();
        campaign.TargetId.Should().BeEquivalentTo(request.TargetId);
        campaign.Engine.Should().BeEquivalentTo(request.Engine);
        location.Should().NotBeNull("a created campaign is answered with a Location header");
        location!.OriginalString.Should().Contain(campaign.Id);
        return campaign;
    }

    /// <summary>The AFL dictionary (also libFuzzer's -dict format) that lets AFL++ reach planted_bug's "FUZ" prefix.</summary>
    public const string PlantedBugDictionary = "kw=\"FUZ\"\n";

    /// <summary>Polls the campaign's crash list until <paramref name="isSatisfied"/> holds for it, within <paramref name="timeout"/>.</summary>
    public static Task<IReadOnlyList<CrashSummary>> WaitForCrashesAsync(
        ApiClient api,
        string campaignId,
        string condition,
        Func<IReadOnlyList<CrashSummary>, bool> isSatisfied,
        TimeSpan timeout,
        Action guard,
        CancellationToken cancellationToken) =>
        Eventually.SatisfyAsync(
            $"GET /api/v1/campaigns/{campaignId}/crashes: {condition}",
            timeout,
            ct => api.GetCampaignCrashesAsync(campaignId, ct),
            isSatisfied,
            cancellationToken,
            guard,
            interval: TimeSpan.FromMilliseconds(500));

    /// <summary>Polls the campaign's crash list until it has at least one crash, within <see cref="Timeouts.FirstCrash"/>.</summary>
    public static Task<IReadOnlyList<CrashSummary>> WaitForCrashesAsync(
        ApiClient api, string campaignId, Action guard, CancellationToken cancellationToken) =>
        Eventually.SatisfyAsync(
            $"GET /api/v1/campaigns/{campaignId}/crashes lists a crash",
            Timeouts.FirstCrash,
            ct => api.GetCampaignCrashesAsync(campaignId, ct),
            crashes => crashes.Count > 0,
            cancellationToken,
            guard,
            interval: TimeSpan.FromMilliseconds(500));

    /// <summary>Polls the campaign until <paramref name="isSatisfied"/> holds for it.</summary>
    public static Task<CampaignDetail> WaitForCampaignAsync(
        ApiClient api,
        string campaignId,
        string condition,
        Func<CampaignDetail, bool> isSatisfied,
        Action guard,
        CancellationToken cancellationToken,
        TimeSpan? timeout = null) =>
        Eventually.SatisfyAsync(
            $"GET /api/v1/campaigns/{campaignId}: {condition}",
            timeout ?? Timeouts.JobState,
            ct => api.GetCampaignAsync(campaignId, ct),
            isSatisfied,
            cancellationToken,
            guard);

    /// <summary>Waits until some process's command line names <paramref name="directory"/> (a fuzzer of that node runs).</summary>
    public static Task<IReadOnlyList<string>> WaitForFuzzerAsync(string directory, Action guard, CancellationToken cancellationToken) =>
        Eventually.SatisfyAsync(
            $"a fuzzer process runs with {directory} on its command line",
            Timeouts.FuzzerProcess,
            () => ProcessTools.FindByCommandLine(directory),
            processes => processes.Count > 0,
            cancellationToken,
            guard);

    /// <summary>Waits until no process's command line names <paramref name="directory"/> any more.</summary>
    public static Task<IReadOnlyList<string>> WaitForNoFuzzerAsync(string directory, CancellationToken cancellationToken) =>
        Eventually.SatisfyAsync(
            $"no process has {directory} on its command line",
            Timeouts.FuzzerProcess,
            () => ProcessTools.FindByCommandLine(directory),
            processes => processes.Count == 0,
            cancellationToken);

    /// <summary>A <see cref="ProcessTools.FindByCommandLine"/> line ("pid afl-fuzz -i …") of the AFL++ fuzzer itself; its forkserver and fuzzed children are the target, named by its path.</summary>
    public static bool IsAflFuzz(string process) =>
        process.Split(' ', 3) is [_, var program, ..] && Path.GetFileName(program) == "afl-fuzz";

    /// <summary>A <see cref="ProcessTools.FindByCommandLine"/> line ("pid …/target -max_total_time=…") of a libFuzzer run.</summary>
    public static bool IsLibFuzzerRun(string process) => process.Contains(" -max_total_time=", StringComparison.Ordinal);

    /// <summary>Runs the target on a crash input, as a user reproducing it would: <c>./target crashfile</c>.</summary>
    public static async Task<ProcessResult> ReproduceAsync(
        BuiltTarget target, byte[] input, string workDir, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(workDir);
        var crashFile = Path.Combine(workDir, "crash-input");
        await File.WriteAllBytesAsync(crashFile, input, cancellationToken);

        // Working dir = workDir, because libFuzzer writes a crash-<sha1> artifact into it.
        return await ProcessTools.RunAsync(target.Path, [crashFile], Timeouts.Reproduce, cancellationToken, workingDirectory: workDir);
    }
}
