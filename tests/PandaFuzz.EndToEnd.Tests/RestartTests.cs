using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// SIGKILL of an all-in-one node in the middle of a campaign: the restarted node keeps every crash, and the job
/// whose bot fell silent is requeued and runs again on the same bot (same data dir, same bot id).
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class RestartTests(TargetBuilder targets) : EndToEndTest
{
    /// <summary>The master's default <c>job-silence-timeout</c> (hocon/master.conf).</summary>
    private static readonly TimeSpan JobSilenceTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Silence timeout, plus the restart, the new assignment and the fuzzer's start.</summary>
    private static readonly TimeSpan JobResumed = JobSilenceTimeout + TimeSpan.FromSeconds(90);

    [Fact]
    public Task A_restarted_node_keeps_earlier_crashes_and_the_job_resumes() =>
        Env.RunAsync(TimeSpan.FromMinutes(6), async ct =>
        {
            // Arrange: a 300 s libFuzzer campaign whose job outlives the restart; fuzz until a crash is recorded.
            var plantedBug = targets.PlantedBug;
            var options = Env.NewNodeOptions("node", "master,bot");
            var first = await Env.StartReadyNodeAsync(options, ct);
            string campaignId;
            JobSummary jobBefore;
            HashSet<string> crashIdsBefore;
            IReadOnlyList<JobStats> samplesBefore;
            using (var api = new ApiClient(first.Options.BaseAddress))
            {
                var target = await FuzzingFlow.UploadAsync(api, plantedBug, ct);
                var campaign = await FuzzingFlow.CreateCampaignAsync(
                    api, new CampaignRequest("planted-bug-restart", target.Id, Engine: EngineNames.LibFuzzer, Jobs: 1, DurationSeconds: 300), ct);
                campaignId = campaign.Id;
                await FuzzingFlow.WaitForCrashesAsync(api, campaignId, first.EnsureRunning, ct);
                var before = await FuzzingFlow.WaitForCampaignAsync(
                    api,
                    campaignId,
                    "its job is running on a bot",
                    c => c.FuzzJobs is [var j] && States.Is(j.State, States.Running) && !string.IsNullOrWhiteSpace(j.BotId),
                    first.EnsureRunning,
                    ct);
                jobBefore = before.FuzzJobs![0];

                // The last look before the kill: every crash id listed here must survive it.
                crashIdsBefore = (await api.GetCampaignCrashesAsync(campaignId, ct)).Select(c => c.Id).ToHashSet();
                crashIdsBefore.Should().NotBeEmpty();

                // And every stats sample of the job stored so far (step=1: each sample its own point).
                samplesBefore = (await Eventually.SatisfyAsync("the job's first stats sample is stored", TimeSpan.FromSeconds(30),
                    token => api.GetJobStatsSeriesAsync(jobBefore.Id, token, "?step=1"), s => s.Points.Count > 0, ct, first.EnsureRunning)).Points;
            }

            // Act: SIGKILL the node and its fuzzers, then start a node on the same data dir and ports.
            first.KillHard();
            Env.KillOrphans();
            first.HasExited.Should().BeTrue();
            await FuzzingFlow.WaitForNoFuzzerAsync(Env.Root, ct);
            var killedAt = DateTimeOffset.UtcNow;

            var second = await Env.StartReadyNodeAsync(
                options with { Name = "node-restarted", LogPath = Path.Combine(Env.Root, "node-restarted.log") },
                ct);
            using var restartedApi = new ApiClient(second.Options.BaseAddress);

            // Assert: every crash recorded before the kill is still listed.
            await FuzzingFlow.WaitForCrashesAsync(
                restartedApi,
                campaignId,
                $"still lists the {crashIdsBefore.Count} crashes seen before the kill",
                list => crashIdsBefore.All(id => list.Any(c => c.Id == id)),
                Timeouts.JobState,
                second.EnsureRunning,
                ct);

            // Assert: the job falls silent, is requeued and runs again on the same bot (a start after the kill), with executions.
            var resumed = await FuzzingFlow.WaitForCampaignAsync(
                restartedApi,
                campaignId,
                $"job {jobBefore.Id} is running again on bot {jobBefore.BotId}, started after the kill, with execs > 0",
                c => c.FuzzJobs is [var j] && j.Id == jobBefore.Id && States.Is(j.State, States.Running) && j.BotId == jobBefore.BotId &&
                     j.StartedAt > killedAt && j.Stats is { Execs: > 0 },
                second.EnsureRunning,
                ct,
                JobResumed);
            var job = await restartedApi.GetJobAsync(jobBefore.Id, ct);
            job.BotId.Should().Be(jobBefore.BotId, "the restarted node has the same bot id, kept in its data dir");
            await FuzzingFlow.WaitForFuzzerAsync(second.Options.DataDir, second.EnsureRunning, ct);

            // Assert: the resumed job reports the bug again (libFuzzer finds planted_bug within seconds of each
            // restart): the same unique crash, counted again, last seen after the kill, by the same job and bot.
            var after = await FuzzingFlow.WaitForCrashesAsync(
                restartedApi,
                campaignId,
                "a crash reported again by the resumed job after the kill",
                list => list.Any(c => crashIdsBefore.Contains(c.Id) && c.LastSeen > killedAt),
                Timeouts.FirstCrash,
                second.EnsureRunning,
                ct);
            after.Select(c => c.Id).Should().BeEquivalentTo(crashIdsBefore, "the same bug found again is the same unique crash");
            var again = after.First(c => c.LastSeen > killedAt);
            again.Count.Should().BeGreaterThan(1);
            var detail = await restartedApi.GetCrashAsync(again.Id, ct);
            detail.Count.Should().Be(again.Count);
            resumed.FuzzJobs![0].Stats!.Execs.Should().BePositive();

            // Stats that last: the samples stored before the kill are all there after it, as they were.
            var samplesAfter = (await restartedApi.GetJobStatsSeriesAsync(jobBefore.Id, ct, "?step=1")).Points;
            samplesAfter.Where(p => p.UpdatedAt <= samplesBefore[^1].UpdatedAt).Should().Equal(samplesBefore, "the series is stored, not held in memory");

            // And once the campaign is stopped, the series ends with its cancelled job's last figures.
            await restartedApi.StopCampaignAsync(campaignId, ct);
            var stopped = await FuzzingFlow.WaitForCampaignAsync(restartedApi, campaignId, "stopped, its job cancelled with its last figures",
                c => c.Status == "stopped" && c.FuzzJobs is [{ Stats: { Execs: > 0 } }], second.EnsureRunning, ct);
            var lastFigures = stopped.FuzzJobs![0].Stats!;
            await Eventually.SatisfyAsync("the job's series ends with its last figures", TimeSpan.FromSeconds(30),
                token => restartedApi.GetJobStatsSeriesAsync(jobBefore.Id, token, "?step=1"),
                s => s.Points.Count > 0 && s.Points[^1].Execs == lastFigures.Execs, ct, second.EnsureRunning);

            // The campaign's series sums its jobs' (a crash minimization job's too) per 30 s step, from before the kill on.
            var series = await restartedApi.GetCampaignStatsSeriesAsync(campaignId, ct);
            series.Points.Select(p => p.UpdatedAt).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
            series.Points[0].UpdatedAt.Should().BeOnOrBefore(samplesBefore[0].UpdatedAt!.Value, "the campaign's series starts before the kill");

            // Act: once the ended campaign's series is written in full (two reads a flush apart agree), kill -9 the
            // master again and restart it.
            IReadOnlyList<JobStats>? previous = null;
            var ended = (await Eventually.SatisfyAsync("the ended campaign's series no longer changes", TimeSpan.FromSeconds(30),
                async token =>
                {
                    var read = (await restartedApi.GetCampaignStatsSeriesAsync(campaignId, token)).Points;
                    var settled = previous is not null && read.SequenceEqual(previous);
                    previous = read;
                    return (Points: read, Settled: settled);
                },
                r => r.Settled, ct, second.EnsureRunning, interval: TimeSpan.FromSeconds(2.5))).Points;
            second.KillHard();
            Env.KillOrphans();
            var third = await Env.StartReadyNodeAsync(options with { Name = "node-restarted-again", LogPath = Path.Combine(Env.Root, "node-restarted-again.log") }, ct);
            using var thirdApi = new ApiClient(third.Options.BaseAddress);

            // Assert: a finished campaign's series is the same after a master's kill -9 and restart, point for point.
            (await thirdApi.GetCampaignStatsSeriesAsync(campaignId, ct)).Points.Should().Equal(ended);
        });
}
