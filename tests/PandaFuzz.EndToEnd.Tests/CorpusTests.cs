using System.Text;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>Seed corpora: uploaded as an archive, given to a campaign, found in its job's corpus and in the corpus download.</summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class CorpusTests(TargetBuilder targets) : EndToEndTest
{
    private const string ProblemJson = "application/problem+json";

    [Fact]
    public Task A_seed_corpus_round_trips_and_the_job_starts_from_it() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: five distinct small inputs.
            var seeds = new Dictionary<string, byte[]>
            {
                ["seed-1"] = Encoding.ASCII.GetBytes("alpha"),
                ["seed-2"] = Encoding.ASCII.GetBytes("PF-bravo"),
                ["dir/seed-3"] = Encoding.ASCII.GetBytes("charlie charlie"),
                ["seed-4"] = [0x00, 0x01, 0x02, 0xff],
                ["seed-5"] = Encoding.ASCII.GetBytes("PFPFPF delta"),
            };
            var seedHashes = seeds.Values.Select(FuzzingFlow.Sha256Hex).ToHashSet();
            seedHashes.Should().HaveCount(5, "the seeds are distinct");
            var noBug = targets.NoBug;
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot"), ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, noBug, ct);

            // Act + assert: a zip and a tar.gz of the same files are both seed corpora of 5 inputs.
            var zip = CorpusFiles.Zip(seeds);
            var zipCorpus = await api.UploadCorpusAsync("seeds-zip", zip, ct);
            zipCorpus.Id.Should().NotBeNullOrWhiteSpace();
            zipCorpus.Name.Should().Be("seeds-zip");
            zipCorpus.Size.Should().Be(zip.LongLength);
            zipCorpus.Entries.Should().Be(5, "the zip holds 5 files");

            var tarGz = CorpusFiles.TarGz(seeds);
            var tarCorpus = await api.UploadCorpusAsync("seeds-tar-gz", tarGz, ct);
            tarCorpus.Entries.Should().Be(5, "the tar.gz holds the same 5 files");
            tarCorpus.Size.Should().Be(tarGz.LongLength);

            // Act + assert: a body that is no archive is refused.
            var notAnArchive = await api.PostBytesRawAsync(
                "api/v1/corpora?name=not-an-archive",
                Encoding.ASCII.GetBytes("this is plain text, neither a zip nor a tar nor a tar.gz archive\n"),
                ct);
            notAnArchive.StatusCode.Should().Be(400, "a body that is no zip, tar or tar.gz is an invalid request; body: {0}", notAnArchive.Body);
            notAnArchive.MediaType.Should().Be(ProblemJson, "errors are problem details; body: {0}", notAnArchive.Body);

            // Act: a campaign seeded with the zip.
            var campaign = await FuzzingFlow.CreateCampaignAsync(
                api,
                new CampaignRequest("seeded", target.Id, Engine: EngineNames.LibFuzzer, Jobs: 1, DurationSeconds: 20, SeedCorpusId: zipCorpus.Id),
                ct);

            // Assert: the job's corpus dir holds the 5 seeds (by content) before long.
            var listed = await Eventually.SatisfyAsync(
                "the campaign lists its job",
                TimeSpan.FromSeconds(10),
                token => api.GetCampaignAsync(campaign.Id, token),
                c => c.Jobs is { Count: 1 },
                ct,
                node.EnsureRunning);
            var jobId = listed.Jobs![0].Id;
            var corpusDir = CorpusFiles.CorpusDir(CorpusFiles.JobDir(node, jobId));
            await Eventually.SatisfyAsync(
                $"the job's corpus dir {corpusDir} holds the 5 seed inputs",
                TimeSpan.FromSeconds(30),
                () => MissingSeeds(CorpusFiles.ReadDirectory(corpusDir), seedHashes),
                missing => missing.Count == 0,
                ct,
                node.EnsureRunning);

            // Assert: the campaign's corpus counts them, and its download holds every one of them.
            var corpus = await api.GetCorpusAsync(campaign.Id, ct);
            corpus.CampaignId.Should().Be(campaign.Id);
            corpus.Count.Should().BeGreaterThanOrEqualTo(5, "the campaign's corpus starts with the 5 seeds");
            corpus.Versions.Should().NotBeEmpty();
            var archive = await api.DownloadCorpusArchiveAsync(campaign.Id, ct);
            var downloaded = CorpusFiles.ReadZip(archive);
            MissingSeeds(downloaded, seedHashes).Should().BeEmpty("the corpus archive holds every seed input");
            downloaded.Should().OnlyContain(f => f.Name == f.Sha256, "the archive's entries are named by the sha256 of their content");

            await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "its 20 s job has completed",
                c => c.Jobs is [var job] && States.Is(job.State, States.Completed),
                node.EnsureRunning,
                ct,
                TimeSpan.FromSeconds(60));
            node.EnsureRunning();

            // Assert: the archive of a corpus that no longer changes is built once and kept; anyone's GET reads that file.
            var first = await api.DownloadCorpusArchiveAsync(campaign.Id, ct);
            var kept = Directory.GetFiles(Path.Combine(node.Options.DataDir, "blobs", "corpus-archives"), $"{campaign.Id}-*.zip").Should().ContainSingle().Subject;
            var builtAt = File.GetLastWriteTimeUtc(kept);
            var again = await api.DownloadCorpusArchiveAsync(campaign.Id, ct);
            again.Should().Equal(first, "the same corpus state is the same archive");
            Directory.GetFiles(Path.Combine(node.Options.DataDir, "blobs", "corpus-archives"), $"{campaign.Id}-*.zip").Should().Equal(kept);
            File.GetLastWriteTimeUtc(kept).Should().Be(builtAt, "the kept archive was served, not built again");
            MissingSeeds(CorpusFiles.ReadZip(again), seedHashes).Should().BeEmpty();
        });

    /// <summary>The seed hashes not among <paramref name="files"/>.</summary>
    private static List<string> MissingSeeds(IEnumerable<CorpusFile> files, IReadOnlySet<string> seedHashes)
    {
        var present = files.Select(f => f.Sha256).ToHashSet();
        return seedHashes.Where(h => !present.Contains(h)).ToList();
    }
}
