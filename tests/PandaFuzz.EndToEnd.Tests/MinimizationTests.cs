using System.Globalization;
using System.Text;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>Corpus minimization: a job on a bot shrinks the campaign's corpus into a new version that keeps its coverage.</summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class MinimizationTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    private const string ProblemJson = "application/problem+json";

    [Fact]
    public Task Minimization_shrinks_a_redundant_seed_corpus_and_keeps_its_coverage() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: 30 seeds no_bug treats alike (same length, no "PF"): a redundant corpus.
            var seeds = Enumerable.Range(1, 30).ToDictionary(
                i => $"seed-{i:D3}",
                i => Encoding.ASCII.GetBytes("x" + i.ToString("D3", CultureInfo.InvariantCulture)));
            var noBug = targets.NoBug;
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot"), ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, noBug, ct);
            var seedCorpus = await api.UploadCorpusAsync("redundant", CorpusFiles.Zip(seeds), ct);
            seedCorpus.Entries.Should().Be(30);

            // Act + assert: minimizing an unknown campaign's corpus is a 404 problem.
            var unknown = await api.PostEmptyRawAsync($"api/v1/campaigns/{Guid.NewGuid():N}/corpus/minimize?timeLimitSeconds=60", ct);
            unknown.StatusCode.Should().Be(404, "there is no such campaign; body: {0}", unknown.Body);
            unknown.MediaType.Should().Be(ProblemJson, "errors are problem details; body: {0}", unknown.Body);

            // Arrange: a short campaign seeded with them, run to its end.
            var campaign = await FuzzingFlow.CreateCampaignAsync(
                api,
                new CampaignRequest("minimize-me", target.Id, Engine: EngineNames.LibFuzzer, Jobs: 1, DurationSeconds: 5, SeedCorpusId: seedCorpus.Id),
                ct);
            await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "the campaign has completed",
                c => States.Is(c.Status, States.Completed),
                node.EnsureRunning,
                ct,
                TimeSpan.FromSeconds(90));
            var before = await api.GetCorpusAsync(campaign.Id, ct);
            before.Version.Should().Be(1, "nothing has replaced the seeded corpus yet");
            before.Count.Should().BeGreaterThanOrEqualTo(30, "the corpus holds the 30 seeds (and what the job found)");
            var original = Path.Combine(Env.Root, "corpus-v1");
            var originalFiles = CorpusFiles.ExtractZip(await api.DownloadCorpusArchiveAsync(campaign.Id, ct), original);
            originalFiles.Should().HaveCount(before.Count, "the archive holds version 1 of the corpus");

            // Act
            var minimization = await api.MinimizeCorpusAsync(campaign.Id, timeLimitSeconds: 60, ct);
            minimization.CampaignId.Should().Be(campaign.Id);
            minimization.JobId.Should().NotBeNullOrWhiteSpace();

            // Assert: the minimization is a job of its own (of a finished campaign too) that completes.
            var created = await Eventually.SatisfyAsync(
                $"GET /api/v1/jobs/{minimization.JobId} answers 200: the campaign has created its minimization job",
                TimeSpan.FromSeconds(15),
                token => api.GetJobAsync(minimization.JobId, token),
                _ => true,
                ct,
                node.EnsureRunning);
            created.Task.Should().Be(JobTasks.MinimizeCorpus);
            var job = await Eventually.SatisfyAsync(
                $"GET /api/v1/jobs/{minimization.JobId}: the minimization job has ended",
                TimeSpan.FromSeconds(120),
                token => api.GetJobAsync(minimization.JobId, token),
                j => States.Is(j.State, States.Completed) || States.Is(j.State, States.Failed) || States.Is(j.State, States.Cancelled),
                ct,
                node.EnsureRunning,
                interval: TimeSpan.FromSeconds(1));
            job.Task.Should().Be(JobTasks.MinimizeCorpus);
            job.CampaignId.Should().Be(campaign.Id);
            job.State.Should().BeEquivalentTo(States.Completed, "the minimization job must succeed; its failure reason: {0}", job.FailureReason);

            // Assert: version 2 is smaller, and says it was minimized.
            var after = await api.GetCorpusAsync(campaign.Id, ct);
            after.Version.Should().Be(2, "the minimized corpus is a new version");
            after.Count.Should().BeLessThan(before.Count, "30 inputs no_bug treats alike minimize to fewer");
            after.Count.Should().BePositive();
            after.Versions.Select(v => v.Version).Should().Contain([1, 2], "the versions so far are listed");
            var versionOne = after.Versions.Single(v => v.Version == 1);
            var versionTwo = after.Versions.Single(v => v.Version == 2);
            versionOne.Count.Should().Be(before.Count);
            versionTwo.Count.Should().Be(after.Count).And.BeLessThan(versionOne.Count);
            versionTwo.Reason.Should().Contain("minimized");

            var minimized = Path.Combine(Env.Root, "corpus-v2");
            var minimizedFiles = CorpusFiles.ExtractZip(await api.DownloadCorpusArchiveAsync(campaign.Id, ct), minimized);
            minimizedFiles.Should().HaveCount(after.Count, "the archive holds version 2 of the corpus");
            minimizedFiles.Select(f => f.Sha256).Should().BeSubsetOf(
                originalFiles.Select(f => f.Sha256), "minimizing keeps a subset of the original inputs");

            // Assert: the same libFuzzer build reaches the same coverage from both versions.
            var coverageBefore = await CorpusFiles.LibFuzzerCoverageAsync(noBug, original, Path.Combine(Env.Root, "measure-v1"), ct);
            var coverageAfter = await CorpusFiles.LibFuzzerCoverageAsync(noBug, minimized, Path.Combine(Env.Root, "measure-v2"), ct);
            output.WriteLine($"version 1: {versionOne.Count} inputs, {versionOne.Bytes} bytes, '{coverageBefore.Output}'");
            output.WriteLine($"version 2: {versionTwo.Count} inputs, {versionTwo.Bytes} bytes, '{coverageAfter.Output}'; reason: {versionTwo.Reason}");
            (coverageAfter.Cov, coverageAfter.Ft).Should().Be(
                (coverageBefore.Cov, coverageBefore.Ft),
                "the minimized corpus keeps the coverage of the original: '{0}' vs '{1}' (reason: {2})",
                coverageAfter.Output,
                coverageBefore.Output,
                versionTwo.Reason);
            node.EnsureRunning();
        });
}
