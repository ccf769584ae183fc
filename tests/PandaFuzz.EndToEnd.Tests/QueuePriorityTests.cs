using System.Text;
using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Priorities and clones through the API on a real node: while two campaigns wait for the one slot another holds, the
/// queue lists the higher priority's job first with the held job's end as its ETA, a PATCH turns the order round, and the
/// freed slot goes to the job listed first; a clone on the target's newer build keeps the settings and takes the corpus.
/// The simulated engine fuzzes (no target runs): the scheduler and the API are what is under test.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class QueuePriorityTests : EndToEndTest
{
    [Fact]
    public Task A_higher_priority_gets_the_free_slot_first_the_queue_shows_it_and_a_clone_keeps_the_settings() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: one slot, held by a long campaign.
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot") with
            {
                Environment = new Dictionary<string, string>
                {
                    ["PANDAFUZZ__pandafuzz__bot__simulation__enabled"] = "on",
                    ["PANDAFUZZ__pandafuzz__bot__slots"] = "1",
                },
            }, ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            await Eventually.SatisfyAsync("the bot is online", Timeouts.BotOnline, api.GetBotsAsync,
                list => list.Count == 1 && States.Is(list[0].State, States.Online), ct, node.EnsureRunning);
            var target = await api.UploadBuildAsync("sim", "r1",
                Encoding.UTF8.GetBytes("pandafuzz-simulated-target\nexecs-per-second = 1000\ncrashes-per-minute = 0\nsignatures = 1\n"), ct);
            var holder = await CreateAsync(api, "holder", target.Id, 1, null, ct);
            await FuzzingFlow.WaitForCampaignAsync(api, holder, "its job holds the slot",
                c => c.FuzzJobs is [var j] && States.Is(j.State, States.Running), node.EnsureRunning, ct);

            // Act: a campaign of priority 1 queues first, then one of priority 5.
            var low = await CreateAsync(api, "low", target.Id, 2, null, ct);
            var high = await CreateAsync(api, "high", target.Id, 1, 5, ct);
            JsonDocument.Parse((await api.GetRawAsync($"api/v1/campaigns/{high}", ct)).Body).RootElement.GetProperty("priority").GetInt32().Should().Be(5);

            // Assert: the queue lists the higher priority's job first, its ETA the held job's planned end.
            var queue = await Eventually.SatisfyAsync("the queue holds the three waiting jobs", TimeSpan.FromSeconds(30),
                token => QueueAsync(api, token), q => q.Count == 3, ct, node.EnsureRunning);
            queue.Select(e => e.CampaignId).Should().Equal(high, low, low);
            queue[0].Eta.Should().NotBeNull("the first in line waits for the held job's end");

            // Act: the low campaign's priority rises above the other's.
            var patched = await api.PatchJsonRawAsync($"api/v1/campaigns/{low}", new { priority = 10 }, ct);
            patched.StatusCode.Should().Be(200, patched.Body);
            JsonDocument.Parse(patched.Body).RootElement.GetProperty("priority").GetInt32().Should().Be(10);
            var refused = await api.PatchJsonRawAsync($"api/v1/campaigns/{low}", new { priority = 0 }, ct);
            refused.StatusCode.Should().Be(400);
            refused.Body.Should().Contain("priority");

            // Assert: the queue turns round at once, and the slot the holder frees goes to the job listed first.
            (await QueueAsync(api, ct)).Select(e => e.CampaignId).Should().Equal(low, high, low);
            await api.StopCampaignAsync(holder, ct);
            await FuzzingFlow.WaitForCampaignAsync(api, low, "its first job took the freed slot",
                c => c.FuzzJobs!.Any(j => States.Is(j.State, States.Running) || States.Is(j.State, "assigned")), node.EnsureRunning, ct);
            (await api.GetCampaignAsync(high, ct)).FuzzJobs!.Should().OnlyContain(j => States.Is(j.State, States.Pending), "one slot, and it went to the other campaign");

            // Act: seeds into the low campaign's corpus, a newer build of the target, and a clone of the campaign on it.
            (await api.PostBytesRawAsync($"api/v1/campaigns/{low}/corpus", CorpusFiles.Zip(new Dictionary<string, byte[]>
            {
                ["a"] = "alpha"u8.ToArray(), ["b"] = "bravo"u8.ToArray(), ["c"] = "charlie"u8.ToArray(),
            }), ct)).StatusCode.Should().BeInRange(200, 299);
            var newer = await api.UploadBuildAsync("sim", "r2",
                Encoding.UTF8.GetBytes("pandafuzz-simulated-target\nexecs-per-second = 2000\ncrashes-per-minute = 0\nsignatures = 1\n"), ct);
            var source = await api.GetCorpusAsync(low, ct);
            var cloned = await api.PostJsonRawAsync($"api/v1/campaigns/{low}/clone", new { newestBuild = true }, ct);

            // Assert: a new campaign with the same settings on build 2, its corpus the source's.
            cloned.StatusCode.Should().Be(201, cloned.Body);
            var clone = JsonDocument.Parse(cloned.Body).RootElement;
            var cloneId = clone.GetProperty("id").GetString()!;
            cloneId.Should().NotBe(low);
            clone.GetProperty("clonedFrom").GetString().Should().Be(low);
            clone.GetProperty("name").GetString().Should().Be("low-clone");
            clone.GetProperty("build").GetInt32().Should().Be(newer.Build);
            clone.GetProperty("targetId").GetString().Should().Be(newer.Id);
            clone.GetProperty("jobCount").GetInt32().Should().Be(2);
            clone.GetProperty("durationSeconds").GetInt32().Should().Be(600);
            clone.GetProperty("priority").GetInt32().Should().Be(10);
            (await api.GetCorpusAsync(cloneId, ct)).Count.Should().Be(source.Count).And.BeGreaterThanOrEqualTo(3);
            (await api.PostJsonRawAsync($"api/v1/campaigns/{low}/clone", new { build = 9 }, ct)).StatusCode.Should().Be(404, "no build 9");

            foreach (var campaign in new[] { low, high, cloneId })
            {
                await api.StopCampaignAsync(campaign, ct);
            }
        });

    private static async Task<string> CreateAsync(ApiClient api, string name, string targetId, int jobs, int? priority, CancellationToken ct)
    {
        var created = await api.PostJsonRawAsync("api/v1/campaigns",
            priority is null
                ? new { name, targetId, engine = "simulated", jobs, durationSeconds = 600 }
                : (object)new { name, targetId, engine = "simulated", jobs, durationSeconds = 600, priority },
            ct);
        created.StatusCode.Should().Be(201, created.Body);
        return JsonDocument.Parse(created.Body).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<List<(string CampaignId, DateTimeOffset? Eta)>> QueueAsync(ApiClient api, CancellationToken ct) =>
        [.. JsonDocument.Parse((await api.GetRawAsync("api/v1/queue", ct)).Body).RootElement.GetProperty("pending").EnumerateArray()
            .Select(e => (e.GetProperty("campaignId").GetString()!, e.GetProperty("eta").ValueKind == JsonValueKind.Null ? (DateTimeOffset?)null : e.GetProperty("eta").GetDateTimeOffset()))];
}
