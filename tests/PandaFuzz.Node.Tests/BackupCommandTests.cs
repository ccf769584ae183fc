using System.Security.Cryptography;
using Akka.Configuration;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Persistence;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary><c>pandafuzz db backup</c>: a consistent copy of a journal that is being written, and the blob store.</summary>
public sealed class BackupCommandTests : IDisposable
{
    private static readonly MasterSettings Master = new(
        TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), 5, TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30),
        TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), 50, 1 << 20, 1 << 20, 1 << 20, 500, TimeSpan.FromSeconds(30), 240,
        5, 10_000, TimeSpan.FromSeconds(120), WebhookSettings.None);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-backup-" + Guid.NewGuid().ToString("N"));
    private readonly NodeSettings _node;

    public BackupCommandTests()
    {
        _node = NodeSettings.FromEnvironment(name => name switch
        {
            NodeSettings.RolesVariable => "master",
            NodeSettings.DataDirVariable => DataDir,
            _ => null,
        });
        Directory.CreateDirectory(DataDir);
    }

    private string DataDir => Path.Combine(_root, "data");

    private string Journal => Path.Combine(DataDir, SqliteJournal.FileName);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_backup_taken_while_a_writer_appends_is_intact_and_holds_every_row_committed_before_it_started()
    {
        SqliteJournal.EnableWriteAheadLog(Journal);
        using (var setup = Open(Journal))
        {
            Execute(setup, "CREATE TABLE journal (ordering INTEGER PRIMARY KEY AUTOINCREMENT, payload BLOB NOT NULL)");
            // Enough pages that the copy takes a while, so the writer commits during it.
            Execute(setup, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO journal (payload) SELECT randomblob(400) FROM n");
        }

        long committed = 20_000;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            using var connection = Open(Journal);
            while (!stop.IsCancellationRequested)
            {
                using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO journal (payload) VALUES (randomblob(400)) RETURNING ordering";
                Interlocked.Exchange(ref committed, (long)insert.ExecuteScalar()!);
            }
        });
        var target = Path.Combine(_root, "backup", "journal.db");
        await WaitUntil(() => Interlocked.Read(ref committed) > 20_100);

        var before = Interlocked.Read(ref committed);
        var (exit, output) = await Run("db", "backup", "--to", target);
        var after = Interlocked.Read(ref committed);
        await WaitUntil(() => Interlocked.Read(ref committed) > after + 10);
        await stop.CancelAsync();
        await writer;

        exit.Should().Be(0, output);
        output.Should().Contain("integrity_check ok");
        using var copy = Open(target);
        JournalBackup.IntegrityCheck(copy).Should().Be("ok");
        Scalar(copy, "PRAGMA journal_mode").Should().Be("delete", "the copy is one self-contained file");
        Scalar(copy, $"SELECT COUNT(*) FROM journal WHERE ordering <= {before}").Should().Be(before, "every row committed before the backup started is in it");
        var copied = (long)Scalar(copy, "SELECT MAX(ordering) FROM journal")!;
        Scalar(copy, "SELECT COUNT(*) FROM journal").Should().Be(copied, "the copy is one point in time: no gaps");
        using var source = Open(Journal);
        ((long)Scalar(source, "SELECT COUNT(*) FROM journal")!).Should().BeGreaterThan(copied, "the writer went on committing after the copy's snapshot");
        Directory.GetFiles(Path.GetDirectoryName(target)!).Should().Equal([target], "no partial file is left beside the copy");
    }

    [Fact]
    public async Task An_existing_file_is_replaced_only_with_force()
    {
        SqliteJournal.EnableWriteAheadLog(Journal);
        var target = Path.Combine(_root, "exists.db");
        await File.WriteAllTextAsync(target, "keep me");

        var (exit, output) = await Run("db", "backup", "--to", target);

        exit.Should().Be(DatabaseCommands.Refused);
        output.Should().Contain($"{target} already exists").And.Contain("--force");
        (await File.ReadAllTextAsync(target)).Should().Be("keep me");

        (exit, output) = await Run("db", "backup", "--to", target, "--force");

        exit.Should().Be(0, output);
        using var copy = Open(target);
        JournalBackup.IntegrityCheck(copy).Should().Be("ok");
    }

    [Fact]
    public async Task Without_a_journal_there_is_nothing_to_back_up()
    {
        var (exit, output) = await Run("db", "backup", "--to", Path.Combine(_root, "b.db"));

        exit.Should().Be(DatabaseCommands.Refused);
        output.Should().Contain($"no journal at {Journal}");
        File.Exists(Journal).Should().BeFalse("the backup never creates the journal");
    }

    [Fact]
    public async Task Blobs_are_copied_verified_only_once_and_without_the_writes_in_progress()
    {
        SqliteJournal.EnableWriteAheadLog(Journal);
        var store = Path.Combine(DataDir, "blobs");
        var first = WriteBlob(store, "first blob"u8.ToArray());
        var second = WriteBlob(store, "second blob"u8.ToArray());
        Directory.CreateDirectory(Path.Combine(store, "incoming"));
        await File.WriteAllTextAsync(Path.Combine(store, "incoming", "upload-in-progress"), "half");
        var blobs = Path.Combine(_root, "backup-blobs");

        var (exit, output) = await Run("db", "backup", "--to", Path.Combine(_root, "1.db"), "--blobs", blobs);

        exit.Should().Be(0, output);
        output.Should().Contain("2 new blobs").And.Contain("0 already there");
        File.ReadAllBytes(Path.Combine(blobs, first[..2], first)).Should().Equal("first blob"u8.ToArray());
        File.ReadAllBytes(Path.Combine(blobs, second[..2], second)).Should().Equal("second blob"u8.ToArray());
        Directory.Exists(Path.Combine(blobs, "incoming")).Should().BeFalse();
        File.Exists(Path.Combine(store, "incoming", "upload-in-progress")).Should().BeTrue("the running master's upload is left alone");

        var third = WriteBlob(store, "third blob"u8.ToArray());
        var damaged = WriteBlob(store, "will rot"u8.ToArray());
        await File.WriteAllTextAsync(Path.Combine(store, damaged[..2], damaged), "rotten");

        (exit, output) = await Run("db", "backup", "--to", Path.Combine(_root, "2.db"), "--blobs", blobs);

        exit.Should().Be(1, "a damaged blob in the store is reported");
        output.Should().Contain("1 new blobs").And.Contain("2 already there").And.Contain(damaged);
        File.Exists(Path.Combine(blobs, third[..2], third)).Should().BeTrue();
        File.Exists(Path.Combine(blobs, damaged[..2], damaged)).Should().BeFalse();
    }

    private static string WriteBlob(string store, byte[] content)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));
        Directory.CreateDirectory(Path.Combine(store, sha[..2]));
        File.WriteAllBytes(Path.Combine(store, sha[..2], sha), content);
        return sha;
    }

    private async Task<(int? Exit, string Output)> Run(params string[] args)
    {
        var output = new StringWriter();
        var exit = await DatabaseCommands.RunAsync(args, _node, Config.Empty, Master, output);
        return (exit, output.ToString());
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        Execute(connection, SqlitePragmas.Journal.Statements);
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
