using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>SIGKILL of an all-in-one node loses nothing recorded: a new node on the same data dir serves it all.</summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class MasterKill9Tests(TargetBuilder targets) : EndToEndTest
{
    [Fact]
    public Task Campaign_jobs_and_crash_survive_a_SIGKILL_of_the_node() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: fuzz until a crash is recorded, and remember what the node said.
            var plantedBug = targets.PlantedBug;
            var firstOptions = Env.NewNodeOptions("node", "master,bot");
            var first = await Env.StartReadyNodeAsync(firstOptions, ct);
            CampaignDetail before;
            CrashSummary crash;
            string inputSha256;
            using (var api = new ApiClient(first.Options.BaseAddress))
            {
                var target = await FuzzingFlow.UploadAsync(api, plantedBug, ct);
                var campaign = await FuzzingFlow.StartCampaignAsync(api, "planted-bug-kill9", target, ct);
                crash = (await FuzzingFlow.WaitForCrashesAsync(api, campaign.Id, first.EnsureRunning, ct))[0];
                inputSha256 = FuzzingFlow.Sha256Hex(await api.GetCrashInputAsync(crash.Id, ct));
                before = await api.GetCampaignAsync(campaign.Id, ct);
                before.Jobs.Should().NotBeNullOrEmpty();
            }

            // Act: SIGKILL, no orphan left, then a new node on the same data dir and ports.
            first.KillHard();
            Env.KillOrphans();
            first.HasExited.Should().BeTrue();
            await FuzzingFlow.WaitForNoFuzzerAsync(Env.Root, ct);

            var second = await Env.StartReadyNodeAsync(
                firstOptions with { Name = "node-restarted", LogPath = Path.Combine(Env.Root, "node-restarted.log") },
                ct);
            using var restartedApi = new ApiClient(second.Options.BaseAddress);

            // Assert: the campaign with its jobs, the crash, and the crash's exact input are all still there.
            var beforeJobIds = before.Jobs!.Select(j => j.Id).ToList();
            var after = await FuzzingFlow.WaitForCampaignAsync(
                restartedApi,
                before.Id,
                "the campaign is back with all its jobs",
                c => c.Jobs is { } jobs && beforeJobIds.All(id => jobs.Any(j => j.Id == id)),
                second.EnsureRunning,
                ct);
            after.Name.Should().Be(before.Name);
            after.TargetId.Should().Be(before.TargetId);

            var crashesAfter = await Eventually.SatisfyAsync(
                $"GET /api/v1/campaigns/{before.Id}/crashes still lists crash {crash.Id}",
                Timeouts.JobState,
                c => restartedApi.GetCampaignCrashesAsync(before.Id, c),
                list => list.Any(c => c.Id == crash.Id),
                ct,
                second.EnsureRunning);
            crashesAfter.Single(c => c.Id == crash.Id).InputSha256.Should().BeEquivalentTo(crash.InputSha256);

            var inputAfter = await restartedApi.GetCrashInputAsync(crash.Id, ct);
            FuzzingFlow.Sha256Hex(inputAfter).Should().Be(inputSha256, "the crash input must survive the SIGKILL byte for byte");
        });
}
