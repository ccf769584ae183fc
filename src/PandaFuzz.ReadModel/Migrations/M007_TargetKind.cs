using FluentMigrator;

namespace PandaFuzz.ReadModel.Migrations;

/// <summary>
/// Schema version 7: the projection follows a fifth entity kind, "target". No earlier release wrote target events, so
/// an existing read model has read every one there is up to the lowest offset it holds: starting the new kind there
/// spares a re-read of the whole journal from offset 0 on the first start after the upgrade.
/// </summary>
[Migration(7, "target entity kind")]
public sealed class M007_TargetKind : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            INSERT INTO projection_offsets (projection, tag, journal_offset, updated_at)
            SELECT projection, 'target', MIN(journal_offset), MAX(updated_at) FROM projection_offsets
            WHERE tag <> 'target'
            GROUP BY projection
            """);
    }

    public override void Down()
    {
        Execute.Sql("DELETE FROM projection_offsets WHERE tag = 'target'");
    }
}
