using FluentMigrator;

namespace PandaFuzz.ReadModel.Migrations;

/// <summary>Schema version 4: bot draining. No bot was drained before, so the default is right for every existing row.</summary>
[Migration(4, "bot draining")]
public sealed class M004_BotDraining : Migration
{
    public override void Up()
    {
        Execute.Sql("ALTER TABLE bots ADD COLUMN draining INTEGER NOT NULL DEFAULT 0 CHECK (draining IN (0, 1))");
    }

    public override void Down()
    {
        Execute.Sql("ALTER TABLE bots DROP COLUMN draining");
    }
}
