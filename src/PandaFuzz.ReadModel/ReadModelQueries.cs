using System.Data.Common;
using System.Globalization;
using PandaFuzz.Protocol;

namespace PandaFuzz.ReadModel;

/// <summary>One page of a list: <c>limit</c> rows (1 to <see cref="MaxLimit"/>) after skipping <c>offset</c>.</summary>
public sealed record Page(int Limit = Page.DefaultLimit, int Offset = 0)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
}

/// <summary>A page of rows and how many match the filter in all.</summary>
public sealed record Paged<T>(IReadOnlyList<T> Items, long Total);

/// <summary>Campaigns by status, by engine (the campaign's or one of its ensemble's), created at or after <c>Since</c>.</summary>
public sealed record CampaignFilter(CampaignStatus? Status = null, string? Engine = null, DateTimeOffset? Since = null, string? TargetName = null);

/// <summary>Jobs by campaign, status, engine, bot (the one it holds or ran on), created at or after <c>Since</c>.</summary>
public sealed record JobFilter(CampaignId? Campaign = null, JobStatus? Status = null, string? Engine = null, BotId? Bot = null, DateTimeOffset? Since = null);

/// <summary>Bots by status and by an engine they can run.</summary>
public sealed record BotFilter(BotStatus? Status = null, string? Engine = null);

/// <summary>Unique crashes by campaign, kind (exact, any case), security flag, last seen, and bug (any member's id names the bug).</summary>
public sealed record CrashFilter(CampaignId? Campaign = null, string? Kind = null, bool? Security = null, DateTimeOffset? Since = null, BugId? Bug = null);

/// <summary>A unique crash row: its counts, its first report, its minimization.</summary>
public sealed record CrashRow(
    CrashId Id, CampaignId CampaignId, string Signature, string Kind, string State, bool Security, long Count, long ReproduceAttempts, long Reproduced,
    JobId FirstJobId, BotId FirstBotId, string FirstInput, long FirstInputSize, string Summary, DateTimeOffset FoundAt,
    DateTimeOffset FirstSeen, DateTimeOffset LastSeen, CrashMinimization? Minimization, BugId? BugId = null, string? Location = null);

/// <summary>A campaign row with its count of unique crashes.</summary>
public sealed record CampaignRow(
    CampaignId Id, string Name, string Target, string Engine, CampaignStatus Status, int PlannedJobs, int CrashCount,
    DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt, string? TargetName = null);

/// <summary>A job row. Live stats are not projected: only a finished job's final execs and coverage.</summary>
public sealed record JobRow(
    JobId Id, CampaignId CampaignId, int Index, JobTask Task, string Engine, JobStatus Status, BotId? BotId, string? FailureReason,
    DateTimeOffset CreatedAt, DateTimeOffset? AssignedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, long? FinalExecs, long? FinalCoverage);

/// <summary>A bot row. <c>CheckedInAt</c> is its last journaled check-in; check-ins that change nothing are not journaled.</summary>
public sealed record BotRow(
    BotId Id, string Address, string Hostname, BotStatus Status, IReadOnlyList<EngineCapability> Engines, int Slots, long MemoryMb,
    IReadOnlyList<JobId> CurrentJobs, DateTimeOffset RegisteredAt, DateTimeOffset CheckedInAt, string? OfflineReason, DateTimeOffset? OfflineSince,
    bool Draining = false);

/// <summary>A campaign still running or stopping: its unique crashes, its crash reports in all, its running jobs.</summary>
/// <summary>A running or stopping campaign for the metrics: its names, counts, running jobs and its ended jobs' executions.</summary>
public sealed record ActiveCampaign(CampaignId Id, long UniqueCrashes, long CrashReports, IReadOnlyList<JobId> RunningJobs)
{
    public string Name { get; init; } = "";

    /// <summary>The target's name, else its binary's sha256.</summary>
    public string Target { get; init; } = "";

    public string Engine { get; init; } = "";

    /// <summary>The final executions of its ended jobs (a running job's live ones come from its entity).</summary>
    public long EndedExecs { get; init; }
}

