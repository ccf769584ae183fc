using System.CommandLine;
using Akka.Configuration;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Master.Projection;
using PandaFuzz.ReadModel;
using Serilog;

namespace PandaFuzz.Node;

/// <summary>
/// <c>pandafuzz db status | migrate | rollback | rebuild-read-model | backup | gc</c>: one command, then exit. A master
/// started without one checks its read-model schema (migrating it when allowed) and stops on a schema newer than this build.
/// </summary>
public static class DatabaseCommands
{
    /// <summary>Exit code of a refused command or start: the read model is not usable as it is.</summary>
    public const int Refused = 2;

    /// <summary>Null when the node should start; otherwise the process's exit code.</summary>
    public static async Task<int?> RunAsync(string[] args, NodeSettings node, Config config, MasterSettings? master, TextWriter output)
    {
        var database = master is null ? ReadModelDatabase.In(node.DataDir) : new MasterStorage(master.Storage, node.DataDir).ReadModel;
        if (args is not ["db", ..])
        {
            return master is null ? null : CheckAtStart(database, master.ReadModel);
        }

        if (master is null)
        {
            await output.WriteLineAsync($"pandafuzz db works on a master's data dir: this node's roles ({string.Join(",", node.Roles)}, {NodeSettings.RolesVariable}) do not include master");
            return Refused;
        }

        // Help and usage errors go where the commands write, so a test (or a wrapper) sees them.
        return await Commands(database, node, config, master, output).Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
    }

    private static int? CheckAtStart(ReadModelDatabase database, ReadModelSettings settings)
    {
        try
        {
            var before = new ReadModelSchema(database).Status();
            var after = new ReadModelSchema(database).EnsureCurrent(settings.MigrateOnStart);
            if (after.Current != before.Current)
            {
                Log.Information("Read model {Path} migrated from schema version {From} to {To}", database.Name, before.Current, after.Current);
            }

            return null;
        }
        catch (ReadModelSchemaException e)
        {
            Log.Fatal("PandaFuzz cannot start: {Problem}", e.Message);
            return Refused;
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            // An unreachable server or a refused login: say which database, never the connection string (it may hold a password).
            Log.Fatal("PandaFuzz cannot start: the read model {Database} cannot be opened: {Problem}", database.Name, e.GetBaseException().Message);
            return Refused;
        }
    }

    private static RootCommand Commands(ReadModelDatabase database, NodeSettings node, Config config, MasterSettings master, TextWriter output)
    {
        var status = new Command("status", "Print the read model's schema version, the latest this build knows, and the pending migrations");
        status.SetAction(_ => Refusing(output, () => PrintStatus(database, new ReadModelSchema(database).Status(), output)));

        var migrate = new Command("migrate", "Apply every pending migration");
        migrate.SetAction(_ => Refusing(output, () =>
        {
            using var held = Exclusive(database, "migrate");
            var before = new ReadModelSchema(database).Status();
            var after = new ReadModelSchema(database).MigrateUp();
            output.WriteLine($"migrated {database.Name} from version {before.Current} to {after.Current}");
        }));

        var to = new Option<long?>("--to") { Description = "The version to roll back to (0: no tables); by default the one before the current" };
        var rollback = new Command("rollback", "Roll the schema back, running each newer migration's down step");
        rollback.Options.Add(to);
        rollback.SetAction(parse => Refusing(output, () =>
        {
            using var held = Exclusive(database, "rollback");
            var schema = new ReadModelSchema(database);
            var before = schema.Status();
            var target = parse.GetValue(to) ?? before.Applied.Where(v => v < before.Current).DefaultIfEmpty(0).Max();
            var after = schema.RollbackTo(target);
            output.WriteLine($"rolled {database.Name} back from version {before.Current} to {after.Current}");
        }));

        var rebuild = new Command("rebuild-read-model", "Empty the read model and project the whole journal again (the master must be stopped)");
        rebuild.SetAction(async (_, ct) =>
        {
            var storage = new MasterStorage(master.Storage, node.DataDir);
            var journal = storage.JournalName;
            if (storage.JournalFile is { } file && !File.Exists(file))
            {
                await output.WriteLineAsync($"no journal at {file}: nothing to rebuild from");
                return Refused;
            }

            var system = ReadModelRebuild.OfflineJournalReader(storage.Persistence(), config, storage.Setup());
            try
            {
                var result = await ReadModelRebuild.RunAsync(system, database, master.ReadModel.BatchSize, ct);
                await output.WriteLineAsync(
                    $"rebuilt {database.Name} from {journal}: {result.Events} events ({string.Join(", ", result.EventsByKind.Select(t => $"{t.Key} {t.Value}"))}) " +
                    $"in {result.Took.TotalSeconds:0.0} s");
                return 0;
            }
            catch (ReadModelSchemaException e)
            {
                await output.WriteLineAsync(e.Message);
                return Refused;
            }
            finally
            {
                await system.Terminate();
            }
        });

        var db = new Command("db", "The master's databases: the journal (" + SqliteJournal.FileName + ") and the SQL read model (" +
                                   ReadModelDatabase.FileName + ") in the data dir, or both in its PostgreSQL database");
        db.Subcommands.Add(status);
        db.Subcommands.Add(migrate);
        db.Subcommands.Add(rollback);
        db.Subcommands.Add(rebuild);
        db.Subcommands.Add(Backup(node, master, output));
        db.Subcommands.Add(Gc(node, master, output));
        var root = new RootCommand("PandaFuzz: without arguments the node starts with the roles of " + NodeSettings.RolesVariable);
        root.Subcommands.Add(db);
        return root;
    }

