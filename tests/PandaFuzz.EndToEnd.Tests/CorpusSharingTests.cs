using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>The jobs of a campaign share their inputs through the master: what one engine finds, the other takes in.</summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class CorpusSharingTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    [Fact]
    public Task An_input_found_by_the_libfuzzer_job_reaches_the_aflplusplus_job() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: an ensemble on no_bug (nothing to crash, so both fuzzers run the whole time); 2 jobs need 2 slots.
            Environment.ProcessorCount.Should().BeGreaterThanOrEqualTo(2, "the bot of this test must run both jobs at once");
            var libFuzzerBuild = targets.NoBug;
            var aflBuild = targets.NoBugAfl;
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot"), ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var libFuzzerTarget = await FuzzingFlow.UploadAsync(api, libFuzzerBuild, ct);
            var aflTarget = await FuzzingFlow.UploadAsync(api, aflBuild, ct);
            var builds = new Dictionary<string, string>
            {
                [EngineNames.LibFuzzer] = libFuzzerTarget.Id,
                [EngineNames.AflPlusPlus] = aflTarget.Id,
            };

            // Act
            var (campaign, _) = await api.CreateCampaignAsync(
                new EnsembleCampaignRequest("no-bug-sharing", builds, Jobs: 2, DurationSeconds: 150), ct);
            var running = await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "both jobs are running on a bot",
                c => c.Jobs is { Count: 2 } jobs && jobs.All(j => States.Is(j.State, States.Running) && !string.IsNullOrWhiteSpace(j.BotId)),
                node.EnsureRunning,
                ct,
                timeout: TimeSpan.FromSeconds(60));
            var byIndex = running.Jobs!.ToDictionary(j => j.Index ?? -1);
            var libFuzzerJob = byIndex[0];
            var aflJob = byIndex[1];
            libFuzzerJob.Engine.Should().Be(EngineNames.LibFuzzer, "job 0 takes the first engine");
            aflJob.Engine.Should().Be(EngineNames.AflPlusPlus, "job 1 takes the second engine");
            var libFuzzerCorpus = CorpusFiles.CorpusDir(CorpusFiles.JobDir(node, libFuzzerJob.Id));
            var aflJobDir = CorpusFiles.JobDir(node, aflJob.Id);
            var aflImports = CorpusFiles.AflImportQueue(aflJobDir);

            // Assert: an input libFuzzer found itself (saved under the sha1 of its content) arrives, byte for byte,
            // in the queue AFL++ imports from: libFuzzer → master → AFL++.
            var shared = await Eventually.SatisfyAsync(
                $"a file of job 1's {aflImports} has the bytes of an input job 0 found itself (a sha1-named file of {libFuzzerCorpus})",
                TimeSpan.FromSeconds(90),
                () => SharedInputs(libFuzzerCorpus, aflImports),
                found => found.Shared.Count > 0,
                ct,
                node.EnsureRunning);
            var (queueFile, libFuzzerFile) = shared.Shared[0];
            output.WriteLine($"{DateTimeOffset.UtcNow:O} shared: {shared}; e.g. {queueFile.Name} = {libFuzzerFile.Name}");
            queueFile.Name.Should().MatchRegex(
                "^id:[0-9]{6},sync:pandafuzz,sha:[0-9a-f]{16}$", "afl-fuzz imports only files named like a queue entry");
            queueFile.Name.Should().EndWith("sha:" + queueFile.Sha256[..16], "the import is named by its content's sha256");
            libFuzzerFile.Name.Should().Be(Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(libFuzzerFile.Content)),
                "libFuzzer names the inputs it finds by their sha1");

            // Assert: AFL++ took in at least one of those inputs (fuzzer_stats counts it, rewritten about once a minute).
            var statsFile = CorpusFiles.AflFuzzerStats(aflJobDir);
            long? imported = null;
            try
            {
                var stats = await Eventually.SatisfyAsync(
                    $"{statsFile} shows corpus_imported > 0",
                    TimeSpan.FromSeconds(100),
                    () => CorpusFiles.ReadAflStats(statsFile),
                    s => CorpusFiles.AflStat(s, "corpus_imported") > 0,
                    ct,
                    node.EnsureRunning);
                imported = CorpusFiles.AflStat(stats, "corpus_imported");
            }
            catch (TimeoutException)
            {
                // Not yet written: afl-fuzz rewrites fuzzer_stats when it exits on SIGTERM, which the stop below sends.
            }

            output.WriteLine($"{DateTimeOffset.UtcNow:O} corpus_imported while running: {imported?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "not yet written"}");

            // The job's stats as the API shows them while it runs (the bot polls fuzzer_stats every second, reports every 2 s).
            JobSummary? aflJobWhileRunning = null;
            if (imported is not null)
            {
                aflJobWhileRunning = await Eventually.SatisfyAsync(
                    $"GET /api/v1/jobs/{aflJob.Id}: stats.imported > 0 (fuzzer_stats says corpus_imported : {imported})",
                    TimeSpan.FromSeconds(15),
                    token => api.GetJobAsync(aflJob.Id, token),
                    j => j.Stats is { Imported: > 0 },
                    ct,
                    node.EnsureRunning);
            }

            // Act: stop (unless the campaign already ran out its 150 s).
            var beforeStop = await api.GetCampaignAsync(campaign.Id, ct);
            if (States.Is(beforeStop.Status, States.Running))
            {
                await api.StopCampaignAsync(campaign.Id, ct);
            }

            await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "both jobs have ended",
                c => c.Jobs is { Count: 2 } jobs && jobs.All(j => States.Is(j.State, States.Cancelled) || States.Is(j.State, States.Completed)),
                node.EnsureRunning,
                ct);
            await FuzzingFlow.WaitForNoFuzzerAsync(node.Options.DataDir, ct);

            // Assert: afl-fuzz's final fuzzer_stats counts the imports.
            var finalStats = CorpusFiles.ReadAflStats(statsFile);
            finalStats.Should().NotBeNull("afl-fuzz of job 1 wrote {0}", statsFile);
            CorpusFiles.AflStat(finalStats, "corpus_imported").Should().BeGreaterThan(
                0,
                "AFL++ imported the inputs of job 0 that were written to {0} ({1} files there, {2} of them found by libFuzzer); fuzzer_stats:\n{3}",
                aflImports,
                CorpusFiles.ReadDirectory(aflImports).Count,
                SharedInputs(libFuzzerCorpus, aflImports).Shared.Count,
                string.Join('\n', finalStats!.Select(kv => $"{kv.Key} : {kv.Value}")));

            // Assert: the API's stats of job 1 count the imports too.
            var aflJobAtEnd = await api.GetJobAsync(aflJob.Id, ct);
            var series = await api.GetJobStatsSeriesAsync(aflJob.Id, ct);
            output.WriteLine(
                $"{DateTimeOffset.UtcNow:O} final corpus_imported: {CorpusFiles.AflStat(finalStats, "corpus_imported")}; " +
                $"API job 1 imported: {aflJobAtEnd.Stats?.Imported}; series: [{string.Join(", ", series.Points.Select(p => p.Imported))}]");
            aflJobAtEnd.Stats.Should().NotBeNull();
            aflJobAtEnd.Stats!.Imported.Should().BeGreaterThan(
                0,
                "afl-fuzz's fuzzer_stats says corpus_imported : {0} (while running: {1}; seen by the API while running: {2}), " +
                "so GET /api/v1/jobs/{3} must count imports; its stats: {4}; its stats series' imported: [{5}]",
                CorpusFiles.AflStat(finalStats, "corpus_imported"),
                imported?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "not yet written",
                aflJobWhileRunning?.Stats?.Imported.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "not checked",
                aflJob.Id,
                System.Text.Json.JsonSerializer.Serialize(aflJobAtEnd.Stats),
                string.Join(", ", series.Points.Select(p => p.Imported)));

            // Assert: the campaign's corpus holds the shared inputs.
            var corpus = await api.GetCorpusAsync(campaign.Id, ct);
            corpus.CampaignId.Should().Be(campaign.Id);
            corpus.Count.Should().BePositive("both jobs offered the inputs they found to the campaign's corpus");
            node.EnsureRunning();
        });

    /// <summary>The files of AFL++'s import queue whose bytes are those of an input libFuzzer found itself, with that input.</summary>
    private static SharedObservation SharedInputs(string libFuzzerCorpus, string aflImports)
    {
        var found = CorpusFiles.ReadDirectory(libFuzzerCorpus, CorpusFiles.IsLibFuzzerName)
            .GroupBy(f => f.Sha256)
            .ToDictionary(g => g.Key, g => g.First());
        var queue = CorpusFiles.ReadDirectory(aflImports, name => name.StartsWith("id:", StringComparison.Ordinal));
        var shared = queue.Where(q => found.ContainsKey(q.Sha256)).Select(q => (q, found[q.Sha256])).ToList();
        return new SharedObservation(found.Count, queue.Count, shared);
    }

    private sealed record SharedObservation(int FoundByLibFuzzer, int InAflImportQueue, IReadOnlyList<(CorpusFile Queue, CorpusFile LibFuzzer)> Shared)
    {
        public override string ToString() =>
            $"{FoundByLibFuzzer} inputs found by libFuzzer, {InAflImportQueue} files in AFL++'s import queue, {Shared.Count} shared";
    }
}