/// <summary>Counts by status (as stored: "running", "online"...) and the campaigns still at work.</summary>
public sealed record ReadModelSummary(
    IReadOnlyDictionary<string, long> CampaignsByStatus,
    IReadOnlyDictionary<string, long> JobsByStatus,
    IReadOnlyDictionary<string, long> BotsByStatus,
    IReadOnlyList<ActiveCampaign> ActiveCampaigns);

/// <summary>The API's list queries: filtered, paged, in a stable order. Every value is a parameter; only fixed clauses are put together.</summary>
public sealed class ReadModelQueries(ReadModelDatabase database)
{
    /// <summary>Jobs' stats over time, kept beside the projected tables.</summary>
    public StatsStore Stats { get; } = new(database);

    private const char Unit = '\u001f';
    private const char Record = '\u001e';

    // The few places where SQLite and PostgreSQL spell a function differently.
    private readonly bool _postgres = database.Store == ReadModelStore.PostgreSql;

    private string Concat(string expression, char separator) =>
        _postgres ? $"string_agg({expression}, chr({(int)separator}))" : $"group_concat({expression}, char({(int)separator}))";

    private string Char(char c) => _postgres ? $"chr({(int)c})" : $"char({(int)c})";

    private string InCommaList(string list, string parameter) =>
        _postgres ? $"strpos(',' || {list} || ',', ',' || {parameter} || ',') > 0" : $"instr(',' || {list} || ',', ',' || {parameter} || ',') > 0";

    public Paged<CampaignRow> Campaigns(CampaignFilter filter, Page page)
    {
        var where = new Where();
        where.Add(filter.Status is not null, "c.status = @status", ("status", Name(filter.Status)));
        where.Add(filter.Engine is not null, $"(c.engine = @engine OR {InCommaList("c.engines", "@engine")})", ("engine", filter.Engine));
        where.Add(filter.Since is not null, "c.created_at >= @since", ("since", Time(filter.Since)));
        where.Add(filter.TargetName is not null, "c.target_name = @targetName", ("targetName", filter.TargetName));
        return Run(where, page, "SELECT COUNT(*) FROM campaigns c", """
            SELECT c.id, c.name, c.target, c.engine, c.status, c.planned_jobs,
                   (SELECT COUNT(*) FROM crashes x WHERE x.campaign_id = c.id),
                   c.created_at, c.finished_at, c.target_name
            FROM campaigns c
            """, "ORDER BY c.created_at, c.id",
            r => new CampaignRow(new CampaignId(r.GetString(0)), r.GetString(1), r.GetString(2), r.GetString(3),
                Enum.Parse<CampaignStatus>(r.GetString(4), ignoreCase: true), r.GetInt32(5), r.GetInt32(6), At(r, 7)!.Value, At(r, 8),
                r.IsDBNull(9) ? null : r.GetString(9)));
    }

    public Paged<JobRow> Jobs(JobFilter filter, Page page)
    {
        var where = new Where();
        where.Add(filter.Campaign is not null, "j.campaign_id = @campaign", ("campaign", filter.Campaign?.Value));
        where.Add(filter.Status is not null, "j.status = @status", ("status", Name(filter.Status)));
        where.Add(filter.Engine is not null, "j.engine = @engine", ("engine", filter.Engine));
        where.Add(filter.Bot is not null, "j.bot_id = @bot", ("bot", filter.Bot?.Value));
        where.Add(filter.Since is not null, "j.created_at >= @since", ("since", Time(filter.Since)));
        return Run(where, page, "SELECT COUNT(*) FROM jobs j", JobColumns, "ORDER BY j.created_at, j.campaign_id, j.job_index, j.id", JobRowOf);
    }

    /// <summary>Every campaign created on the named target (by name, or from a binary uploaded under it), oldest first.</summary>
    public IReadOnlyList<CampaignId> CampaignsOfTarget(string targetName)
    {
        using var connection = database.Open();
        using var command = ReadModelWriter.Command(connection, null, "SELECT id FROM campaigns WHERE target_name = @name ORDER BY created_at, id", ("name", targetName));
        using var reader = command.ExecuteReader();
        var ids = new List<CampaignId>();
        while (reader.Read())
        {
            ids.Add(new CampaignId(reader.GetString(0)));
        }

        return ids;
    }

