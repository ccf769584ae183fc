using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Builds of a named target over a real master's HTTP API: a campaign by target name fuzzes the newest build unless it
/// pins one, and a rebase moves a running campaign to the newest build, its unfinished jobs replaced there.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class TargetBuildsTests(TargetBuilder targets) : EndToEndTest
{
    [Fact]
    public Task A_campaign_by_name_fuzzes_the_newest_build_and_a_rebase_moves_it_to_the_next() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: a master without bots (jobs wait in the queue), and build 1 of "parser".
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master"), ct);
            using var api = new ApiClient(master.Options.BaseAddress);
            var binary = targets.NoBug.ReadBytes();
            var build1 = await api.UploadBuildAsync("parser", "r1", binary, ct);
            build1.Build.Should().Be(1);
            build1.NewBuild.Should().BeTrue();

            // Act: a campaign by name, then build 2 (another binary: the same program with bytes after its end).
            var campaign = await api.CreateCampaignAsync(new NamedTargetCampaignRequest("by name", "parser", Jobs: 2, DurationSeconds: 600), ct);
            byte[] binary2 = [.. binary, .. "\nbuild 2"u8.ToArray()];
            var build2 = await api.UploadBuildAsync("parser", "r2", binary2, ct);
            var pinned = await api.CreateCampaignAsync(new NamedTargetCampaignRequest("pinned", "parser", Build: 1), ct);

            // Assert: the first campaign took build 1 (the newest then), the pinned one build 1 although 2 exists.
            campaign.TargetName.Should().Be("parser");
            campaign.Build.Should().Be(1);
            campaign.BuildPinned.Should().BeFalse();
            campaign.TargetId.Should().Be(build1.Id);
            build2.Build.Should().Be(2);
            pinned.Build.Should().Be(1);
            pinned.BuildPinned.Should().BeTrue();
            pinned.TargetId.Should().Be(build1.Id);
            (await api.ListBuildsAsync("parser", ct)).Select(b => (b.Number, b.Revision)).Should().Equal((1, "r1"), (2, "r2"));

            // Act: move the running campaign to the newest build.
            var rebased = await api.RebaseCampaignAsync(campaign.Id, ct);

            // Assert: it fuzzes build 2; its two waiting jobs are cancelled and two jobs on build 2 wait instead.
            rebased.Build.Should().Be(2);
            rebased.TargetId.Should().Be(build2.Id);
            rebased.Targets.Should().ContainSingle().Which.Value.Should().Be(build2.Id);
            var moved = await FuzzingFlow.WaitForCampaignAsync(api, campaign.Id, "the jobs on build 1 are cancelled, two wait on build 2",
                c => c.FuzzJobs is { Count: 4 } jobs && jobs.Take(2).All(j => j.State == "cancelled") && jobs.Skip(2).All(j => j.State == "pending"),
                master.EnsureRunning, ct);
            moved.Status.Should().Be("running");
            (await api.RebaseCampaignAsync(campaign.Id, ct)).Jobs.Should().HaveCount(4, "the same build again changes nothing");

            await api.StopCampaignAsync(campaign.Id, ct);
            await api.StopCampaignAsync(pinned.Id, ct);
        });
}
