using FluentMigrator;

namespace PandaFuzz.ReadModel.Migrations;

/// <summary>
/// Schema version 2: crashes and the corpus. Their offsets are reset so the projection replays the campaign and corpus
/// tags to fill the new tables (campaign rows are applied again to the same values).
/// </summary>
[Migration(2, "crashes, crash occurrences, corpus versions and entries")]
public sealed class M002_CrashesAndCorpus : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE crashes (
                campaign_id          TEXT    NOT NULL REFERENCES campaigns (id),
                signature            TEXT    NOT NULL,
                id                   TEXT    NOT NULL UNIQUE,
                kind                 TEXT    NOT NULL,
                state                TEXT    NOT NULL,
                security             INTEGER NOT NULL CHECK (security IN (0, 1)),
                occurrences          BIGINT  NOT NULL CHECK (occurrences >= 0),
                reproduce_attempts   BIGINT  NOT NULL CHECK (reproduce_attempts >= 0),
                reproduced           BIGINT  NOT NULL CHECK (reproduced >= 0),
                first_job_id         TEXT    NOT NULL,
                first_bot_id         TEXT    NOT NULL,
                first_input          TEXT    NOT NULL,
                first_seen           TEXT    NOT NULL,
                last_seen            TEXT    NOT NULL,
                minimized_input      TEXT    NULL,
                minimized_size       BIGINT  NULL CHECK (minimized_size >= 0),
                minimization_failure TEXT    NULL,
                minimized_at         TEXT    NULL,
                PRIMARY KEY (campaign_id, signature),
                CHECK (last_seen >= first_seen)
            )
            """);
        Execute.Sql("CREATE INDEX ix_crashes_campaign_last_seen ON crashes (campaign_id, last_seen)");
        Execute.Sql("CREATE INDEX ix_crashes_kind ON crashes (kind)");
        Execute.Sql("CREATE INDEX ix_crashes_security ON crashes (security, last_seen)");

        // Once per input: the campaign counts an input once.
        Execute.Sql("""
            CREATE TABLE crash_occurrences (
                campaign_id       TEXT    NOT NULL,
                signature         TEXT    NOT NULL,
                input_sha256      TEXT    NOT NULL CHECK (length(input_sha256) = 64),
                input_size        BIGINT  NOT NULL CHECK (input_size >= 0),
                job_id            TEXT    NOT NULL,
                bot_id            TEXT    NOT NULL,
                sampled           INTEGER NOT NULL CHECK (sampled IN (0, 1)),
                reported_at       TEXT    NOT NULL,
                PRIMARY KEY (campaign_id, input_sha256),
                FOREIGN KEY (campaign_id, signature) REFERENCES crashes (campaign_id, signature) ON DELETE CASCADE
            )
            """);
        Execute.Sql("CREATE INDEX ix_crash_occurrences_crash ON crash_occurrences (campaign_id, signature, reported_at)");
        Execute.Sql("CREATE INDEX ix_crash_occurrences_job ON crash_occurrences (job_id)");
        Execute.Sql("CREATE INDEX ix_crash_occurrences_bot ON crash_occurrences (bot_id, reported_at)");

        // The corpus entity is another tag than its campaign: no foreign key to campaigns (see jobs).
        Execute.Sql("""
            CREATE TABLE corpus_versions (
                campaign_id       TEXT    NOT NULL,
                version           INTEGER NOT NULL CHECK (version >= 1),
                entries           INTEGER NOT NULL CHECK (entries >= 0),
                bytes             BIGINT  NOT NULL CHECK (bytes >= 0),
                reason            TEXT    NOT NULL,
                since             TEXT    NULL,
                PRIMARY KEY (campaign_id, version)
            )
            """);
        Execute.Sql("""
            CREATE TABLE corpus_entries (
                campaign_id       TEXT    NOT NULL,
                version           INTEGER NOT NULL,
                input_sha256      TEXT    NOT NULL CHECK (length(input_sha256) = 64),
                size              BIGINT  NOT NULL CHECK (size >= 0),
                source            TEXT    NOT NULL,
                PRIMARY KEY (campaign_id, version, input_sha256),
                FOREIGN KEY (campaign_id, version) REFERENCES corpus_versions (campaign_id, version) ON DELETE CASCADE
            )
            """);

        Execute.Sql("DELETE FROM projection_offsets WHERE tag IN ('campaign', 'corpus')");
    }

    public override void Down()
    {
        Delete.Table("corpus_entries");
        Delete.Table("corpus_versions");
        Delete.Table("crash_occurrences");
        Delete.Table("crashes");
    }
}
