using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Load: 1,000 campaign submissions to a real master on loopback, 100 in flight at a time, within a time bound; every one
/// answered 201, every campaign there afterwards (by id from its entity, and in the read model's paged list). The
/// throughput and latency percentiles go to the test output and to <c>load-test/campaign-submissions.txt</c> beside the
/// test assembly.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
[Trait("Category", "Load")]
public sealed class CampaignSubmissionLoadTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    private const int Submissions = 1_000;
    private const int InFlight = 100;

    // Measured here (2 cores, shared): 10 to 18 s for the 1,000 (54 to 101 a second, bounded by the journal: every
    // SQLite transaction of Akka.Persistence.Sql, reads included, is BEGIN IMMEDIATE and waits for the one write lock).
    // The bound leaves room for a slower CI machine, and still fails a node that stalls.
    private static readonly TimeSpan SubmitBound = TimeSpan.FromSeconds(60);

    // The list reads the read model, which trails the entities by about a second plus its backlog.
    private static readonly TimeSpan ListedBound = TimeSpan.FromSeconds(60);

    [Fact]
    public Task A_thousand_concurrent_campaign_submissions_all_succeed_and_all_campaigns_are_present() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: a master with no bot, so the jobs queue and no fuzzer competes for the CPU; one campaign first
            // so the measured ones do not pay for the first request's JIT and entity start-up.
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master"), ct);
            using var api = new ApiClient(master.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, targets.NoBug, ct);
            var (warmUp, _) = await api.CreateCampaignAsync(new CampaignRequest("load-warm-up", target.Id, DurationSeconds: 60), ct);

            // Act: all submissions, InFlight at a time.
            var latencies = new double[Submissions];
            var ids = new string?[Submissions];
            var errors = new ConcurrentQueue<string>();
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bound.CancelAfter(SubmitBound);
            var wall = Stopwatch.StartNew();
            try
            {
                await Parallel.ForEachAsync(
                    Enumerable.Range(0, Submissions),
                    new ParallelOptions { MaxDegreeOfParallelism = InFlight, CancellationToken = bound.Token },
                    async (i, token) =>
                    {
                        var request = new CampaignRequest($"load-{i.ToString("D4", CultureInfo.InvariantCulture)}", target.Id, DurationSeconds: 60);
                        var watch = Stopwatch.StartNew();
                        try
                        {
                            var (campaign, _) = await api.CreateCampaignAsync(request, token);
                            latencies[i] = watch.Elapsed.TotalMilliseconds;
                            ids[i] = campaign.Id;
                        }
                        catch (Exception e) when (e is ApiException or HttpRequestException || (e is OperationCanceledException && !token.IsCancellationRequested))
                        {
                            // An HttpClient timeout is a TaskCanceledException whose token was not cancelled: an error too.
                            errors.Enqueue($"submission {i}: {e.GetType().Name}: {e.Message}");
                        }
                    });
            }
            catch (OperationCanceledException) when (bound.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"{ids.Count(id => id is not null)} of {Submissions} submissions answered within {SubmitBound.TotalSeconds:0} s; " +
                    $"{errors.Count} errors: {string.Join(" | ", errors.Take(5))}");
            }

            wall.Stop();
            var figures = LoadFigures.From(latencies, wall.Elapsed);
            Report(figures);

            // Assert: no error, one distinct campaign per submission.
            errors.Should().BeEmpty("every submission must be answered 201 Created");
            ids.Should().OnlyContain(id => !string.IsNullOrEmpty(id));
            ids.Distinct().Should().HaveCount(Submissions, "each submission creates its own campaign");
            master.EnsureRunning();

            // Assert: each campaign answers by id (its entity), read back InFlight at a time.
            var missing = new ConcurrentQueue<string>();
            await Parallel.ForEachAsync(
                ids,
                new ParallelOptions { MaxDegreeOfParallelism = InFlight, CancellationToken = ct },
                async (id, token) =>
                {
                    try
                    {
                        var campaign = await api.GetCampaignAsync(id!, token);
                        if (campaign.Id != id)
                        {
                            missing.Enqueue($"{id}: answered as {campaign.Id}");
                        }
                    }
                    catch (ApiException e)
                    {
                        missing.Enqueue($"{id}: {e.Message}");
                    }
                });
            missing.Should().BeEmpty("GET /api/v1/campaigns/{id} must find every created campaign");

            // Assert: the read model's paged list counts them all, the warm-up too, and no more.
            var expected = ids.Append(warmUp.Id).ToHashSet(StringComparer.Ordinal);
            var listed = await Eventually.SatisfyAsync(
                $"GET /api/v1/campaigns, paged, lists all {expected.Count} campaigns",
                ListedBound,
                token => ListAllCampaignIdsAsync(api, token),
                page => page.Total == expected.Count && expected.IsSubsetOf(page.Ids),
                ct,
                master.EnsureRunning,
                interval: TimeSpan.FromSeconds(1));
            listed.Ids.Should().HaveCount(expected.Count, "the pages hold each campaign once");
            master.EnsureRunning();
        });

    /// <summary>Every page of the campaign list (1,000 a page, the maximum); the ids and the X-Total-Count of the last page.</summary>
    private static async Task<(HashSet<string> Ids, int Total)> ListAllCampaignIdsAsync(ApiClient api, CancellationToken cancellationToken)
    {
        const int limit = 1_000;
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var total = 0;
        for (var offset = 0; ; offset += limit)
        {
            var (page, pageTotal) = await api.ListCampaignsPageAsync(limit, offset, cancellationToken);
            total = pageTotal;
            ids.UnionWith(page.Select(c => c.Id));
            if (page.Count < limit)
            {
                return (ids, total);
            }
        }
    }

    private void Report(LoadFigures figures)
    {
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"campaign submissions: {Submissions}, {InFlight} in flight, master only, loopback ({DateTimeOffset.UtcNow:O})")
            .AppendLine(CultureInfo.InvariantCulture, $"total: {figures.Total.TotalSeconds:0.00} s")
            .AppendLine(CultureInfo.InvariantCulture, $"throughput: {figures.PerSecond:0.0} submissions/s")
            .AppendLine(CultureInfo.InvariantCulture, $"latency ms: p50 {figures.P50:0.0}, p90 {figures.P90:0.0}, p99 {figures.P99:0.0}, max {figures.Max:0.0}")
            .ToString();
        output.WriteLine(text);
        var folder = Path.Combine(AppContext.BaseDirectory, "load-test");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "campaign-submissions.txt"), text);
    }

    /// <summary>Throughput and latency percentiles (nearest rank) of the answered submissions.</summary>
    private sealed record LoadFigures(TimeSpan Total, double PerSecond, double P50, double P90, double P99, double Max)
    {
        public static LoadFigures From(double[] latencies, TimeSpan total)
        {
            var sorted = latencies.Where(l => l > 0).Order().ToArray();
            double Rank(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
            return new LoadFigures(total, sorted.Length / total.TotalSeconds, Rank(0.50), Rank(0.90), Rank(0.99), sorted.Length == 0 ? double.NaN : sorted[^1]);
        }
    }
}
