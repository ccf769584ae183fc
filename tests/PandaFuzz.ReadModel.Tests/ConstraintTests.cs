using FluentAssertions;
using System.Data.Common;
using Xunit;

namespace PandaFuzz.ReadModel.Tests;

/// <summary>The invariants the schema states, checked by the database itself: bad rows are refused.</summary>
public abstract class ConstraintTests : IDisposable
{
    private const string Campaign = """
        INSERT INTO campaigns (id, name, target, engine, engines, planned_jobs, duration_seconds, memory_limit_mb, timeout_ms, status, created_at)
        VALUES ('0123456789ab', 'parser', 'aa', 'libfuzzer', 'libfuzzer', 1, 60, 2048, 1000, 'running', '2026-11-26T10:00:00.0000000Z')
        """;

    private readonly ReadModelFile _file;

    protected ConstraintTests(ReadModelStore store)
    {
        _file = new ReadModelFile(store);
        _file.Schema.MigrateUp();
        _file.Execute(Campaign);
    }

    public void Dispose() => _file.Dispose();

    private static string Job(string status, string bot, string started = "NULL", string finished = "NULL") => $"""
        INSERT INTO jobs (id, campaign_id, job_index, task, engine, target, duration_seconds, memory_limit_mb, timeout_ms, status, bot_id,
                          created_at, started_at, finished_at)
        VALUES ('0123456789ab-0', '0123456789ab', 0, 'fuzz', 'libfuzzer', 'aa', 60, 2048, 1000, '{status}', {bot},
                '2026-11-26T10:00:00.0000000Z', {started}, {finished})
        """;

    private static string Crash(string occurrences) => $"""
        INSERT INTO crashes (campaign_id, signature, id, kind, state, security, occurrences, reproduce_attempts, reproduced, first_job_id,
                             first_bot_id, first_input, first_seen, last_seen)
        VALUES ('0123456789ab', '00000000000000aa', '0123456789ab-00000000000000aa', 'heap-buffer-overflow', 'parse', 1, {occurrences}, 0, 0,
                '0123456789ab-0', 'bot-a', 'ab', '2026-11-26T10:00:00.0000000Z', '2026-11-26T10:00:00.0000000Z')
        """;

    [Fact]
    public void A_running_job_without_a_bot_is_refused()
    {
        var act = () => _file.Execute(Job("running", "NULL", started: "'2026-11-26T10:00:01.0000000Z'"));

        act.Should().Throw<DbException>().Where(e => ReadModelFile.IsCheckViolation(e));
    }

    [Fact]
    public void An_assigned_job_without_a_bot_is_refused()
    {
        var act = () => _file.Execute(Job("assigned", "NULL"));

        act.Should().Throw<DbException>().Where(e => ReadModelFile.IsCheckViolation(e));
    }

    [Fact]
    public void A_pending_job_that_names_a_bot_is_refused()
    {
        var act = () => _file.Execute(Job("pending", "'bot-a'"));

        act.Should().Throw<DbException>().Where(e => ReadModelFile.IsCheckViolation(e));
    }

    [Fact]
    public void Jobs_that_keep_the_rules_are_taken()
    {
        _file.Execute(Job("running", "'bot-a'", started: "'2026-11-26T10:00:01.0000000Z'"));
        _file.Execute("UPDATE jobs SET status = 'completed', finished_at = '2026-11-26T11:00:00.0000000Z' WHERE id = '0123456789ab-0'");

        _file.Strings("SELECT status || ' on ' || bot_id FROM jobs").Should().Equal("completed on bot-a");
    }

    [Fact]
    public void A_finished_job_without_its_end_time_and_an_unknown_status_are_refused()
    {
        var unfinished = () => _file.Execute(Job("completed", "'bot-a'"));
        var unknown = () => _file.Execute(Job("paused", "NULL"));

        unfinished.Should().Throw<DbException>().Where(e => ReadModelFile.IsCheckViolation(e));
        unknown.Should().Throw<DbException>().Where(e => ReadModelFile.IsCheckViolation(e));
    }

    [Fact]
    public void A_negative_crash_count_is_refused()
    {
        var act = () => _file.Execute(Crash("-1"));

        act.Should().Throw<DbException>().Where(e => ReadModelFile.IsCheckViolation(e));
    }

    [Fact]
    public void A_crash_occurrence_of_an_unknown_crash_and_a_crash_of_an_unknown_campaign_are_refused()
    {
        var occurrence = () => _file.Execute("""
            INSERT INTO crash_occurrences (campaign_id, signature, input_sha256, input_size, job_id, bot_id, sampled, reported_at)
            VALUES ('0123456789ab', '00000000000000ff', '4f0c7e4a4b0fa4f3bd3c0e9b1d8c1f6f2c4e1d0a9b8c7d6e5f4a3b2c1d0e9f8a', 10, '0123456789ab-0', 'bot-a', 1,
                    '2026-11-26T10:00:00.0000000Z')
            """);
        var crash = () => _file.Execute(Crash("1").Replace("'0123456789ab', '00000000000000aa'", "'ffffffffffff', '00000000000000aa'"));

        occurrence.Should().Throw<DbException>().Where(e => ReadModelFile.IsForeignKeyViolation(e));
        crash.Should().Throw<DbException>().Where(e => ReadModelFile.IsForeignKeyViolation(e));
    }

    [Fact]
    public void A_capability_of_an_unknown_bot_and_an_offline_bot_without_a_time_are_refused()
    {
        var capability = () => _file.Execute("INSERT INTO bot_capabilities (bot_id, engine, version) VALUES ('bot-nobody', 'libfuzzer', '14')");
        var offline = () => _file.Execute("""
            INSERT INTO bots (id, address, hostname, slots, memory_mb, status, registered_at, checked_in_at)
            VALUES ('bot-a', 'x', 'box', 1, 1024, 'offline', '2026-11-26T10:00:00.0000000Z', '2026-11-26T10:00:00.0000000Z')
            """);

        capability.Should().Throw<DbException>().Where(e => ReadModelFile.IsForeignKeyViolation(e));
        offline.Should().Throw<DbException>().Where(e => ReadModelFile.IsCheckViolation(e));
    }
}

public sealed class ConstraintTestsOnSqlite() : ConstraintTests(ReadModelStore.Sqlite);

public sealed class ConstraintTestsOnPostgreSql() : ConstraintTests(ReadModelStore.PostgreSql);
