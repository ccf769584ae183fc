using FluentAssertions;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.ReadModel.Tests;

/// <summary>Jobs' stats over time in a real database: kept as sampled, read back per step, compacted when old.</summary>
public abstract class StatsStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
    private static readonly CampaignId Campaign = new("000000000001");
    private static readonly CampaignId Other = new("000000000002");
    private static readonly TimeSpan Fine = TimeSpan.FromSeconds(30);

    private readonly ReadModelFile _file;
    private readonly StatsStore _store;

    protected StatsStoreTests(ReadModelStore store)
    {
        _file = new ReadModelFile(store);
        _file.Schema.MigrateUp();
        _store = new ReadModelQueries(_file.Database).Stats;
    }

    public void Dispose() => _file.Dispose();

    private static StatsSample Sample(CampaignId campaign, int job, int seconds, long execs, long coverage) =>
        new(JobId.For(campaign, job), campaign, EngineNames.LibFuzzer,
            new FuzzerStats(execs, execs / Math.Max(seconds, 1), coverage, coverage * 2, 10 + job, 1000, 64, T0.AddSeconds(seconds), Stability: job == 0 ? 0.99 : null,
                Crashes: job, LastFindAt: job == 0 ? T0 : null));

    [Fact]
    public void A_campaigns_series_has_each_jobs_last_sample_per_step_and_reads_back_every_field()
    {
        _store.Append([Sample(Campaign, 0, 0, 100, 5), Sample(Campaign, 0, 30, 400, 7), Sample(Campaign, 1, 31, 50, 3), Sample(Campaign, 0, 45, 600, 8),
            Sample(Other, 0, 30, 999, 99)], Fine);

        var steps = _store.Campaign(Campaign, T0, T0.AddMinutes(1), Fine);

        steps.Select(s => s.At).Should().Equal(T0, T0.AddSeconds(30));
        steps[0].Jobs.Should().ContainSingle().Which.Stats.Should().Be(Sample(Campaign, 0, 0, 100, 5).Stats);
        steps[1].Jobs.Select(j => (j.Job, j.Stats.Execs)).Should().BeEquivalentTo([(JobId.For(Campaign, 0), 600L), (JobId.For(Campaign, 1), 50L)],
            "the job's later sample in the step replaces its earlier one");
        steps[1].Jobs.Single(j => j.Job == JobId.For(Campaign, 0)).Stats.Should().Be(Sample(Campaign, 0, 45, 600, 8).Stats, "every field round-trips");
        _store.Job(JobId.For(Campaign, 1), T0, T0.AddMinutes(1), Fine).Should().ContainSingle();
        _store.Campaign(Campaign, T0.AddSeconds(40), T0.AddMinutes(1), Fine).Single().Jobs.Single().Stats.Execs.Should().Be(600, "from bounds the series");
    }

    [Fact]
    public void A_sample_stored_twice_is_kept_once()
    {
        _store.Append([Sample(Campaign, 0, 0, 100, 5)], Fine);
        _store.Append([Sample(Campaign, 0, 0, 100, 5), Sample(Campaign, 0, 30, 200, 6)], Fine);

        _store.Job(JobId.For(Campaign, 0), T0, T0.AddHours(1), TimeSpan.FromSeconds(1)).Should().HaveCount(2);
    }

    [Fact]
    public void Old_points_are_compacted_to_one_per_coarse_step_and_recent_ones_stay()
    {
        // Twenty minutes of samples every 30 s, then the first ten minutes compacted to 5-minute points.
        _store.Append([.. Enumerable.Range(0, 40).Select(i => Sample(Campaign, 0, i * 30, 100 * i, i))], Fine);

        var removed = _store.Compact(T0.AddMinutes(10), Fine, TimeSpan.FromMinutes(5));

        removed.Should().Be(20);
        var points = _store.Job(JobId.For(Campaign, 0), T0, T0.AddHours(1), TimeSpan.FromSeconds(1));
        points.Should().HaveCount(2 + 20, "two 5-minute points for the first ten minutes, the last twenty samples as they were");
        points.Take(2).Select(p => p.Jobs.Single().Stats.Execs).Should().Equal(900, 1900);
        _store.Compact(T0.AddMinutes(10), Fine, TimeSpan.FromMinutes(5)).Should().Be(0, "compacting again changes nothing");
    }
}

public sealed class StatsStoreTestsOnSqlite() : StatsStoreTests(ReadModelStore.Sqlite);

public sealed class StatsStoreTestsOnPostgreSql() : StatsStoreTests(ReadModelStore.PostgreSql);
