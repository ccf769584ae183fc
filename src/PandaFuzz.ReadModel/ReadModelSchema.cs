using FluentMigrator.Runner;
using Microsoft.Extensions.DependencyInjection;

namespace PandaFuzz.ReadModel;

/// <summary>Where a read-model database's schema stands against the migrations this build knows.</summary>
public sealed record SchemaStatus(long Current, long Latest, IReadOnlyList<long> Applied, IReadOnlyList<(long Version, string Description)> Pending, IReadOnlyList<long> Unknown)
{
    /// <summary>The database has migrations this build does not know: a newer PandaFuzz wrote it.</summary>
    public bool IsNewerThanCode => Unknown.Count > 0;

    public bool IsCurrent => Pending.Count == 0 && !IsNewerThanCode;
}

/// <summary>A read-model schema that this build cannot use; the message names the versions and what to do.</summary>
public sealed class ReadModelSchemaException(string message) : Exception(message);

/// <summary>The read model's versioned schema: status, migrate up, roll back, and the check a starting master makes.</summary>
public sealed class ReadModelSchema(ReadModelDatabase database)
{
    public SchemaStatus Status() => WithServices(services =>
    {
        var known = services.GetRequiredService<IMigrationRunner>().MigrationLoader.LoadMigrations();
        var versions = services.GetRequiredService<IVersionLoader>();
        versions.LoadVersionInfo();
        var applied = versions.VersionInfo.AppliedMigrations().OrderBy(v => v).ToList();
        var pending = known.Where(m => !applied.Contains(m.Key)).Select(m => (m.Key, m.Value.Description ?? "")).OrderBy(m => m.Key).ToList();
        var unknown = applied.Where(v => !known.ContainsKey(v)).ToList();
        return new SchemaStatus(applied.Count == 0 ? 0 : applied.Max(), known.Keys.DefaultIfEmpty(0).Max(), applied, pending, unknown);
    });

    /// <summary>Applies every pending migration (up to <paramref name="version"/> when given); refuses a database newer than this build.</summary>
    public SchemaStatus MigrateUp(long? version = null)
    {
        RefuseNewer(Status());
        WithRunner(runner =>
        {
            if (version is { } target)
            {
                runner.MigrateUp(target);
            }
            else
            {
                runner.MigrateUp();
            }

            return 0;
        });
        return Status();
    }

    /// <summary>Rolls back to <paramref name="version"/> (0: an empty schema), running each newer migration's down step.</summary>
    public SchemaStatus RollbackTo(long version)
    {
        var status = Status();
        RefuseNewer(status);
        if (version < 0 || version > status.Current)
        {
            throw new ReadModelSchemaException($"cannot roll back the read model to version {version}: it is at version {status.Current}");
        }

        WithRunner(runner =>
        {
            runner.MigrateDown(version);
            return 0;
        });
        return Status();
    }

    /// <summary>Migrates when allowed, else insists on the latest schema; a schema newer than this build always stops the master.</summary>
    public SchemaStatus EnsureCurrent(bool migrate)
    {
        var status = Status();
        RefuseNewer(status);
        if (status.Pending.Count == 0)
        {
            return status;
        }

        if (!migrate)
        {
            throw new ReadModelSchemaException(
                $"the read model {database.Name} is at schema version {status.Current}, this build needs version {status.Latest}: " +
                "run 'pandafuzz db migrate', or set pandafuzz.master.read-model.migrate-on-start = on");
        }

        return MigrateUp();
    }

    private void RefuseNewer(SchemaStatus status)
    {
        if (status.IsNewerThanCode)
        {
            throw new ReadModelSchemaException(
                $"the read model {database.Name} is at schema version {status.Current}, newer than this build knows (latest {status.Latest}; " +
                $"unknown versions {string.Join(", ", status.Unknown)}): run a PandaFuzz that knows it, or roll it back with that version's 'pandafuzz db rollback --to {status.Latest}'");
        }
    }

    private T WithRunner<T>(Func<IMigrationRunner, T> action) => WithServices(services => action(services.GetRequiredService<IMigrationRunner>()));

    private T WithServices<T>(Func<IServiceProvider, T> action)
    {
        using var connection = database.Open();
        connection.Close();
        using var services = new ServiceCollection()
            .AddFluentMigratorCore()
            .ConfigureRunner(runner => (database.Store == ReadModelStore.PostgreSql ? runner.AddPostgres() : runner.AddSQLite())
                .WithGlobalConnectionString(database.ConnectionString)
                .ScanIn(typeof(ReadModelSchema).Assembly).For.Migrations())
            .BuildServiceProvider(validateScopes: false);
        using var scope = services.CreateScope();
        return action(scope.ServiceProvider);
    }
}
