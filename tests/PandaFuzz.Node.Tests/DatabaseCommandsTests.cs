using Akka.Configuration;
using FluentAssertions;
using PandaFuzz.Master.Configuration;
using PandaFuzz.ReadModel;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary><c>pandafuzz db …</c> on a real data dir, and the read-model check a starting master makes.</summary>
public sealed class DatabaseCommandsTests : IDisposable
{
    /// <summary>The newest read-model schema version: one line to change with each migration.</summary>
    private const int Latest = 10;

    private static readonly MasterSettings Master = new(
        TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), 5, TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30),
        TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), 50, 1 << 20, 1 << 20, 1 << 20, 500, TimeSpan.FromSeconds(30), 240,
        5, 10_000, TimeSpan.FromSeconds(120), WebhookSettings.None);

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "pandafuzz-db-" + Guid.NewGuid().ToString("N"));
    private readonly NodeSettings _node;

    public DatabaseCommandsTests()
    {
        _node = NodeSettings.FromEnvironment(name => name switch
        {
            NodeSettings.RolesVariable => "master",
            NodeSettings.DataDirVariable => _dataDir,
            _ => null,
        });
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dataDir, recursive: true);
    }

    private async Task<(int? Exit, string Output)> Run(params string[] args) => await Run(Master, args);

    private async Task<(int? Exit, string Output)> Run(MasterSettings master, params string[] args)
    {
        var output = new StringWriter();
        var exit = await DatabaseCommands.RunAsync(args, _node, Config.Empty, master, output);
        return (exit, output.ToString());
    }

    [Fact]
    public async Task Status_migrate_and_rollback_report_the_versions()
    {
        var (exit, fresh) = await Run("db", "status");
        exit.Should().Be(0);
        fresh.Should().Contain($"schema version: 0 (latest known to this build: {Latest})").And.Contain("pending: 1 ");
        foreach (var version in Enumerable.Range(2, Latest - 1))
        {
            fresh.Should().Contain($"; {version} ");
        }


        (exit, var migrated) = await Run("db", "migrate");
        exit.Should().Be(0);
        migrated.Should().Contain($"from version 0 to {Latest}");
        (await Run("db", "status")).Output.Should().Contain($"schema version: {Latest} (latest known to this build: {Latest})").And.Contain("pending: none");

        (exit, var back) = await Run("db", "rollback");
        exit.Should().Be(0);
        back.Should().Contain($"back from version {Latest} to {Latest - 1}");

        (exit, back) = await Run("db", "rollback", "--to", "0");
        exit.Should().Be(0);
        back.Should().Contain($"back from version {Latest - 1} to 0");
    }

    [Fact]
    public async Task Without_db_arguments_a_master_migrates_and_starts()
    {
        var (exit, _) = await Run();

        exit.Should().BeNull("the node goes on to start");
        new ReadModelSchema(ReadModelDatabase.In(_dataDir)).Status().Current.Should().Be(Latest);
    }

    [Fact]
    public async Task A_master_that_may_not_migrate_does_not_start_on_an_old_schema()
    {
        var (exit, _) = await Run(Master with { ReadModel = ReadModelSettings.Default with { MigrateOnStart = false } });

        exit.Should().Be(DatabaseCommands.Refused);
    }

    [Fact]
    public async Task A_schema_newer_than_the_build_stops_the_start_and_is_named_by_status()
    {
        var schema = new ReadModelSchema(ReadModelDatabase.In(_dataDir));
        schema.MigrateUp();
        using (var connection = ReadModelDatabase.In(_dataDir).Open())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"INSERT INTO VersionInfo (Version, AppliedOn, Description) VALUES ({Latest + 1}, '2027-01-01T00:00:00', 'later')";
            command.ExecuteNonQuery();
        }

        var (start, _) = await Run();
        var (migrate, refusal) = await Run("db", "migrate");
        var (status, report) = await Run("db", "status");

        start.Should().Be(DatabaseCommands.Refused);
        migrate.Should().Be(DatabaseCommands.Refused);
        refusal.Should().Contain($"schema version {Latest + 1}, newer than this build knows (latest {Latest}");
        status.Should().Be(0);
        report.Should().Contain($"unknown to this build: {Latest + 1}");
    }

    [Fact]
    public async Task Schema_changes_are_refused_while_a_projection_holds_the_read_model()
    {
        (await Run("db", "migrate")).Exit.Should().Be(0);
        using var projection = ReadModelLock.TryAcquire(ReadModelDatabase.In(_dataDir));
        projection.Should().NotBeNull();

        var (rollback, refusal) = await Run("db", "rollback");
        var (migrate, _) = await Run("db", "migrate");
        var (status, _) = await Run("db", "status");

        rollback.Should().Be(DatabaseCommands.Refused);
        refusal.Should().Contain("stop the master before 'pandafuzz db rollback'");
        migrate.Should().Be(DatabaseCommands.Refused);
        status.Should().Be(0, "status only reads");
        new ReadModelSchema(ReadModelDatabase.In(_dataDir)).Status().Current.Should().Be(Latest);
    }

    [Fact]
    public async Task Rebuild_without_a_journal_is_refused()
    {
        var (exit, output) = await Run("db", "rebuild-read-model");

        exit.Should().Be(DatabaseCommands.Refused);
        output.Should().Contain("no journal");
    }

    [Fact]
    public async Task An_unknown_db_command_is_a_usage_error()
    {
        var (exit, _) = await Run("db", "explode");

        exit.Should().NotBe(0).And.NotBeNull();
    }
}
