using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Answers stay small however long the queue: with 10,000 pending jobs (a master with no bot), a page of <c>GET /queue</c>
/// and a campaign's own answer stay under 100 KB, say how many there are in all and link to the next page.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class BoundedAnswersTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    private const int Campaigns = 40;
    private const int JobsEach = 250;
    private const int PendingJobs = Campaigns * JobsEach;
    private const int MaxPageBytes = 100 * 1024;

    [Fact]
    public Task Queue_and_campaign_answers_with_ten_thousand_pending_jobs_are_pages_under_100_KB() =>
        Env.RunAsync(TimeSpan.FromMinutes(8), async ct =>
        {
            // Arrange: 10,000 jobs wait, for no bot is there to run them.
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master"), ct);
            using var api = new ApiClient(master.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, targets.NoBug, ct);
            var clock = Stopwatch.StartNew();
            var campaigns = new string[Campaigns];
            await Parallel.ForEachAsync(Enumerable.Range(0, Campaigns), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (i, token) =>
            {
                var (campaign, _) = await api.CreateCampaignAsync(new CampaignRequest($"queued-{i}", target.Id, Jobs: JobsEach, DurationSeconds: 60), token);
                campaigns[i] = campaign.Id;
            });
            output.WriteLine($"{Campaigns} campaigns of {JobsEach} jobs submitted in {clock.Elapsed.TotalSeconds:0.0} s");
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = master.Options.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiClient.TestToken);
            await Eventually.SatisfyAsync($"the scheduler holds all {PendingJobs} jobs", TimeSpan.FromMinutes(4),
                token => GetAsync(http, "api/v1/queue?limit=1", token), page => page.Total == PendingJobs, ct, master.EnsureRunning, interval: TimeSpan.FromSeconds(1));
            await Eventually.SatisfyAsync($"the read model holds all {PendingJobs} jobs", TimeSpan.FromMinutes(2),
                token => GetAsync(http, "api/v1/jobs?status=pending&limit=1", token), page => page.Total == PendingJobs, ct, master.EnsureRunning, interval: TimeSpan.FromSeconds(1));
            output.WriteLine($"all {PendingJobs} jobs queued and projected after {clock.Elapsed.TotalSeconds:0.0} s");

            // Act
            var first = await TimedAsync(http, "api/v1/queue", ct);
            var last = await TimedAsync(http, $"api/v1/queue?offset={PendingJobs - 100}", ct);
            var campaign = await TimedAsync(http, $"api/v1/campaigns/{campaigns[0]}", ct);
            var nextJobs = await TimedAsync(http, $"api/v1/campaigns/{campaigns[0]}?jobsOffset=200", ct);

            // Assert: pages of 100, small, counted, linked; the entries carry what the read model knows of each job.
            foreach (var page in new[] { first, last, campaign, nextJobs })
            {
                page.Bytes.Should().BeLessThan(MaxPageBytes, "{0} is one page", page.Path);
            }

            first.Total.Should().Be(PendingJobs);
            Positions(first.Body).Should().Equal(Enumerable.Range(1, 100));
            first.Link.Should().Contain("rel=\"next\"").And.Contain("offset=100");
            using (var json = JsonDocument.Parse(first.Body))
            {
                json.RootElement.GetProperty("total").GetInt32().Should().Be(PendingJobs);
                json.RootElement.GetProperty("pending").EnumerateArray()
                    .Should().OnlyContain(e => e.GetProperty("campaignId").GetString() != null && e.GetProperty("engine").GetString() == "libfuzzer");
            }

            Positions(last.Body).Should().Equal(Enumerable.Range(PendingJobs - 99, 100));
            last.Link.Should().NotContain("rel=\"next\"").And.Contain("rel=\"prev\"");
            using (var json = JsonDocument.Parse(campaign.Body))
            {
                json.RootElement.GetProperty("jobsTotal").GetInt32().Should().Be(JobsEach);
                json.RootElement.GetProperty("jobs").GetArrayLength().Should().Be(100);
            }

            using (var json = JsonDocument.Parse(nextJobs.Body))
            {
                json.RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("index").GetInt32()).Should().Equal(Enumerable.Range(200, JobsEach - 200));
            }

            var bad = await http.GetAsync("api/v1/queue?limit=0", ct);
            ((int)bad.StatusCode).Should().Be(400);
            (await bad.Content.ReadAsStringAsync(ct)).Should().Contain("limit");
        });

    private async Task<PageAnswer> TimedAsync(HttpClient http, string path, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var page = await GetAsync(http, path, ct);
        output.WriteLine($"GET {path}: {page.Bytes} bytes in {clock.Elapsed.TotalMilliseconds:0} ms");
        return page;
    }

    private static async Task<PageAnswer> GetAsync(HttpClient http, string path, CancellationToken ct)
    {
        using var response = await http.GetAsync(path, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new ApiException($"GET {path}: {(int)response.StatusCode} {body}", response.StatusCode);
        }

        var total = response.Headers.TryGetValues("X-Total-Count", out var counts) ? long.Parse(counts.Single(), CultureInfo.InvariantCulture) : -1;
        var link = response.Headers.TryGetValues("Link", out var links) ? string.Join(", ", links) : "";
        return new PageAnswer(path, body, System.Text.Encoding.UTF8.GetByteCount(body), total, link);
    }

    private static List<int> Positions(string body)
    {
        using var json = JsonDocument.Parse(body);
        return [.. json.RootElement.GetProperty("pending").EnumerateArray().Select(e => e.GetProperty("position").GetInt32())];
    }

    private sealed record PageAnswer(string Path, string Body, int Bytes, long Total, string Link);
}
