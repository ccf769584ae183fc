using FluentMigrator;

namespace PandaFuzz.ReadModel.Migrations;

/// <summary>
/// Schema version 9: each job's stats over time, kept after the job and the campaign end (<see cref="StatsStore"/>).
/// Not projected from the journal (stats are not events): a rebuild of the projected tables leaves it alone.
/// <c>step_seconds</c> is the row's resolution: the sampling interval, or the coarser step old rows are compacted to.
/// </summary>
[Migration(9, "stats points")]
public sealed class M009_StatsPoints : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE stats_points (
                job_id            TEXT    NOT NULL,
                campaign_id       TEXT    NOT NULL,
                engine            TEXT    NOT NULL,
                step_seconds      INTEGER NOT NULL CHECK (step_seconds > 0),
                at_ms             BIGINT  NOT NULL,
                execs             BIGINT  NOT NULL,
                execs_per_second  BIGINT  NOT NULL,
                coverage          BIGINT  NOT NULL,
                features          BIGINT  NOT NULL,
                corpus_units      BIGINT  NOT NULL,
                corpus_bytes      BIGINT  NOT NULL,
                rss_mb            BIGINT  NOT NULL,
                total_edges       BIGINT  NOT NULL,
                stability         DOUBLE PRECISION NULL,
                crashes           BIGINT  NOT NULL,
                hangs             BIGINT  NOT NULL,
                imported          BIGINT  NOT NULL,
                last_find_ms      BIGINT  NULL,
                PRIMARY KEY (job_id, step_seconds, at_ms)
            )
            """);
        Execute.Sql("CREATE INDEX ix_stats_points_campaign ON stats_points (campaign_id, at_ms)");
    }

    public override void Down()
    {
        Execute.Sql("DROP TABLE stats_points");
    }
}
