using FluentMigrator;

namespace PandaFuzz.ReadModel.Migrations;

/// <summary>
/// Schema version 10: a job may measure a campaign's source coverage (task 'coverage'). As in version 8, the jobs table
/// is rebuilt with the wider check, its rows and indexes kept (SQLite cannot alter a CHECK); rolling back drops those jobs.
/// </summary>
[Migration(10, "coverage jobs")]
public sealed class M010_CoverageJobs : Migration
{
    public override void Up() => Rebuild(WithCoverage, keep: "1 = 1");

    public override void Down() => Rebuild(WithoutCoverage, keep: "task <> 'coverage'");

    private void Rebuild(string table, string keep)
    {
        Execute.Sql(table);
        Execute.Sql($"INSERT INTO jobs_rebuilt SELECT * FROM jobs WHERE {keep}");
        Execute.Sql("DROP TABLE jobs");
        Execute.Sql("ALTER TABLE jobs_rebuilt RENAME TO jobs");
        Execute.Sql("CREATE INDEX ix_jobs_campaign_status ON jobs (campaign_id, status)");
        Execute.Sql("CREATE INDEX ix_jobs_status_engine ON jobs (status, engine)");
        Execute.Sql("CREATE INDEX ix_jobs_bot_status ON jobs (bot_id, status)");
        Execute.Sql("CREATE INDEX ix_jobs_created ON jobs (created_at)");
    }

    private const string WithCoverage = """
            CREATE TABLE jobs_rebuilt (
                id                TEXT    NOT NULL PRIMARY KEY,
                campaign_id       TEXT    NOT NULL,
                job_index         INTEGER NOT NULL CHECK (job_index >= 0),
                task              TEXT    NOT NULL CHECK (task IN ('fuzz', 'minimize-corpus', 'minimize-crash', 'verify-bug', 'coverage')),
                engine            TEXT    NOT NULL,
                target            TEXT    NOT NULL,
                duration_seconds  INTEGER NOT NULL CHECK (duration_seconds > 0),
                memory_limit_mb   INTEGER NOT NULL CHECK (memory_limit_mb >= 0),
                timeout_ms        INTEGER NOT NULL CHECK (timeout_ms >= 0),
                dictionary        TEXT    NULL,
                status            TEXT    NOT NULL CHECK (status IN ('pending', 'assigned', 'running', 'completed', 'failed', 'cancelled')),
                bot_id            TEXT    NULL,
                failure_reason    TEXT    NULL,
                created_at        TEXT    NOT NULL,
                assigned_at       TEXT    NULL,
                started_at        TEXT    NULL,
                finished_at       TEXT    NULL,
                final_execs       BIGINT  NULL CHECK (final_execs >= 0),
                final_coverage    BIGINT  NULL CHECK (final_coverage >= 0),
                UNIQUE (campaign_id, job_index),
                CHECK ((status IN ('assigned', 'running') AND bot_id IS NOT NULL)
                    OR (status = 'pending' AND bot_id IS NULL)
                    OR status IN ('completed', 'failed', 'cancelled')),
                CHECK ((status IN ('completed', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
                CHECK (status <> 'running' OR started_at IS NOT NULL)
            )
            """;

    // The table as version 8 made it: the same, without the new task.
    private static readonly string WithoutCoverage = WithCoverage.Replace(", 'coverage'", "", StringComparison.Ordinal);
}
