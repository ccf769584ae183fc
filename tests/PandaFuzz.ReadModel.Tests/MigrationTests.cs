using FluentAssertions;
using Xunit;

namespace PandaFuzz.ReadModel.Tests;

/// <summary>The schema's migrations on a real SQLite file and a real PostgreSQL database: up from empty, down to nothing, up again; an upgrade keeps data.</summary>
public abstract class MigrationTests(ReadModelStore store) : IDisposable
{
    /// <summary>The newest schema version this build has: one line to change with each migration.</summary>
    private const long Latest = 10;

    private static long[] Versions(long from) => [.. Enumerable.Range((int)from, (int)(Latest - from + 1)).Select(v => (long)v)];

    private static readonly string[] Version1Tables = ["bot_capabilities", "bots", "campaigns", "jobs", "projection_offsets"];
    private static readonly string[] Version2Tables = ["corpus_entries", "corpus_versions", "crash_occurrences", "crashes"];

    private readonly ReadModelFile _file = new(store);

    public void Dispose() => _file.Dispose();

    [Fact]
    public void An_empty_database_migrates_up_rolls_back_to_zero_and_migrates_up_again()
    {
        var empty = _file.Schema.Status();
        empty.Current.Should().Be(0);
        empty.Latest.Should().Be(Latest);
        empty.Pending.Select(p => p.Version).Should().Equal(Versions(1));

        var up = _file.Schema.MigrateUp();

        up.Current.Should().Be(Latest);
        up.Pending.Should().BeEmpty();
        _file.Tables().Should().BeEquivalentTo([.. Version1Tables, .. Version2Tables, "crash_former_signatures", "stats_points"]);
        _file.Columns("bots").Should().Contain("draining");

        var four = _file.Schema.RollbackTo(4);

        four.Current.Should().Be(4);
        _file.Tables().Should().BeEquivalentTo([.. Version1Tables, .. Version2Tables]);

        var three = _file.Schema.RollbackTo(3);

        three.Current.Should().Be(3);
        _file.Columns("bots").Should().NotContain("draining");
        _file.Columns("crashes").Should().Contain(["summary", "found_at", "minimization_job_id"]);

        var two = _file.Schema.RollbackTo(2);

        two.Current.Should().Be(2);
        two.Pending.Select(p => p.Version).Should().Equal(Versions(3));
        _file.Tables().Should().BeEquivalentTo([.. Version1Tables, .. Version2Tables]);
        _file.Columns("crashes").Should().NotContain(["summary", "found_at", "minimization_job_id"]);

        var one = _file.Schema.RollbackTo(1);

        one.Current.Should().Be(1);
        one.Pending.Select(p => p.Version).Should().Equal(Versions(2));
        _file.Tables().Should().BeEquivalentTo(Version1Tables);

        var zero = _file.Schema.RollbackTo(0);

        zero.Current.Should().Be(0);
        _file.Tables().Should().BeEmpty();

        var again = _file.Schema.MigrateUp();

        again.Current.Should().Be(Latest);
        again.Applied.Should().Equal(Versions(1));
        _file.Tables().Should().BeEquivalentTo([.. Version1Tables, .. Version2Tables, "crash_former_signatures", "stats_points"]);
        if (store == ReadModelStore.Sqlite)
        {
            _file.Strings("PRAGMA journal_mode").Should().Equal("wal");
        }
    }

