using FluentMigrator;

namespace PandaFuzz.ReadModel.Migrations;

/// <summary>Schema version 6: each crash row's bug and crashing location; crash rows are rebuilt from the journal, as in version 5.</summary>
[Migration(6, "crash rows name their bug")]
public sealed class M006_CrashBugs : Migration
{
    public override void Up()
    {
        Execute.Sql("ALTER TABLE crashes ADD COLUMN location TEXT NULL");
        Execute.Sql("ALTER TABLE crashes ADD COLUMN bug_id TEXT NULL");
        Execute.Sql("CREATE INDEX ix_crashes_bug ON crashes (bug_id)");
        Execute.Sql("DELETE FROM crash_occurrences");
        Execute.Sql("DELETE FROM crashes");
        Execute.Sql("DELETE FROM projection_offsets WHERE tag = 'campaign'");
    }

    public override void Down()
    {
        Execute.Sql("DROP INDEX ix_crashes_bug");
        Execute.Sql("ALTER TABLE crashes DROP COLUMN bug_id");
        Execute.Sql("ALTER TABLE crashes DROP COLUMN location");
    }
}
