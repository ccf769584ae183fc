using FluentMigrator;

namespace PandaFuzz.ReadModel.Migrations;

/// <summary>
/// Schema version 3: a crash's first summary, found-at and minimization job. Crash rows are only written whole from
/// their first report, so they are emptied and the campaign tag replayed to fill the new columns.
/// </summary>
[Migration(3, "crash summary, found-at and minimization job")]
public sealed class M003_CrashSummary : Migration
{
    public override void Up()
    {
        Execute.Sql("ALTER TABLE crashes ADD COLUMN summary TEXT NULL");
        Execute.Sql("ALTER TABLE crashes ADD COLUMN found_at TEXT NULL");
        Execute.Sql("ALTER TABLE crashes ADD COLUMN minimization_job_id TEXT NULL");
        Execute.Sql("DELETE FROM crash_occurrences");
        Execute.Sql("DELETE FROM crashes");
        Execute.Sql("DELETE FROM projection_offsets WHERE tag = 'campaign'");
    }

    public override void Down()
    {
        // The columns go; the rows stay valid for version 2, which never had them.
        Execute.Sql("ALTER TABLE crashes DROP COLUMN minimization_job_id");
        Execute.Sql("ALTER TABLE crashes DROP COLUMN found_at");
        Execute.Sql("ALTER TABLE crashes DROP COLUMN summary");
    }
}
