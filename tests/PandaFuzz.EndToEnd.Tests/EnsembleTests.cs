using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>An ensemble campaign: one build per engine, the jobs take the engines in turn.</summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class EnsembleTests(TargetBuilder targets) : EndToEndTest
{
    [Fact]
    public Task An_ensemble_campaign_runs_one_job_per_engine() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: one node with both roles; the bot has one slot per core, so it needs 2 cores for 2 jobs.
            Environment.ProcessorCount.Should().BeGreaterThanOrEqualTo(2, "the bot of this test must run both jobs at once");
            var libFuzzerBuild = targets.PlantedBug;
            var aflBuild = targets.PlantedBugAfl;
            // libFuzzer as the bot runs it by default, -fork, beside afl-fuzz.
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot") with
            {
                Environment = new Dictionary<string, string> { [NodeProcess.LibFuzzerFork] = "on" },
            }, ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var libFuzzerTarget = await FuzzingFlow.UploadAsync(api, libFuzzerBuild, ct);
            var aflTarget = await FuzzingFlow.UploadAsync(api, aflBuild, ct);
            var builds = new Dictionary<string, string>
            {
                [EngineNames.LibFuzzer] = libFuzzerTarget.Id,
                [EngineNames.AflPlusPlus] = aflTarget.Id,
            };

            // Act
            var (created, location) = await api.CreateCampaignAsync(
                new EnsembleCampaignRequest("planted-bug-ensemble", builds, Jobs: 2, DurationSeconds: 120,
                    Dictionary: FuzzingFlow.PlantedBugDictionary),
                ct);

            // Assert: the reply echoes both builds.
            location.Should().NotBeNull();
            location!.OriginalString.Should().Contain(created.Id);
            created.Targets.Should().BeEquivalentTo(builds, "the campaign's targets are the builds per engine it was given");
            var fetched = await api.GetCampaignAsync(created.Id, ct);
            fetched.Targets.Should().BeEquivalentTo(builds, "GET answers the same targets as the creation");

            // Assert: both jobs run on the bot, each GET /jobs/{id} naming it.
            var running = await FuzzingFlow.WaitForCampaignAsync(
                api,
                created.Id,
                "both jobs are running on a bot",
                c => c.FuzzJobs is { Count: 2 } jobs && jobs.All(j => States.Is(j.State, States.Running) && !string.IsNullOrWhiteSpace(j.BotId)),
                node.EnsureRunning,
                ct,
                timeout: TimeSpan.FromSeconds(60));
            foreach (var job in running.FuzzJobs!)
            {
                var detail = await api.GetJobAsync(job.Id, ct);
                detail.CampaignId.Should().Be(created.Id);
                detail.BotId.Should().NotBeNullOrWhiteSpace().And.Be(job.BotId);
            }

            // Assert: job 0 runs libFuzzer on the libFuzzer build, job 1 afl-fuzz on the AFL++ build (their work dirs are named by job id).
            var byIndex = running.FuzzJobs!.ToDictionary(j => j.Index ?? -1);
            byIndex.Keys.Should().BeEquivalentTo([0, 1], "a campaign's jobs are numbered from 0");
            var libFuzzerJob = byIndex[0];
            var aflJob = byIndex[1];
            libFuzzerJob.Engine.Should().Be(EngineNames.LibFuzzer, "job 0 takes the first engine");
            aflJob.Engine.Should().Be(EngineNames.AflPlusPlus, "job 1 takes the second engine");
            // libFuzzer exits at each finding and the bot starts it again a second later; with the dictionary it finds the
            // planted bug within a fraction of a second, so one poll can fall between two runs. Every poll's processes count.
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var processes = await Eventually.SatisfyAsync(
                "one afl-fuzz and one libFuzzer run were among the node's processes",
                Timeouts.FuzzerProcess,
                _ =>
                {
                    seen.UnionWith(ProcessTools.FindByCommandLine(node.Options.DataDir));
                    return Task.FromResult(seen.ToList());
                },
                list => list.Any(FuzzingFlow.IsAflFuzz) && list.Any(FuzzingFlow.IsLibFuzzerRun),
                ct,
                node.EnsureRunning,
                interval: TimeSpan.FromMilliseconds(100));
            processes.Where(FuzzingFlow.IsAflFuzz).Should().OnlyContain(p => p.Contains(aflJob.Id, StringComparison.Ordinal), "job 1 takes the second engine, aflplusplus");
            processes.Where(FuzzingFlow.IsLibFuzzerRun).Should().OnlyContain(p => p.Contains(libFuzzerJob.Id, StringComparison.Ordinal), "job 0 takes the first engine, libfuzzer");

            // Assert: a crash is found by one of the jobs.
            var crashes = await FuzzingFlow.WaitForCrashesAsync(
                api, created.Id, "lists a crash", list => list.Count > 0, Timeouts.AflFirstCrash, node.EnsureRunning, ct);
            crashes[0].JobId.Should().BeOneOf(libFuzzerJob.Id, aflJob.Id);
            (await api.GetCrashAsync(crashes[0].Id, ct)).Kind.Should().Be("Heap-buffer-overflow WRITE 1");

            // Assert: the planted bug found by libFuzzer and by AFL++ (their builds' stacks differ in the driver's frames)
            // is one bug, reported by both jobs.
            var bugs = await Eventually.SatisfyAsync("both engines reported the planted bug", Timeouts.AflFirstCrash,
                token => api.GetCampaignBugsAsync(created.Id, token),
                list => list.SelectMany(b => b.Jobs ?? []).Distinct().Count() == 2, ct, node.EnsureRunning);
            var bug = bugs.Should().ContainSingle("one bug, whichever engine found it").Subject;
            bug.Jobs.Should().BeEquivalentTo([libFuzzerJob.Id, aflJob.Id]);
            bug.Location.Should().Be("planted_bug.c:21", "the write of tests/targets/planted_bug.c");

            // Act
            await api.StopCampaignAsync(created.Id, ct);

            // Assert: both jobs end and both fuzzers are gone.
            await FuzzingFlow.WaitForCampaignAsync(
                api,
                created.Id,
                "both jobs are cancelled (or had completed)",
                c => c.FuzzJobs is { Count: 2 } jobs && jobs.All(j => States.Is(j.State, States.Cancelled) || States.Is(j.State, States.Completed)),
                node.EnsureRunning,
                ct);
            await FuzzingFlow.WaitForNoFuzzerAsync(node.Options.DataDir, ct);
            node.EnsureRunning();
        });
}
