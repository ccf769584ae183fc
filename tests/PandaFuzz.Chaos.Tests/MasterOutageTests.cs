using FluentAssertions;
using PandaFuzz.EndToEnd.Tests;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Chaos.Tests;

/// <summary>
/// The master is killed while a bot fuzzes and stays away past the job's deadline: the bot keeps fuzzing to the end,
/// buffers what it finds and the job's end, and delivers all of it once the master is back on the same data dir.
/// </summary>
[Collection(ChaosCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class MasterOutageTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    // The outage lasts from the kill (seconds after the first crash) to 10 s past the job's deadline: about 20 s in CI.
    private static readonly int JobSeconds = TestProfile.Pick(ci: 32, longRun: 60);

    [Fact]
    public Task A_master_outage_never_kills_healthy_work_and_everything_buffered_arrives_when_it_is_back() =>
        Env.RunAsync(TimeSpan.FromMinutes(5), async ct =>
        {
            // Arrange: a master and a bot fuzzing the planted bug; the first crash is recorded.
            var masterOptions = Env.NewNodeOptions("master", "master");
            var master = await Env.StartReadyNodeAsync(masterOptions, ct);
            var bot = Env.StartNode(Env.NewNodeOptions("bot", "bot", seeds: master.Options.RemoteEndpoint));
            var api = new ApiClient(master.Options.BaseAddress);
            var botInfo = (await ChaosFlow.WaitForOnlineBotsAsync(api, 1, bot.EnsureRunning, ct))[0];
            var target = await FuzzingFlow.UploadAsync(api, targets.PlantedBug, ct);
            var campaign = await FuzzingFlow.CreateCampaignAsync(
                api, new CampaignRequest("master-outage", target.Id, Jobs: 1, DurationSeconds: JobSeconds), ct);
            var jobId = campaign.Jobs!.Single().Id;
            await FuzzingFlow.WaitForCrashesAsync(api, campaign.Id, () => { master.EnsureRunning(); bot.EnsureRunning(); }, ct);
            var before = await Eventually.SatisfyAsync(
                "the job reports stats", Timeouts.JobStats, c => api.GetJobAsync(jobId, c), j => j.Stats is { Execs: > 0 }, ct, bot.EnsureRunning);
            api.Dispose();

            // Act: SIGKILL the master; it stays away until the job's deadline has passed on the bot.
            master.KillHard();
            var deadline = before.StartedAt!.Value.AddSeconds(JobSeconds);
            await Task.Delay(TimeSpan.FromSeconds(5), ct);
            bot.EnsureRunning();
            (await FuzzingFlow.WaitForFuzzerAsync(bot.Options.DataDir, bot.EnsureRunning, ct))
                .Should().NotBeEmpty("the bot keeps fuzzing while the master is away");
            var wait = deadline - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(10);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }

            bot.EnsureRunning();
            var foundBeforeReturn = BotLog.FoundInputs(bot.Options.LogPath).Count;

            // The master comes back on the same data dir and ports.
            var sinceRestart = System.Diagnostics.Stopwatch.StartNew();
            var restarted = await Env.StartReadyNodeAsync(
                masterOptions with { Name = "master-restarted", LogPath = Path.Combine(Env.Root, "master-restarted.log") }, ct);
            output.WriteLine($"master started again -> ready (joined the bot's cluster): {sinceRestart.Elapsed.TotalSeconds:0.0} s");
            using var restartedApi = new ApiClient(restarted.Options.BaseAddress);
            void BothRunning()
            {
                restarted.EnsureRunning();
                bot.EnsureRunning();
            }

            // Assert: the job ended on its bot, as completed, with the final stats it buffered. The bot's outbox sends at
            // once when it sees the master come up (3 s after ready here); waiting out its backoff took ~50 s.
            var ended = await Eventually.SatisfyAsync(
                "the job's buffered end arrives soon after the master is back: completed on the same bot",
                TimeSpan.FromSeconds(30),
                c => restartedApi.GetJobAsync(jobId, c),
                j => States.Is(j.State, States.Completed),
                ct,
                BothRunning);
            output.WriteLine($"master started again -> the job's buffered end arrived: {sinceRestart.Elapsed.TotalSeconds:0.0} s");
            ended.BotId.Should().Be(botInfo.Id, "the job never moved: the bot kept it through the outage");
            ended.Stats!.Execs.Should().BeGreaterThan(before.Stats!.Execs, "the final stats cover the fuzzing done during the outage");

            // Every crash input the bot found (its log names each one it took from a fuzzer) is counted by the
            // master, each exactly once: the unique crashes' counts add up to the distinct inputs.
            var (crashes, found) = await Eventually.SatisfyAsync(
                "every crash input the bot found is counted once",
                TimeSpan.FromSeconds(90),
                async c => (await restartedApi.GetCampaignCrashesAsync(campaign.Id, c), BotLog.FoundInputs(bot.Options.LogPath)),
                seen => seen.Item1.Sum(u => u.Count ?? 0) == seen.Item2.Count,
                ct,
                BothRunning);
            output.WriteLine($"crash inputs found by the bot: {found.Count} ({foundBeforeReturn} before the master was back); counted by the master: {crashes.Sum(u => u.Count ?? 0)}");
            found.Count.Should().BeGreaterThan(0);
            foreach (var input in found)
            {
                (await restartedApi.GetRawAsync($"api/v1/campaigns/{campaign.Id}/crash-inputs/{input}", ct)).StatusCode
                    .Should().Be(200, $"crash input {input} was found by the bot");
            }

            // The bot list reads the read model, up to about a second behind the bot's entity.
            var bots = await Eventually.SatisfyAsync(
                "the bot is listed online by the restarted master",
                TimeSpan.FromSeconds(15),
                restartedApi.GetBotsAsync,
                list => list.Any(b => b.Id == botInfo.Id && States.Is(b.State, States.Online)),
                ct,
                BothRunning);
            bots.Should().ContainSingle(b => b.Id == botInfo.Id && States.Is(b.State, States.Online), "the bot re-registered with the restarted master");
        });
}