    /// <summary>The running campaigns of named targets' builds (those that can have a coverage binary), oldest first.</summary>
    public IReadOnlyList<CampaignId> RunningCampaignsOfTargets()
    {
        using var connection = database.Open();
        using var command = ReadModelWriter.Command(connection, null,
            "SELECT id FROM campaigns WHERE status = @status AND target_name IS NOT NULL ORDER BY created_at, id", ("status", Name<CampaignStatus>(CampaignStatus.Running)));
        using var reader = command.ExecuteReader();
        var ids = new List<CampaignId>();
        while (reader.Read())
        {
            ids.Add(new CampaignId(reader.GetString(0)));
        }

        return ids;
    }

    /// <summary>The rows the read model holds yet (it trails the entities by about a second), in one query of at most <see cref="Page.MaxLimit"/> ids.</summary>
    public IReadOnlyDictionary<JobId, JobRow> JobsById(IReadOnlyCollection<JobId> ids)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ids.Count, Page.MaxLimit);
        var rows = new Dictionary<JobId, JobRow>();
        if (ids.Count == 0)
        {
            return rows;
        }

        using var connection = database.Open();
        var parameters = ids.Select((id, i) => ($"id{i.ToString(CultureInfo.InvariantCulture)}", (object?)id.Value)).ToArray();
        using var command = ReadModelWriter.Command(connection, null, $"{JobColumns} WHERE j.id IN ({string.Join(", ", parameters.Select(p => "@" + p.Item1))})", parameters);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var row = JobRowOf(reader);
            rows[row.Id] = row;
        }

        return rows;
    }

    private const string JobColumns = """
        SELECT j.id, j.campaign_id, j.job_index, j.task, j.engine, j.status, j.bot_id, j.failure_reason,
               j.created_at, j.assigned_at, j.started_at, j.finished_at, j.final_execs, j.final_coverage
        FROM jobs j
        """;

    private static JobRow JobRowOf(DbDataReader r) =>
        new(new JobId(r.GetString(0)), new CampaignId(r.GetString(1)), r.GetInt32(2), Task(r.GetString(3)), r.GetString(4),
            Enum.Parse<JobStatus>(r.GetString(5), ignoreCase: true), r.IsDBNull(6) ? null : new BotId(r.GetString(6)),
            r.IsDBNull(7) ? null : r.GetString(7), At(r, 8)!.Value, At(r, 9), At(r, 10), At(r, 11),
            r.IsDBNull(12) ? null : r.GetInt64(12), r.IsDBNull(13) ? null : r.GetInt64(13));

    /// <summary>When each running job is planned to end (now at the earliest), soonest first.</summary>
    public IReadOnlyList<DateTimeOffset> RunningJobEnds(DateTimeOffset now)
    {
        using var connection = database.Open();
        using var command = ReadModelWriter.Command(connection, null, "SELECT started_at, duration_seconds FROM jobs WHERE status = 'running'");
        using var reader = command.ExecuteReader();
        var ends = new List<DateTimeOffset>();
        while (reader.Read())
        {
            var end = At(reader, 0)!.Value.AddSeconds(Convert.ToInt64(reader.GetValue(1)));
            ends.Add(end > now ? end : now);
        }

        ends.Sort();
        return ends;
    }

    public Paged<BotRow> Bots(BotFilter filter, Page page)
    {
        var where = new Where();
        where.Add(filter.Status is not null, "b.status = @status", ("status", Name(filter.Status)));
        where.Add(filter.Engine is not null, "EXISTS (SELECT 1 FROM bot_capabilities e WHERE e.bot_id = b.id AND e.engine = @engine)", ("engine", filter.Engine));
        return Run(where, page, "SELECT COUNT(*) FROM bots b", $"""
            SELECT b.id, b.address, b.hostname, b.status, b.slots, b.memory_mb, b.registered_at, b.checked_in_at, b.offline_reason, b.offline_since,
                   (SELECT {Concat($"e.engine || {Char(Unit)} || e.version", Record)} FROM bot_capabilities e WHERE e.bot_id = b.id),
                   (SELECT {Concat("j.id", Record)} FROM jobs j
                    WHERE b.status = 'online' AND j.bot_id = b.id AND j.status IN ('assigned', 'running')),
                   b.draining
            FROM bots b
            """, "ORDER BY b.id",
            r => new BotRow(new BotId(r.GetString(0)), r.GetString(1), r.GetString(2), Enum.Parse<BotStatus>(r.GetString(3), ignoreCase: true),
                [.. Split(r, 10).Select(e => e.Split(Unit, 2)).Select(e => new EngineCapability(e[0], e[1])).OrderBy(e => e.Name, StringComparer.Ordinal)],
                r.GetInt32(4), r.GetInt64(5), [.. Split(r, 11).Order(StringComparer.Ordinal).Select(j => new JobId(j))],
                At(r, 6)!.Value, At(r, 7)!.Value, r.IsDBNull(8) ? null : r.GetString(8), At(r, 9), Convert.ToInt64(r.GetValue(12)) != 0));
    }

    public Paged<CrashRow> Crashes(CrashFilter filter, Page page)
    {
        var where = new Where();
        where.Add(filter.Campaign is not null, "x.campaign_id = @campaign", ("campaign", filter.Campaign?.Value));
        where.Add(filter.Kind is not null, "lower(x.kind) = lower(@kind)", ("kind", filter.Kind));
        where.Add(filter.Security is not null, "x.security = @security", ("security", filter.Security == true ? 1 : 0));
        where.Add(filter.Since is not null, "x.last_seen >= @since", ("since", Time(filter.Since)));
        where.Add(filter.Bug is not null, "x.bug_id = (SELECT y.bug_id FROM crashes y WHERE y.campaign_id = @bug_campaign AND y.signature = @bug_signature)",
            ("bug_campaign", filter.Bug?.Campaign.Value), ("bug_signature", filter.Bug?.Signature));
        return Run(where, page, "SELECT COUNT(*) FROM crashes x", """
            SELECT x.id, x.campaign_id, x.signature, x.kind, x.state, x.security, x.occurrences, x.reproduce_attempts, x.reproduced,
                   x.first_job_id, x.first_bot_id, x.first_input,
                   (SELECT o.input_size FROM crash_occurrences o WHERE o.campaign_id = x.campaign_id AND o.input_sha256 = x.first_input),
                   x.summary, x.found_at, x.first_seen, x.last_seen,
                   x.minimization_job_id, x.minimized_input, x.minimized_size, x.minimization_failure, x.minimized_at,
                   x.bug_id, x.location
            FROM crashes x
            """, "ORDER BY x.first_seen, x.campaign_id, x.signature",
            r => new CrashRow(new CrashId(r.GetString(0)), new CampaignId(r.GetString(1)), r.GetString(2), r.GetString(3), r.GetString(4),
                r.GetInt64(5) == 1, r.GetInt64(6), r.GetInt64(7), r.GetInt64(8), new JobId(r.GetString(9)), new BotId(r.GetString(10)), r.GetString(11),
                r.IsDBNull(12) ? 0 : r.GetInt64(12), r.IsDBNull(13) ? "" : r.GetString(13), At(r, 14) ?? At(r, 15)!.Value, At(r, 15)!.Value, At(r, 16)!.Value,
                At(r, 21) is { } minimizedAt
                    ? new CrashMinimization(new JobId(r.IsDBNull(17) ? "" : r.GetString(17)), r.IsDBNull(18) ? null : new BlobId(r.GetString(18)),
                        r.IsDBNull(19) ? null : r.GetInt64(19), r.IsDBNull(20) ? null : r.GetString(20), minimizedAt)
                    : null,
                r.IsDBNull(22) ? null : new BugId(r.GetString(22)), r.IsDBNull(23) ? null : r.GetString(23)));
    }

    /// <summary>Counts for the node's metrics, in a handful of grouped queries whatever the journal's size.</summary>
    public ReadModelSummary Summary()
    {
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        var campaigns = CountBy(connection, transaction, "SELECT status, COUNT(*) FROM campaigns GROUP BY status");
        var jobs = CountBy(connection, transaction, "SELECT status, COUNT(*) FROM jobs GROUP BY status");
        var bots = CountBy(connection, transaction, "SELECT status, COUNT(*) FROM bots GROUP BY status");
        var active = new List<ActiveCampaign>();
        using (var command = ReadModelWriter.Command(connection, transaction, """
            SELECT c.id,
                   (SELECT COUNT(*) FROM crashes x WHERE x.campaign_id = c.id),
                   (SELECT COALESCE(SUM(x.occurrences), 0) FROM crashes x WHERE x.campaign_id = c.id),
                   c.name, COALESCE(c.target_name, c.target), c.engine,
                   (SELECT COALESCE(SUM(j.final_execs), 0) FROM jobs j WHERE j.campaign_id = c.id AND j.status IN ('completed', 'failed', 'cancelled'))
            FROM campaigns c WHERE c.status IN ('running', 'stopping') ORDER BY c.id
            """))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                active.Add(new ActiveCampaign(new CampaignId(reader.GetString(0)), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture),
                    Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture), [])
                {
                    Name = reader.GetString(3),
                    Target = reader.GetString(4),
                    Engine = reader.GetString(5),
                    EndedExecs = Convert.ToInt64(reader.GetValue(6), CultureInfo.InvariantCulture),
                });
            }
        }

        var running = new Dictionary<CampaignId, List<JobId>>();
        using (var command = ReadModelWriter.Command(connection, transaction, "SELECT campaign_id, id FROM jobs WHERE status = 'running' ORDER BY id"))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var campaign = new CampaignId(reader.GetString(0));
                if (!running.TryGetValue(campaign, out var list))
                {
                    running[campaign] = list = [];
                }

                list.Add(new JobId(reader.GetString(1)));
            }
        }

        transaction.Commit();
        return new ReadModelSummary(campaigns, jobs, bots,
            [.. active.Select(a => a with { RunningJobs = running.TryGetValue(a.Id, out var list) ? list : [] })]);
    }

    private static Dictionary<string, long> CountBy(DbConnection connection, DbTransaction transaction, string sql)
    {
        using var command = ReadModelWriter.Command(connection, transaction, sql);
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (reader.Read())
        {
            counts[reader.GetString(0)] = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
        }

        return counts;
    }

    private Paged<T> Run<T>(Where where, Page page, string count, string select, string order, Func<DbDataReader, T> map)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(page.Limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(page.Limit, Page.MaxLimit);
        ArgumentOutOfRangeException.ThrowIfNegative(page.Offset);
        using var connection = database.Open();
        using var transaction = connection.BeginTransaction();
        using var total = ReadModelWriter.Command(connection, transaction, count + where.Sql, [.. where.Parameters]);
        var matching = Convert.ToInt64(total.ExecuteScalar(), CultureInfo.InvariantCulture);
        using var command = ReadModelWriter.Command(connection, transaction, $"{select}{where.Sql} {order} LIMIT @limit OFFSET @offset",
            [.. where.Parameters, ("limit", page.Limit), ("offset", page.Offset)]);
        var rows = new List<T>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                rows.Add(map(reader));
            }
        }

        transaction.Commit();
        return new Paged<T>(rows, matching);
    }

    private static IEnumerable<string> Split(DbDataReader r, int i) =>
        r.IsDBNull(i) ? [] : r.GetString(i).Split(Record, StringSplitOptions.RemoveEmptyEntries);

    private static DateTimeOffset? At(DbDataReader r, int i) =>
        r.IsDBNull(i) ? null : DateTimeOffset.Parse(r.GetString(i), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static string? Time(DateTimeOffset? at) => at is { } t ? ReadModelWriter.Time(t) : null;

    private static string? Name<TEnum>(TEnum? value) where TEnum : struct, Enum => value?.ToString().ToLowerInvariant();

    private static JobTask Task(string task) => task switch
    {
        "fuzz" => JobTask.Fuzz,
        "minimize-corpus" => JobTask.MinimizeCorpus,
        "minimize-crash" => JobTask.MinimizeCrash,
        "verify-bug" => JobTask.VerifyBug,
        "coverage" => JobTask.Coverage,
        _ => throw new InvalidDataException($"unknown job task '{task}' in the read model"),
    };

    /// <summary>A WHERE clause made of fixed conditions, each with its parameter.</summary>
    private sealed class Where
    {
        private readonly List<string> _conditions = [];

        public List<(string Name, object? Value)> Parameters { get; } = [];

        public string Sql => _conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", _conditions);

        public void Add(bool when, string condition, params (string Name, object? Value)[] parameters)
        {
            if (when)
            {
                _conditions.Add(condition);
                Parameters.AddRange(parameters);
            }
        }
    }
}