    [Fact]
    public void A_version_1_database_with_rows_upgrades_to_the_latest_and_keeps_them()
    {
        // Arrange: the first schema, filled as a version-1 projection left it.
        _file.Schema.MigrateUp(1).Current.Should().Be(1);
        _file.Execute("""
            INSERT INTO campaigns (id, name, target, target_name, engine, engines, planned_jobs, duration_seconds, memory_limit_mb, timeout_ms,
                                   dictionary, status, created_at, finished_at)
            VALUES ('0123456789ab', 'parser', 'aa', 'parser', 'libfuzzer', 'libfuzzer', 2, 3600, 2048, 1000, NULL, 'running', '2026-11-26T10:00:00.0000000Z', NULL);
            INSERT INTO bots (id, address, hostname, slots, memory_mb, status, registered_at, checked_in_at)
            VALUES ('bot-a', 'akka.tcp://pandafuzz@10.0.0.2:4053', 'box-a', 4, 8192, 'online', '2026-11-26T10:00:00.0000000Z', '2026-11-26T10:00:00.0000000Z');
            INSERT INTO bot_capabilities (bot_id, engine, version) VALUES ('bot-a', 'libfuzzer', '14');
            INSERT INTO jobs (id, campaign_id, job_index, task, engine, target, duration_seconds, memory_limit_mb, timeout_ms, dictionary, status,
                              bot_id, created_at, assigned_at, started_at)
            VALUES ('0123456789ab-0', '0123456789ab', 0, 'fuzz', 'libfuzzer', 'aa', 3600, 2048, 1000, NULL, 'running', 'bot-a',
                    '2026-11-26T10:00:00.0000000Z', '2026-11-26T10:00:01.0000000Z', '2026-11-26T10:00:02.0000000Z');
            INSERT INTO jobs (id, campaign_id, job_index, task, engine, target, duration_seconds, memory_limit_mb, timeout_ms, dictionary, status, created_at)
            VALUES ('0123456789ab-1', '0123456789ab', 1, 'fuzz', 'libfuzzer', 'aa', 3600, 2048, 1000, 'dict.txt', 'pending', '2026-11-26T10:00:00.0000000Z');
            INSERT INTO projection_offsets (projection, tag, journal_offset, updated_at) VALUES
                ('read-model', 'campaign', 3, '2026-11-26T10:00:03.0000000Z'), ('read-model', 'job', 7, '2026-11-26T10:00:03.0000000Z'),
                ('read-model', 'bot', 5, '2026-11-26T10:00:03.0000000Z'), ('read-model', 'corpus', 6, '2026-11-26T10:00:03.0000000Z');
            """);
        var before = Version1Tables.Where(t => t != "projection_offsets").ToDictionary(t => t, t => _file.Rows(t));

        // Act
        var status = _file.Schema.MigrateUp();

        // Assert: at the latest version, every row kept; the tags whose events fill the new tables start over.
        status.Current.Should().Be(Latest);
        foreach (var (table, rows) in before)
        {
            // Version 4 adds bots.draining: no bot was drained before it, so each kept row reads draining=0.
            var expected = table == "bots" ? rows.Select(r => r + "|draining=0").ToList() : rows;
            _file.Rows(table).Should().Equal(expected, "table {0} keeps its rows", table);
        }

        _file.Strings("SELECT tag || '=' || journal_offset FROM projection_offsets ORDER BY tag").Should().Equal("bot=5", "job=7", "target=5");
        _file.Tables().Should().Contain(Version2Tables);
    }

