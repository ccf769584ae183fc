using System.Diagnostics;
using FluentAssertions;
using PandaFuzz.EndToEnd.Tests;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Chaos.Tests;

/// <summary>
/// Two master nodes sharing one PostgreSQL database (journal, snapshots, read model) and one blob store, and a bot.
/// One master is killed with SIGKILL while campaigns run: the sharded entities it hosted recover from the journal on
/// the other master, every campaign runs to its end, and the surviving master takes new work.
/// </summary>
[Collection(ChaosCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class TwoMastersTests(TargetBuilder targets, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Campaigns = 4;
    private readonly EndToEndEnvironment _env = new();
    private TestPostgresDatabase? _database;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _env.DisposeAsync();
        _database?.Dispose();
    }

    [Fact]
    public Task A_killed_masters_entities_recover_on_the_other_master_and_every_campaign_ends() =>
        _env.RunAsync(TimeSpan.FromMinutes(6), async ct =>
        {
            // Arrange: masters A and B on one PostgreSQL database and one blob dir, a bot that knows both.
            _database = new TestPostgresDatabase();
            var blobs = Path.Combine(_env.Root, "shared-blobs");
            NodeOptions Master(string name, string seeds = "") =>
                _env.NewNodeOptions(name, "master", seeds) with { Postgres = _database.ConnectionString, BlobDir = blobs };
            var a = await _env.StartReadyNodeAsync(Master("master-a"), ct);
            var b = await _env.StartReadyNodeAsync(Master("master-b", seeds: a.Options.RemoteEndpoint), ct);
            var bot = _env.StartNode(_env.NewNodeOptions("bot", "bot", seeds: $"{a.Options.RemoteEndpoint},{b.Options.RemoteEndpoint}"));
            void AliveB()
            {
                b.EnsureRunning();
                bot.EnsureRunning();
            }

            void AllAlive()
            {
                a.EnsureRunning();
                AliveB();
            }

            using var apiA = new ApiClient(a.Options.BaseAddress);
            using var apiB = new ApiClient(b.Options.BaseAddress);
            await ChaosFlow.WaitForOnlineBotsAsync(apiA, 1, AllAlive, ct);

            // Campaigns created through A: their entities spread over both masters' shards. The bot has two slots,
            // so two jobs run while two wait in the queue.
            var target = await FuzzingFlow.UploadAsync(apiA, targets.NoBug, ct);
            var created = new List<CampaignDetail>();
            for (var i = 0; i < Campaigns; i++)
            {
                created.Add(await FuzzingFlow.CreateCampaignAsync(apiA, new CampaignRequest($"two-masters-{i}", target.Id, Jobs: 1, DurationSeconds: 20), ct));
            }

            await Eventually.SatisfyAsync(
                "two jobs run on the bot",
                Timeouts.JobStats,
                c => JobsAsync(apiA, created, c),
                jobs => jobs.Count(j => States.Is(j.State, States.Running)) == 2,
                ct,
                AllAlive);

            // Act: SIGKILL master A.
            var sinceKill = Stopwatch.StartNew();
            using (var process = Process.GetProcessById(a.Pid))
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(ct);
            }

            // Assert: B answers for every campaign, and each runs to its end on the bot.
            var ended = await Eventually.SatisfyAsync(
                "every campaign completes through master B",
                TimeSpan.FromMinutes(3),
                c => CampaignsAsync(apiB, created, c),
                list => list.All(x => States.Is(x.Status, States.Completed)),
                ct,
                AliveB,
                interval: TimeSpan.FromSeconds(1));
            output.WriteLine($"master A SIGKILL -> all {Campaigns} campaigns completed through B: {sinceKill.Elapsed.TotalSeconds:0.0} s");
            foreach (var campaign in ended)
            {
                var job = campaign.Jobs!.Should().ContainSingle().Subject;
                States.Is(job.State, States.Completed).Should().BeTrue($"job {job.Id} ends completed, not {job.State} ({job.FailureReason})");
                job.BotId.Should().NotBeNull();
            }

            // B takes new work: its scheduler (the singleton moved there) runs a campaign created after the kill.
            var late = await FuzzingFlow.CreateCampaignAsync(apiB, new CampaignRequest("two-masters-late", target.Id, Jobs: 1, DurationSeconds: 5), ct);
            await FuzzingFlow.WaitForCampaignAsync(
                apiB, late.Id, "completed", x => States.Is(x.Status, States.Completed), AliveB, ct, TimeSpan.FromMinutes(2));
            output.WriteLine($"a campaign created on B after the kill completed: {sinceKill.Elapsed.TotalSeconds:0.0} s after the kill");

            // The read model (projected by whichever master holds its lock) lists them all.
            await Eventually.SatisfyAsync(
                "the campaigns list of B shows every campaign completed",
                TimeSpan.FromSeconds(60),
                apiB.ListCampaignsAsync,
                list => created.Append(late).All(c => list.Any(x => x.Id == c.Id && States.Is(x.Status, States.Completed))),
                ct,
                AliveB);
        });

    private static async Task<IReadOnlyList<CampaignDetail>> CampaignsAsync(ApiClient api, IEnumerable<CampaignDetail> campaigns, CancellationToken ct)
    {
        var list = new List<CampaignDetail>();
        foreach (var campaign in campaigns)
        {
            list.Add(await api.GetCampaignAsync(campaign.Id, ct));
        }

        return list;
    }

    private static async Task<IReadOnlyList<JobSummary>> JobsAsync(ApiClient api, IEnumerable<CampaignDetail> campaigns, CancellationToken ct) =>
        [.. (await CampaignsAsync(api, campaigns, ct)).SelectMany(c => c.Jobs ?? [])];
}
