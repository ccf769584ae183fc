using FluentMigrator;

namespace PandaFuzz.ReadModel.Migrations;

/// <summary>
/// Schema version 1. Written in SQL because SQLite takes CHECK constraints and foreign keys only in CREATE TABLE; the
/// statements keep to what SQLite and PostgreSQL both accept.
/// </summary>
[Migration(1, "campaigns, jobs, bots, bot capabilities, projection offsets")]
public sealed class M001_CampaignsJobsBots : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE campaigns (
                id                TEXT    NOT NULL PRIMARY KEY,
                name              TEXT    NOT NULL,
                target            TEXT    NOT NULL,
                target_name       TEXT    NULL,
                engine            TEXT    NOT NULL,
                engines           TEXT    NOT NULL,
                planned_jobs      INTEGER NOT NULL CHECK (planned_jobs >= 0),
                duration_seconds  INTEGER NOT NULL CHECK (duration_seconds > 0),
                memory_limit_mb   INTEGER NOT NULL CHECK (memory_limit_mb >= 0),
                timeout_ms        INTEGER NOT NULL CHECK (timeout_ms >= 0),
                dictionary        TEXT    NULL,
                status            TEXT    NOT NULL CHECK (status IN ('running', 'stopping', 'completed', 'stopped')),
                created_at        TEXT    NOT NULL,
                finished_at       TEXT    NULL,
                CHECK ((status IN ('completed', 'stopped')) = (finished_at IS NOT NULL))
            )
            """);
        Execute.Sql("CREATE INDEX ix_campaigns_status_created ON campaigns (status, created_at)");
        Execute.Sql("CREATE INDEX ix_campaigns_created ON campaigns (created_at)");

        // A job's campaign and bot are other entities' events, projected from other tags, so they may arrive later
        // than the job's: no foreign key to campaigns or bots.
        Execute.Sql("""
            CREATE TABLE jobs (
                id                TEXT    NOT NULL PRIMARY KEY,
                campaign_id       TEXT    NOT NULL,
                job_index         INTEGER NOT NULL CHECK (job_index >= 0),
                task              TEXT    NOT NULL CHECK (task IN ('fuzz', 'minimize-corpus', 'minimize-crash')),
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
            """);
        Execute.Sql("CREATE INDEX ix_jobs_campaign_status ON jobs (campaign_id, status)");
        Execute.Sql("CREATE INDEX ix_jobs_status_engine ON jobs (status, engine)");
        Execute.Sql("CREATE INDEX ix_jobs_bot_status ON jobs (bot_id, status)");
        Execute.Sql("CREATE INDEX ix_jobs_created ON jobs (created_at)");

        Execute.Sql("""
            CREATE TABLE bots (
                id                TEXT    NOT NULL PRIMARY KEY,
                address           TEXT    NOT NULL,
                hostname          TEXT    NOT NULL,
                slots             INTEGER NOT NULL CHECK (slots >= 0),
                memory_mb         BIGINT  NOT NULL CHECK (memory_mb >= 0),
                status            TEXT    NOT NULL CHECK (status IN ('online', 'offline')),
                registered_at     TEXT    NOT NULL,
                checked_in_at     TEXT    NOT NULL,
                offline_reason    TEXT    NULL,
                offline_since     TEXT    NULL,
                CHECK ((status = 'offline') = (offline_since IS NOT NULL))
            )
            """);
        Execute.Sql("CREATE INDEX ix_bots_status ON bots (status, checked_in_at)");

        Execute.Sql("""
            CREATE TABLE bot_capabilities (
                bot_id            TEXT    NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
                engine            TEXT    NOT NULL,
                version           TEXT    NOT NULL,
                PRIMARY KEY (bot_id, engine)
            )
            """);
        Execute.Sql("CREATE INDEX ix_bot_capabilities_engine ON bot_capabilities (engine)");

        // Written in the same transaction as the last event's rows.
        Execute.Sql("""
            CREATE TABLE projection_offsets (
                projection        TEXT    NOT NULL,
                tag               TEXT    NOT NULL,
                journal_offset    BIGINT  NOT NULL CHECK (journal_offset >= 0),
                updated_at        TEXT    NOT NULL,
                PRIMARY KEY (projection, tag)
            )
            """);
    }

    public override void Down()
    {
        Delete.Table("projection_offsets");
        Delete.Table("bot_capabilities");
        Delete.Table("bots");
        Delete.Table("jobs");
        Delete.Table("campaigns");
    }
}
