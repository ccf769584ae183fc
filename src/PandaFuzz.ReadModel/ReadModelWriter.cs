using System.Data.Common;
using System.Globalization;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.BotEvents;
using static PandaFuzz.Protocol.CampaignEvents;
using static PandaFuzz.Protocol.CorpusEvents;
using static PandaFuzz.Protocol.JobEvents;

namespace PandaFuzz.ReadModel;

/// <summary>One journal event as the projection reads it.</summary>
public sealed record ProjectedEvent(string Tag, long Offset, object Event, DateTimeOffset WrittenAt);

/// <summary>
/// Applies journal events to the read model. A batch is one transaction that also moves each tag's offset, so a crash
/// leaves the whole batch with its offset or neither; events at or below the offset are skipped, and every statement
/// is an upsert or a guarded update, so a replayed event changes nothing.
/// </summary>
public sealed class ReadModelWriter
{
    /// <summary>The projection's name in <c>projection_offsets</c>.</summary>
    public const string ProjectionName = "read-model";

    /// <summary>The tables the projection fills, children before parents (the order to empty them in).</summary>
    public static readonly IReadOnlyList<string> ProjectedTables =
        ["corpus_entries", "corpus_versions", "crash_former_signatures", "crash_occurrences", "crashes", "bot_capabilities", "bots", "jobs", "campaigns"];

    /// <summary>Tags never projected are absent.</summary>
    public static IReadOnlyDictionary<string, long> Offsets(DbConnection connection, DbTransaction? transaction = null)
    {
        using var command = Command(connection, transaction, "SELECT tag, journal_offset FROM projection_offsets WHERE projection = @p", ("p", ProjectionName));
        using var reader = command.ExecuteReader();
        var offsets = new Dictionary<string, long>();
        while (reader.Read())
        {
            offsets[reader.GetString(0)] = reader.GetInt64(1);
        }

        return offsets;
    }

    public static int Write(DbConnection connection, IReadOnlyList<ProjectedEvent> batch, DateTimeOffset now) =>
        Write(connection, batch, now, null);

    /// <summary>
    /// <paramref name="readThrough"/>: the journal was read in order through this ordering for these tags, so each tag's
    /// offset moves up to it even with none of its events in the batch, and a restart does not go back to a rare tag's last event.
    /// </summary>
    public static int Write(DbConnection connection, IReadOnlyList<ProjectedEvent> batch, DateTimeOffset now, (long Offset, IReadOnlyList<string> Tags)? readThrough)
    {
        using var transaction = connection.BeginTransaction();
        var offsets = Offsets(connection, transaction).ToDictionary();
        var applied = 0;
        using var applier = new Applier(connection, transaction);
        foreach (var e in batch)
        {
            if (offsets.TryGetValue(e.Tag, out var done) && e.Offset <= done)
            {
                continue;
            }

            applier.Apply(e.Event);
            offsets[e.Tag] = e.Offset;
            applied++;
        }

        applier.Flush();

        var moved = batch.Select(e => e.Tag).ToHashSet();
        if (readThrough is { } read)
        {
            foreach (var tag in read.Tags.Where(t => offsets.GetValueOrDefault(t) < read.Offset))
            {
                offsets[tag] = read.Offset;
                moved.Add(tag);
            }
        }

        foreach (var tag in moved)
        {
            Execute(connection, transaction, """
                INSERT INTO projection_offsets (projection, tag, journal_offset, updated_at) VALUES (@p, @tag, @offset, @now)
                ON CONFLICT (projection, tag) DO UPDATE SET journal_offset = excluded.journal_offset, updated_at = excluded.updated_at
                """, ("p", ProjectionName), ("tag", tag), ("offset", offsets[tag]), ("now", Time(now)));
        }

        transaction.Commit();
        return applied;
    }

    /// <summary>Empties every projected table and the offsets in one transaction: the start of a rebuild.</summary>
    public static void Reset(DbConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        foreach (var table in ProjectedTables)
        {
            Execute(connection, transaction, $"DELETE FROM {table}");
        }

        Execute(connection, transaction, "DELETE FROM projection_offsets WHERE projection = @p", ("p", ProjectionName));
        transaction.Commit();
    }

