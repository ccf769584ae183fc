using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// <c>pandafuzz db gc</c> beside a running master: it deletes the old blobs nothing refers to and keeps what the journal
/// names (a seeded campaign's corpus inputs), uploaded targets, and any blob younger than the grace period.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class BlobGcTests(TargetBuilder targets) : EndToEndTest
{
    [Fact]
    public Task Gc_deletes_old_unreferenced_blobs_and_keeps_referenced_uploaded_and_young_ones() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: a target, a seed archive and a campaign seeded with it (its inputs are corpus entries), two blobs
            // nothing names (one written long ago, one just now); every blob but the young one made 10 days old.
            var options = Env.NewNodeOptions("master", "master");
            var master = await Env.StartReadyNodeAsync(options, ct);
            using var api = new ApiClient(master.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, targets.NoBug, ct);
            var seeds = new Dictionary<string, byte[]> { ["a"] = Encoding.ASCII.GetBytes("seed-alpha"), ["b"] = Encoding.ASCII.GetBytes("seed-bravo") };
            var archive = await api.UploadCorpusAsync("seeds", CorpusFiles.Zip(seeds), ct);
            var campaign = await FuzzingFlow.CreateCampaignAsync(api, new CampaignRequest("gc", target.Id, DurationSeconds: 600, SeedCorpusId: archive.Id), ct);
            var blobs = Path.Combine(options.DataDir, "blobs");
            var oldGarbage = WriteBlob(blobs, RandomNumberGenerator.GetBytes(1000));
            foreach (var file in BlobFiles(blobs))
            {
                File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddDays(-10));
            }

            var youngGarbage = WriteBlob(blobs, RandomNumberGenerator.GetBytes(1000));
            var seedInputs = seeds.Values.Select(FuzzingFlow.Sha256Hex).ToList();

            // Act: a dry run, then the sweep, beside the running master.
            var dry = await RunGcAsync(options, ["--dry-run"], ct);
            var dryFiles = BlobFiles(blobs).Select(Path.GetFileName).ToList();
            var sweep = await RunGcAsync(options, [], ct);

            // Assert: the old garbage and the old unreferenced seed archive go; the rest stays.
            dry.Should().Contain("2 unreferenced blobs would be deleted");
            dryFiles.Should().Contain([oldGarbage, archive.Id], "a dry run deletes nothing");
            sweep.Should().Contain("2 unreferenced blobs were deleted");
            var left = BlobFiles(blobs).Select(Path.GetFileName).ToList();
            left.Should().NotContain([oldGarbage, archive.Id]);
            left.Should().Contain([target.Id, youngGarbage, .. seedInputs], "the target was uploaded, the inputs are the campaign's corpus, the young blob is in its grace period");
            var corpus = CorpusFiles.ReadZip(await api.DownloadCorpusArchiveAsync(campaign.Id, ct)).Select(f => f.Sha256);
            corpus.Should().Contain(seedInputs, "the campaign's corpus still has every input");
            master.EnsureRunning();
        });

    private async Task<string> RunGcAsync(NodeOptions options, string[] arguments, CancellationToken ct)
    {
        var log = Path.Combine(Env.Root, $"gc-{Guid.NewGuid():N}.log");
        var gc = Env.StartNode(options with { Name = "gc", LogPath = log, Arguments = ["db", "gc", .. arguments] });
        var exit = await gc.WaitForExitAsync(TimeSpan.FromSeconds(60), ct);
        var output = await File.ReadAllTextAsync(log, ct);
        exit.Should().Be(0, output);
        return output;
    }

    private static List<string> BlobFiles(string root) =>
        [.. Directory.EnumerateDirectories(root).Where(d => Path.GetFileName(d).Length == 2).SelectMany(Directory.EnumerateFiles)];

    private static string WriteBlob(string root, byte[] content)
    {
        var sha = FuzzingFlow.Sha256Hex(content);
        Directory.CreateDirectory(Path.Combine(root, sha[..2]));
        File.WriteAllBytes(Path.Combine(root, sha[..2], sha), content);
        return sha;
    }
}