    [Fact]
    public void A_version_2_database_upgrades_and_the_replayed_campaign_tag_fills_the_crash_summaries()
    {
        // Arrange: a version-2 read model with a campaign and a crash counted without summary or found-at.
        _file.Schema.MigrateUp(2).Current.Should().Be(2);
        var at = new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
        var campaign = new PandaFuzz.Protocol.CampaignId("0123456789ab");
        var spec = new PandaFuzz.Protocol.CampaignSpec("parser", PandaFuzz.Protocol.BlobId.Of("t"u8), "libfuzzer", 1, 3600, 2048, 1000, null);
        var input = PandaFuzz.Protocol.BlobId.Of("crash"u8);
        var finding = new PandaFuzz.Protocol.CrashFinding(input, 5, "crash-x", "heap-buffer-overflow", "READ of size 4", [], "output", at.AddSeconds(-3),
            "00000000000000aa", "parse_header", Security: true);
        var crash = new PandaFuzz.Protocol.CrashRecord(PandaFuzz.Protocol.CrashId.ForSignature(campaign, "00000000000000aa"), campaign,
            PandaFuzz.Protocol.JobId.For(campaign, 0), new PandaFuzz.Protocol.BotId("bot-a"), finding);
        _file.Execute($"""
            INSERT INTO campaigns (id, name, target, engine, engines, planned_jobs, duration_seconds, memory_limit_mb, timeout_ms, status, created_at)
            VALUES ('0123456789ab', 'parser', '{spec.Target.Sha256}', 'libfuzzer', 'libfuzzer', 1, 3600, 2048, 1000, 'running', '{ReadModelWriter.Time(at)}');
            INSERT INTO crashes (campaign_id, signature, id, kind, state, security, occurrences, reproduce_attempts, reproduced, first_job_id,
                                 first_bot_id, first_input, first_seen, last_seen)
            VALUES ('0123456789ab', '00000000000000aa', '{crash.Id.Value}', 'heap-buffer-overflow', 'parse_header', 1, 1, 0, 0, '0123456789ab-0',
                    'bot-a', '{input.Sha256}', '{ReadModelWriter.Time(at)}', '{ReadModelWriter.Time(at)}');
            INSERT INTO crash_occurrences (campaign_id, signature, input_sha256, input_size, job_id, bot_id, sampled, reported_at)
            VALUES ('0123456789ab', '00000000000000aa', '{input.Sha256}', 5, '0123456789ab-0', 'bot-a', 1, '{ReadModelWriter.Time(at)}');
            INSERT INTO projection_offsets (projection, tag, journal_offset, updated_at) VALUES
                ('read-model', 'campaign', 2, '{ReadModelWriter.Time(at)}'), ('read-model', 'job', 7, '{ReadModelWriter.Time(at)}');
            """);
        var campaigns = _file.Rows("campaigns");

        // Act: migrate, then the projection replays the campaign tag from its start.
        _file.Schema.MigrateUp().Current.Should().Be(Latest);
        _file.Strings("SELECT COUNT(*) FROM crashes").Should().Equal("0");
        _file.Strings("SELECT tag || '=' || journal_offset FROM projection_offsets ORDER BY tag").Should().Equal("job=7", "target=7");
        using (var connection = _file.Database.Open())
        {
            ReadModelWriter.Write(connection, [
                new ProjectedEvent("campaign", 1, new PandaFuzz.Protocol.CampaignEvents.CampaignCreated(campaign, spec, [crash.JobId], at), at),
                new ProjectedEvent("campaign", 2, new PandaFuzz.Protocol.CampaignEvents.CrashReported(campaign, crash, true, at), at),
            ], at);
        }

        // Assert: the campaign is as it was, and the crash is back with its summary and the time it was found.
        _file.Rows("campaigns").Should().Equal(campaigns);
        _file.Strings("SELECT summary || ',' || found_at || ',' || occurrences FROM crashes")
            .Should().Equal("READ of size 4,2026-11-26T09:59:57.0000000Z,1");
        _file.Strings("SELECT COUNT(*) FROM crash_occurrences").Should().Equal("1");
    }

    [Fact]
    public void A_schema_newer_than_the_build_is_refused_naming_the_versions()
    {
        _file.Schema.MigrateUp();
        _file.Execute($"INSERT INTO \"VersionInfo\" (\"Version\", \"AppliedOn\", \"Description\") VALUES ({Latest + 1}, '2027-01-01T00:00:00', 'from the future')");

        var status = _file.Schema.Status();
        var start = () => _file.Schema.EnsureCurrent(migrate: true);
        var rollback = () => _file.Schema.RollbackTo(1);

        status.IsNewerThanCode.Should().BeTrue();
        status.Current.Should().Be(Latest + 1);
        start.Should().Throw<ReadModelSchemaException>().WithMessage($"*schema version {Latest + 1}, newer than this build knows (latest {Latest}*");
        rollback.Should().Throw<ReadModelSchemaException>();
    }

    [Fact]
    public void An_older_schema_stops_a_start_that_may_not_migrate_and_is_migrated_by_one_that_may()
    {
        _file.Schema.MigrateUp(1);

        var refused = () => _file.Schema.EnsureCurrent(migrate: false);

        refused.Should().Throw<ReadModelSchemaException>().WithMessage($"*schema version 1, this build needs version {Latest}*pandafuzz db migrate*");
        _file.Schema.EnsureCurrent(migrate: true).Current.Should().Be(Latest);
    }

    [Fact]
    public void Rolling_back_above_the_current_version_is_refused()
    {
        _file.Schema.MigrateUp(1);

        var act = () => _file.Schema.RollbackTo(2);

        act.Should().Throw<ReadModelSchemaException>().WithMessage("*to version 2*at version 1*");
    }
}

public sealed class MigrationTestsOnSqlite() : MigrationTests(ReadModelStore.Sqlite);

public sealed class MigrationTestsOnPostgreSql() : MigrationTests(ReadModelStore.PostgreSql);