    /// <summary><c>pandafuzz db gc [--dry-run] [--grace-hours N]</c>: one sweep of the blob store, while the master runs or not.</summary>
    private static Command Gc(NodeSettings node, MasterSettings master, TextWriter output)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Count what would be deleted, delete nothing" };
        var graceHours = new Option<double?>("--grace-hours") { Description = "Keep unreferenced blobs younger than this (default pandafuzz.master.blob-gc.grace)" };
        var gc = new Command("gc", "Delete the blobs that no event names, no uploaded target is and that are older than the grace period");
        gc.Options.Add(dryRun);
        gc.Options.Add(graceHours);
        gc.SetAction(parse =>
        {
            var grace = parse.GetValue(graceHours) is { } hours ? TimeSpan.FromHours(hours) : master.BlobGc.Grace;
            if (grace < TimeSpan.Zero)
            {
                output.WriteLine("--grace-hours must be 0 or more");
                return Refused;
            }

            var collection = BlobSweep.Run(new MasterStorage(master.Storage, node.DataDir), new ContentAddressedStore(node.BlobDir), grace, parse.GetValue(dryRun));
            output.WriteLine($"{node.BlobDir}: {BlobSweep.Describe(collection)}");
            return 0;
        });
        return gc;
    }

    /// <summary>
    /// <c>db backup</c>: the journal first, then the blobs. Every blob an event keeps is stored before the event is
    /// persisted (uploads before campaigns; crash samples, minimized inputs and corpus entries before the events naming
    /// them), and blobs never change nor go while kept, so the blobs copied after the journal cover it. The read model
    /// is not copied: <c>rebuild-read-model</c> makes it again.
    /// </summary>
    private static Command Backup(NodeSettings node, MasterSettings master, TextWriter output)
    {
        var to = new Option<FileInfo>("--to") { Description = "The file to write the copy of the journal to", Required = true };
        var blobs = new Option<DirectoryInfo?>("--blobs") { Description = "Also copy the blob store into this directory (only blobs not already there)" };
        var force = new Option<bool>("--force") { Description = "Replace the --to file if it exists" };
        var backup = new Command("backup", "Copy the journal (and with --blobs the blob store) consistently, while the master runs");
        backup.Options.Add(to);
        backup.Options.Add(blobs);
        backup.Options.Add(force);
        backup.SetAction(parse =>
        {
            if (master.Storage.Provider == StorageProvider.PostgreSql)
            {
                output.WriteLine("the journal is in PostgreSQL (pandafuzz.master.storage): back it up with pg_dump, and the blob store with a copy (ops/storage.md)");
                return Refused;
            }

            var journal = Path.Combine(node.DataDir, SqliteJournal.FileName);
            JournalBackupResult copy;
            try
            {
                copy = JournalBackup.Run(journal, parse.GetValue(to)!.FullName, parse.GetValue(force));
            }
            catch (JournalBackupException e)
            {
                output.WriteLine(e.Message);
                return Refused;
            }

            output.WriteLine($"backed up {journal} to {copy.Destination}: {copy.Bytes} bytes, {copy.Events} events (journal ordering up to " +
                             $"{copy.LastOrdering}), integrity_check ok, in {copy.Took.TotalSeconds:0.0} s");
            if (parse.GetValue(blobs) is not { } blobDir)
            {
                output.WriteLine($"blobs not copied: pass --blobs DIR to copy {node.BlobDir} as well");
                return 0;
            }

            var store = node.BlobDir;
            var copied = BlobStoreBackup.Copy(store, blobDir.FullName);
            output.WriteLine($"copied {store} to {blobDir.FullName}: {copied.Copied} new blobs ({copied.CopiedBytes} bytes), {copied.AlreadyThere} already there");
            if (copied.Damaged.Count > 0)
            {
                output.WriteLine($"{copied.Damaged.Count} blobs in the store do not match their sha256 and were not copied: {string.Join(", ", copied.Damaged)}");
                return 1;
            }

            return 0;
        });
        return backup;
    }

    private static void PrintStatus(ReadModelDatabase database, SchemaStatus status, TextWriter output)
    {
        output.WriteLine($"read model: {database.Name}");
        output.WriteLine($"schema version: {status.Current} (latest known to this build: {status.Latest})");
        output.WriteLine($"applied: {(status.Applied.Count == 0 ? "none" : string.Join(", ", status.Applied))}");
        output.WriteLine(status.Pending.Count == 0
            ? "pending: none"
            : "pending: " + string.Join("; ", status.Pending.Select(p => $"{p.Version} {p.Description}")));
        if (status.IsNewerThanCode)
        {
            output.WriteLine($"unknown to this build: {string.Join(", ", status.Unknown)} (a newer PandaFuzz migrated it; this build will not start on it)");
        }
    }

    /// <summary>
    /// A schema change under a running projection would be undone (its restart migrates again) or half lost (offsets a
    /// migration resets): it needs the read model's lock.
    /// </summary>
    private static ReadModelLock Exclusive(ReadModelDatabase database, string command) =>
        ReadModelLock.TryAcquire(database)
        ?? throw new ReadModelSchemaException($"the read model {database.Name} is being written ({ReadModelLock.Describe(database)}): stop the master before 'pandafuzz db {command}'");

    private static int Refusing(TextWriter output, Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (ReadModelSchemaException e)
        {
            output.WriteLine(e.Message);
            return Refused;
        }
    }
}
