using FluentMigrator;

namespace PandaFuzz.ReadModel.Migrations;

/// <summary>
/// Schema version 5: a crash's identity no longer counts its access size, so crashes split by size are one row. Their
/// old signatures go to <c>crash_former_signatures</c> (so their minimizations land on the row they became), and the
/// crash rows are rebuilt by replaying the campaign tag.
/// </summary>
[Migration(5, "crash identity without the access size")]
public sealed class M005_CrashIdentityWithoutSize : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE crash_former_signatures (
                campaign_id TEXT NOT NULL,
                former      TEXT NOT NULL,
                signature   TEXT NOT NULL,
                PRIMARY KEY (campaign_id, former)
            )
            """);
        Execute.Sql("DELETE FROM crash_occurrences");
        Execute.Sql("DELETE FROM crashes");
        Execute.Sql("DELETE FROM projection_offsets WHERE tag = 'campaign'");
    }

    public override void Down()
    {
        // Rows keyed without sizes are valid for version 4 too; only the former signatures go.
        Execute.Sql("DROP TABLE crash_former_signatures");
    }
}