    /// <summary>UTC ISO-8601 text of a fixed width, so timestamps sort as text.</summary>
    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    internal static int Execute(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        return command.ExecuteNonQuery();
    }

    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return Bind(command, parameters);
    }

    private static DbCommand Bind(DbCommand command, (string Name, object? Value)[] parameters)
    {
        command.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>Commands are kept by SQL text for the batch, so 500 alike events compile each statement once, not 500 times.</summary>
    private sealed class Applier(DbConnection connection, DbTransaction transaction) : IDisposable
    {
        private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);

        private readonly Dictionary<(string Campaign, string Signature), CrashCounts> _crashCounts = new();

        // Campaigns whose bugs may have changed in the batch (a new unique crash, one that reproduced): regrouped by Flush.
        private readonly HashSet<string> _regroup = new(StringComparer.Ordinal);

        // A job that is not finished has no end; set with every earlier state, so a replayed history passes the
        // table's checks on its way to the state it had.
        private const string NotEnded = "finished_at = NULL, failure_reason = NULL, final_execs = NULL, final_coverage = NULL";

        public void Apply(object e)
        {
            switch (e)
            {
                case CampaignCreated c: CampaignCreated(c); break;
                case CampaignStopRequested s:
                    Run("UPDATE campaigns SET status = 'stopping' WHERE id = @id AND status = 'running'", ("id", s.CampaignId.Value));
                    break;
                case CampaignFinished f:
                    Run("UPDATE campaigns SET status = @status, finished_at = @at WHERE id = @id",
                        ("id", f.CampaignId.Value), ("status", Name(f.Status)), ("at", Time(f.At)));
                    break;
                case CrashReported r: CrashReported(r.CampaignId, r.Crash, r.Sampled, r.At); break;
                case CrashMinimized m:
                    // An earlier release's minimization names the signature its crash had; a success is not undone by a
                    // failure of another crash that became the same one.
                    Run("""
                        UPDATE crashes SET minimized_input = @input, minimized_size = @size, minimization_failure = @failure, minimized_at = @at,
                                           minimization_job_id = @job
                        WHERE campaign_id = @campaign
                          AND signature = COALESCE((SELECT f.signature FROM crash_former_signatures f WHERE f.campaign_id = @campaign AND f.former = @signature), @signature)
                          AND (minimized_input IS NULL OR @input IS NOT NULL)
                        """,
                        ("campaign", m.CampaignId.Value), ("signature", m.Signature), ("input", m.Outcome.Input?.Sha256), ("job", m.Outcome.JobId.Value),
                        ("size", m.Outcome.Size), ("failure", m.Outcome.Failure), ("at", Time(m.Outcome.At)));
                    break;
                case JobCreated j: JobCreated(j); break;
                case JobAssigned a:
                    Run($"UPDATE jobs SET status = 'assigned', bot_id = @bot, assigned_at = @at, started_at = NULL, {NotEnded} WHERE id = @id",
                        ("id", a.JobId.Value), ("bot", a.BotId.Value), ("at", Time(a.At)));
                    break;
                case JobStarted s:
                    Run($"UPDATE jobs SET status = 'running', bot_id = @bot, started_at = @at, {NotEnded} WHERE id = @id",
                        ("id", s.JobId.Value), ("bot", s.BotId.Value), ("at", Time(s.At)));
                    break;
                case JobRequeued q:
                    Run($"UPDATE jobs SET status = 'pending', bot_id = NULL, assigned_at = NULL, started_at = NULL, {NotEnded} WHERE id = @id",
                        ("id", q.JobId.Value));
                    break;
                case JobCompleted c: JobEnded(c.JobId, "completed", null, c.FinalStats, c.At); break;
                case JobFailed f: JobEnded(f.JobId, "failed", f.Reason, f.FinalStats, f.At); break;
                case JobCancelled c: JobEnded(c.JobId, "cancelled", c.Reason, c.FinalStats, c.At); break;
                case BotRegistered b: BotRegistered(b); break;
                case BotWentOffline o:
                    Run("UPDATE bots SET status = 'offline', offline_reason = @reason, offline_since = @at WHERE id = @id",
                        ("id", o.BotId.Value), ("reason", o.Reason), ("at", Time(o.At)));
                    break;
                case BotDrainingChanged d:
                    Run("UPDATE bots SET draining = @draining WHERE id = @id", ("id", d.BotId.Value), ("draining", d.Draining ? 1 : 0));
                    break;
                case CorpusEntriesAdded a: CorpusAdded(a); break;
                case CorpusReplaced r: CorpusReplaced(r); break;
                default:
                    // Events that change nothing the read model shows (a job's end as its campaign records it, an added
                    // job, whose own JobCreated fills the row): their offset still moves.
                    break;
            }
        }

        private void CampaignCreated(CampaignCreated c)
        {
            var spec = c.Spec;
            Run("""
                INSERT INTO campaigns (id, name, target, target_name, engine, engines, planned_jobs, duration_seconds, memory_limit_mb,
                                       timeout_ms, dictionary, status, created_at)
                VALUES (@id, @name, @target, @target_name, @engine, @engines, @jobs, @duration, @memory, @timeout, @dictionary, 'running', @at)
                ON CONFLICT (id) DO NOTHING
                """,
                ("id", c.CampaignId.Value), ("name", spec.Name), ("target", spec.Target.Sha256), ("target_name", spec.TargetName),
                ("engine", spec.Engine), ("engines", string.Join(",", spec.Engines.Select(x => x.Engine))), ("jobs", spec.Jobs),
                ("duration", spec.DurationSeconds), ("memory", spec.MemoryLimitMb), ("timeout", spec.TimeoutMs), ("dictionary", spec.Dictionary),
                ("at", Time(c.At)));
        }

        /// <summary>
        /// The crash's row is made by its first report, the occurrence row added unless counted before (a replay), and
        /// counters added once per batch by <see cref="Flush"/>: one statement per repeated report instead of three, as
        /// bursts of known bugs are most of what the projection reads.
        /// </summary>
        private void CrashReported(CampaignId campaign, CrashRecord crash, bool sampled, DateTimeOffset at)
        {
            var finding = crash.Finding;
            var signature = finding.SignatureOrFallback;
            var input = finding.Input.Sha256;
            var key = (campaign.Value, signature);
            if (!_crashCounts.TryGetValue(key, out var counts))
            {
                var state = finding.State ?? "";
                var inserted = Prepared("""
                    INSERT INTO crashes (campaign_id, signature, id, kind, state, security, occurrences, reproduce_attempts, reproduced,
                                         first_job_id, first_bot_id, first_input, first_seen, last_seen, summary, found_at, location)
                    VALUES (@campaign, @signature, @id, @kind, @state, @security, 0, 0, 0, @job, @bot, @input, @at, @at, @summary, @found, @location)
                    ON CONFLICT (campaign_id, signature) DO NOTHING
                    """,
                    [("campaign", campaign.Value), ("signature", signature), ("id", CrashId.ForSignature(campaign, signature).Value),
                     ("kind", finding.Kind), ("state", state), ("security", finding.Security ? 1 : 0),
                     ("job", crash.JobId.Value), ("bot", crash.BotId.Value), ("input", input), ("at", Time(at)), ("summary", finding.Summary),
                     ("found", Time(finding.FoundAt)), ("location", BugGrouping.LocationOf(finding, state))]).ExecuteNonQuery();
                if (inserted > 0)
                {
                    _regroup.Add(campaign.Value);
                }

                counts = new CrashCounts();
                _crashCounts.Add(key, counts);
            }

            if (finding.FormerSignature is { } former)
            {
                Run("INSERT INTO crash_former_signatures (campaign_id, former, signature) VALUES (@campaign, @former, @signature) ON CONFLICT DO NOTHING",
                    ("campaign", campaign.Value), ("former", former), ("signature", signature));
            }

            var added = Prepared("""
                INSERT INTO crash_occurrences (campaign_id, signature, input_sha256, input_size, job_id, bot_id, sampled, reported_at)
                VALUES (@campaign, @signature, @input, @size, @job, @bot, @sampled, @at)
                ON CONFLICT (campaign_id, input_sha256) DO NOTHING
                """,
                [("campaign", campaign.Value), ("signature", signature), ("input", input), ("size", finding.InputSize), ("job", crash.JobId.Value),
                 ("bot", crash.BotId.Value), ("sampled", sampled ? 1 : 0), ("at", Time(at))]).ExecuteNonQuery();
            if (added == 0)
            {
                return;
            }

            counts.Occurrences++;
            counts.ReproduceAttempts += finding.ReproduceAttempts;
            counts.Reproduced += finding.Reproduced;
            if (finding.Reproduced > 0)
            {
                _regroup.Add(campaign.Value);
            }
            counts.LastSeen = counts.LastSeen is { } last && last >= at ? last : at;
        }

        /// <summary>Runs once, after the batch's last event.</summary>
        public void Flush()
        {
            foreach (var ((campaign, signature), counts) in _crashCounts)
            {
                if (counts.Occurrences == 0)
                {
                    continue;
                }

                Run("""
                    UPDATE crashes SET
                        occurrences = occurrences + @occurrences,
                        reproduce_attempts = reproduce_attempts + @attempts,
                        reproduced = reproduced + @reproduced,
                        last_seen = CASE WHEN @last > last_seen THEN @last ELSE last_seen END
                    WHERE campaign_id = @campaign AND signature = @signature
                    """,
                    ("campaign", campaign), ("signature", signature), ("occurrences", counts.Occurrences), ("attempts", counts.ReproduceAttempts),
                    ("reproduced", counts.Reproduced), ("last", Time(counts.LastSeen!.Value)));
            }

            _crashCounts.Clear();
            foreach (var campaign in _regroup)
            {
                Regroup(new CampaignId(campaign));
            }

            _regroup.Clear();
        }

        /// <summary>Groups the crash rows as the campaign entity does (<see cref="BugGrouping"/>): a new crash may join a bug, a reproduced one moves.</summary>
        private void Regroup(CampaignId campaign)
        {
            var rows = new List<(BugGrouping.Key Key, string? BugId)>();
            using (var reader = Prepared("""
                SELECT signature, first_seen, state, security, reproduced, kind, location, bug_id FROM crashes WHERE campaign_id = @campaign
                """, [("campaign", campaign.Value)]).ExecuteReader())
            {
                while (reader.Read())
                {
                    var key = new BugGrouping.Key(reader.GetString(0), DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture),
                        reader.GetString(2), reader.GetInt64(3) == 1, reader.GetInt64(4) > 0, CrashIdentity.WithoutSize(reader.GetString(5)),
                        reader.IsDBNull(6) ? null : reader.GetString(6));
                    rows.Add((key, reader.IsDBNull(7) ? null : reader.GetString(7)));
                }
            }

            foreach (var (bug, members) in BugGrouping.Assign(campaign, rows, r => r.Key))
            {
                foreach (var member in members.Where(m => m.BugId != bug.Value))
                {
                    Run("UPDATE crashes SET bug_id = @bug WHERE campaign_id = @campaign AND signature = @signature",
                        ("bug", bug.Value), ("campaign", campaign.Value), ("signature", member.Key.Signature));
                }
            }
        }

        private void JobCreated(JobCreated j)
        {
            var spec = j.Spec;
            Run("""
                INSERT INTO jobs (id, campaign_id, job_index, task, engine, target, duration_seconds, memory_limit_mb, timeout_ms, dictionary,
                                  status, created_at)
                VALUES (@id, @campaign, @index, @task, @engine, @target, @duration, @memory, @timeout, @dictionary, 'pending', @at)
                ON CONFLICT (id) DO NOTHING
                """,
                ("id", j.JobId.Value), ("campaign", j.CampaignId.Value), ("index", j.Index), ("task", Name(spec.Task)), ("engine", spec.Engine),
                ("target", spec.Target.Sha256), ("duration", spec.DurationSeconds), ("memory", spec.MemoryLimitMb), ("timeout", spec.TimeoutMs),
                ("dictionary", spec.Dictionary), ("at", Time(j.At)));
        }

        private void JobEnded(JobId job, string status, string? reason, FuzzerStats? stats, DateTimeOffset at) =>
            Run("""
                UPDATE jobs SET status = @status, failure_reason = @reason, finished_at = @at,
                                final_execs = @execs, final_coverage = @coverage
                WHERE id = @id
                """,
                ("id", job.Value), ("status", status), ("reason", reason), ("at", Time(at)), ("execs", stats?.Execs), ("coverage", stats?.Coverage));

        private void BotRegistered(BotRegistered b)
        {
            Run("""
                INSERT INTO bots (id, address, hostname, slots, memory_mb, status, registered_at, checked_in_at)
                VALUES (@id, @address, @hostname, @slots, @memory, 'online', @at, @at)
                ON CONFLICT (id) DO UPDATE SET address = excluded.address, hostname = excluded.hostname, slots = excluded.slots,
                    memory_mb = excluded.memory_mb, status = 'online', checked_in_at = excluded.checked_in_at, offline_reason = NULL, offline_since = NULL
                """,
                ("id", b.BotId.Value), ("address", b.Address), ("hostname", b.Hostname), ("slots", b.Capabilities.Slots),
                ("memory", b.Capabilities.MemoryMb), ("at", Time(b.At)));
            Run("DELETE FROM bot_capabilities WHERE bot_id = @id", ("id", b.BotId.Value));
            foreach (var engine in b.Capabilities.Engines.DistinctBy(x => x.Name))
            {
                Run("INSERT INTO bot_capabilities (bot_id, engine, version) VALUES (@id, @engine, @version)",
                    ("id", b.BotId.Value), ("engine", engine.Name), ("version", engine.Version));
            }
        }

        private void CorpusAdded(CorpusEntriesAdded a)
        {
            var campaign = a.CorpusOf.Value;
            Run("INSERT INTO corpus_versions (campaign_id, version, entries, bytes, reason) VALUES (@campaign, 1, 0, 0, 'created') ON CONFLICT DO NOTHING",
                ("campaign", campaign));
            // Entries go to the version current when they were added: a replayed event does not move into a later version.
            var version = Scalar("SELECT MAX(version) FROM corpus_versions WHERE campaign_id = @campaign AND (version = 1 OR since <= @at)",
                ("campaign", campaign), ("at", Time(a.At)));
            foreach (var entry in a.Entries)
            {
                Run("""
                    INSERT INTO corpus_entries (campaign_id, version, input_sha256, size, source) VALUES (@campaign, @version, @input, @size, @source)
                    ON CONFLICT DO NOTHING
                    """,
                    ("campaign", campaign), ("version", version), ("input", entry.Input.Sha256), ("size", entry.Size), ("source", entry.Source));
            }

            Run("UPDATE corpus_versions SET since = @at WHERE campaign_id = @campaign AND version = @version AND since IS NULL",
                ("campaign", campaign), ("version", version), ("at", Time(a.At)));
            Recount(campaign, version);
        }

        private void CorpusReplaced(CorpusReplaced r)
        {
            var campaign = r.CorpusOf.Value;
            Run("""
                INSERT INTO corpus_versions (campaign_id, version, entries, bytes, reason, since) VALUES (@campaign, @version, 0, 0, @reason, @at)
                ON CONFLICT DO NOTHING
                """,
                ("campaign", campaign), ("version", r.Version), ("reason", r.Reason), ("at", Time(r.At)));
            foreach (var entry in r.Entries)
            {
                Run("""
                    INSERT INTO corpus_entries (campaign_id, version, input_sha256, size, source) VALUES (@campaign, @version, @input, @size, @source)
                    ON CONFLICT DO NOTHING
                    """,
                    ("campaign", campaign), ("version", r.Version), ("input", entry.Input.Sha256), ("size", entry.Size), ("source", entry.Source));
            }

            Recount(campaign, r.Version);
        }

        private void Recount(string campaign, long version) =>
            Run("""
                UPDATE corpus_versions SET
                    entries = (SELECT COUNT(*) FROM corpus_entries e WHERE e.campaign_id = @campaign AND e.version = @version),
                    bytes = (SELECT COALESCE(SUM(size), 0) FROM corpus_entries e WHERE e.campaign_id = @campaign AND e.version = @version)
                WHERE campaign_id = @campaign AND version = @version
                """,
                ("campaign", campaign), ("version", version));

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            _commands.Clear();
        }

        private void Run(string sql, params (string Name, object? Value)[] parameters) => Prepared(sql, parameters).ExecuteNonQuery();

        private long Scalar(string sql, params (string Name, object? Value)[] parameters) =>
            Convert.ToInt64(Prepared(sql, parameters).ExecuteScalar(), CultureInfo.InvariantCulture);

        private DbCommand Prepared(string sql, (string Name, object? Value)[] parameters)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = Command(connection, transaction, sql, parameters);
                _commands.Add(sql, command);
                return command;
            }

            return Bind(command, parameters);
        }

        private static string Name(CampaignStatus status) => status.ToString().ToLowerInvariant();

        private sealed class CrashCounts
        {
            public long Occurrences { get; set; }

            public long ReproduceAttempts { get; set; }

            public long Reproduced { get; set; }

            public DateTimeOffset? LastSeen { get; set; }
        }

        private static string Name(JobTask task) => task switch
        {
            JobTask.Fuzz => "fuzz",
            JobTask.MinimizeCorpus => "minimize-corpus",
            JobTask.MinimizeCrash => "minimize-crash",
            JobTask.VerifyBug => "verify-bug",
            JobTask.Coverage => "coverage",
            _ => throw new ArgumentOutOfRangeException(nameof(task), task, null),
        };
    }
}
