using System.Data.Common;
using PandaFuzz.Protocol;

namespace PandaFuzz.ReadModel;

/// <summary>One job's stats at one time, as the master sampled them.</summary>
public sealed record StatsSample(JobId Job, CampaignId Campaign, string Engine, FuzzerStats Stats);

/// <summary>One point of a series: the jobs' latest stats in a step, each job's own (sum them for a campaign's).</summary>
public sealed record StatsStep(DateTimeOffset At, IReadOnlyList<(JobId Job, string Engine, FuzzerStats Stats)> Jobs);

/// <summary>
/// Every job's stats over time, in the read model's database: appended by the master as it samples them (one point per
/// sampling interval), compacted to one point per coarser step once old, and read back for any campaign, running or
/// finished, after restarts. Stats are not journal events: the projection neither writes nor rebuilds this table.
/// </summary>
public sealed class StatsStore(ReadModelDatabase database)
{
    private const string Columns =
        "job_id, campaign_id, engine, step_seconds, at_ms, execs, execs_per_second, coverage, features, corpus_units, corpus_bytes, rss_mb, " +
        "total_edges, stability, crashes, hangs, imported, last_find_ms";

    /// <summary>Stores the samples at resolution <paramref name="step"/>; a sample stored already (same job and time) is kept as it was.</summary>
    public void Append(IReadOnlyList<StatsSample> samples, TimeSpan step)
    {
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        using var command = ReadModelWriter.Command(connection, transaction,
            $"INSERT INTO stats_points ({Columns}) VALUES (@job, @campaign, @engine, @step, @at, @execs, @eps, @coverage, @features, @units, @bytes, @rss, " +
            "@edges, @stability, @crashes, @hangs, @imported, @lastFind) ON CONFLICT DO NOTHING",
            [.. InsertParameters.Select(p => (p, (object?)null))]);
        foreach (var (job, campaign, engine, s) in samples)
        {
            Bind(command, ("job", job.Value), ("campaign", campaign.Value), ("engine", engine), ("step", (long)step.TotalSeconds), ("at", s.At.ToUnixTimeMilliseconds()),
                ("execs", s.Execs), ("eps", s.ExecsPerSecond), ("coverage", s.Coverage), ("features", s.Features), ("units", s.CorpusUnits), ("bytes", s.CorpusBytes),
                ("rss", s.RssMb), ("edges", s.TotalEdges), ("stability", s.Stability), ("crashes", s.Crashes), ("hangs", s.Hangs), ("imported", s.Imported),
                ("lastFind", s.LastFindAt?.ToUnixTimeMilliseconds()));
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>
    /// Rows of resolution <paramref name="fine"/> older than <paramref name="before"/> become one row per job and
    /// <paramref name="coarse"/> step (each step's last); returns how many fine rows went.
    /// </summary>
    public int Compact(DateTimeOffset before, TimeSpan fine, TimeSpan coarse)
    {
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        var parameters = new[] { ("fine", (object?)(long)fine.TotalSeconds), ("coarse", (long)coarse.TotalSeconds), ("coarseMs", (long)coarse.TotalMilliseconds),
            ("before", before.ToUnixTimeMilliseconds()) };
        var kept = Columns.Replace("step_seconds", "@coarse", StringComparison.Ordinal);
        using (var insert = ReadModelWriter.Command(connection, transaction, $"""
            INSERT INTO stats_points ({Columns})
            SELECT {kept} FROM (
                SELECT stats_points.*, ROW_NUMBER() OVER (PARTITION BY job_id, at_ms / @coarseMs ORDER BY at_ms DESC) AS newest
                FROM stats_points WHERE step_seconds = @fine AND at_ms < @before) AS fine
            WHERE newest = 1
            ON CONFLICT DO NOTHING
            """, parameters))
        {
            insert.ExecuteNonQuery();
        }

        int deleted;
        using (var delete = ReadModelWriter.Command(connection, transaction, "DELETE FROM stats_points WHERE step_seconds = @fine AND at_ms < @before",
                   ("fine", (long)fine.TotalSeconds), ("before", before.ToUnixTimeMilliseconds())))
        {
            deleted = delete.ExecuteNonQuery();
        }

        transaction.Commit();
        return deleted;
    }

    /// <summary>A campaign's series from <paramref name="from"/> to <paramref name="to"/>, one point per <paramref name="step"/> that has samples.</summary>
    public IReadOnlyList<StatsStep> Campaign(CampaignId campaign, DateTimeOffset from, DateTimeOffset to, TimeSpan step) =>
        Series("campaign_id = @id", campaign.Value, from, to, step);

    /// <summary>One job's series, as <see cref="Campaign"/>.</summary>
    public IReadOnlyList<StatsStep> Job(JobId job, DateTimeOffset from, DateTimeOffset to, TimeSpan step) =>
        Series("job_id = @id", job.Value, from, to, step);

    private IReadOnlyList<StatsStep> Series(string which, string id, DateTimeOffset from, DateTimeOffset to, TimeSpan step)
    {
        using var connection = database.Open();
        using var command = ReadModelWriter.Command(connection, null,
            $"SELECT {Columns} FROM stats_points WHERE {which} AND at_ms >= @from AND at_ms <= @to ORDER BY at_ms",
            ("id", id), ("from", from.ToUnixTimeMilliseconds()), ("to", to.ToUnixTimeMilliseconds()));
        using var reader = command.ExecuteReader();
        var stepMs = (long)step.TotalMilliseconds;
        var steps = new SortedDictionary<long, Dictionary<string, (JobId, string, FuzzerStats)>>();
        while (reader.Read())
        {
            var at = reader.GetInt64(4);
            var stats = new FuzzerStats(reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10),
                reader.GetInt64(11), DateTimeOffset.FromUnixTimeMilliseconds(at), reader.GetInt64(12), reader.IsDBNull(13) ? null : reader.GetDouble(13),
                reader.GetInt64(14), reader.GetInt64(15), reader.GetInt64(16), reader.IsDBNull(17) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(17)));
            var jobs = steps.TryGetValue(at / stepMs, out var found) ? found : steps[at / stepMs] = new Dictionary<string, (JobId, string, FuzzerStats)>(StringComparer.Ordinal);

            // Ordered by time: a job's later sample in the step replaces its earlier one.
            jobs[reader.GetString(0)] = (new JobId(reader.GetString(0)), reader.GetString(2), stats);
        }

        return [.. steps.Select(s => new StatsStep(DateTimeOffset.FromUnixTimeMilliseconds(s.Key * stepMs), [.. s.Value.Values]))];
    }

    private static readonly string[] InsertParameters =
        ["job", "campaign", "engine", "step", "at", "execs", "eps", "coverage", "features", "units", "bytes", "rss", "edges", "stability", "crashes", "hangs", "imported", "lastFind"];

    private static void Bind(DbCommand command, params (string Name, object? Value)[] values)
    {
        foreach (var (name, value) in values)
        {
            command.Parameters["@" + name].Value = value ?? DBNull.Value;
        }
    }
}
