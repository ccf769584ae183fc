using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// <c>pandafuzz db backup</c> run as its own process against a master that keeps creating campaigns, then a master
/// started on a fresh data dir made from the backup (journal file and blobs): every campaign confirmed before the
/// backup began is there. A master-only node: no bot, no fuzzer, so the jobs stay pending and the test is quick.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class BackupTests(ITestOutputHelper output) : EndToEndTest
{
    private static readonly TimeSpan BackupTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public Task A_backup_taken_under_write_load_restores_every_campaign_confirmed_before_it() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: a master, and a writer creating campaigns (each with its own target blob) until told to stop.
            var options = Env.NewNodeOptions("master", "master");
            var master = await Env.StartReadyNodeAsync(options, ct);
            var confirmed = new ConcurrentQueue<(string CampaignId, string Name, string TargetId)>();
            using var stopWriting = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var writer = Task.Run(async () =>
            {
                using var api = new ApiClient(options.BaseAddress);
                for (var i = 0; !stopWriting.IsCancellationRequested; i++)
                {
                    var target = await api.UploadTargetAsync($"backup-{i}", RandomNumberGenerator.GetBytes(4096), stopWriting.Token);
                    var (campaign, _) = await api.CreateCampaignAsync(new CampaignRequest($"backup-{i}", target.Id, DurationSeconds: 600), stopWriting.Token);
                    confirmed.Enqueue((campaign.Id, $"backup-{i}", target.Id));
                }
            }, CancellationToken.None);
            await Eventually.SatisfyAsync("the writer has created 10 campaigns", TimeSpan.FromSeconds(30),
                _ => Task.FromResult(confirmed.Count), n => n >= 10, ct, guard: () => ThrowIfFaulted(writer));

            // Act: the backup, as a separate process on the running master's data dir, while campaigns keep coming.
            var before = confirmed.ToArray();
            var backupDir = Path.Combine(Env.Root, "backup");
            var backupFile = Path.Combine(backupDir, "pandafuzz.db");
            var backupBlobs = Path.Combine(backupDir, "blobs");
            var backup = Env.StartNode(options with
            {
                Name = "backup",
                LogPath = Path.Combine(Env.Root, "backup.log"),
                Arguments = ["db", "backup", "--to", backupFile, "--blobs", backupBlobs],
            });
            var exit = await backup.WaitForExitAsync(BackupTimeout, ct);
            var untilBackupEnded = confirmed.Count;
            await Eventually.SatisfyAsync("the writer has created campaigns after the backup", TimeSpan.FromSeconds(30),
                _ => Task.FromResult(confirmed.Count), n => n >= untilBackupEnded + 3, ct, guard: () => ThrowIfFaulted(writer));
            await stopWriting.CancelAsync();
            try
            {
                await writer;
            }
            catch (OperationCanceledException)
            {
                // Stopped in the middle of a request.
            }

            var after = confirmed.Skip(untilBackupEnded).ToList();
            output.WriteLine($"campaigns confirmed before the backup began: {before.Length}, while it ran: {untilBackupEnded - before.Length}, after: {after.Count}");
            master.EnsureRunning();
            await master.StopAsync();

            // Assert: the copy is intact, and a master restored from it has every campaign confirmed before it began.
            exit.Should().Be(0, backup.LogTail());
            backup.LogTail().Should().Contain("integrity_check ok");
            output.WriteLine(backup.LogTail());
            using (var copy = new SqliteConnection($"Data Source={backupFile};Mode=ReadOnly;Pooling=False"))
            {
                copy.Open();
                using var check = copy.CreateCommand();
                check.CommandText = "PRAGMA integrity_check";
                check.ExecuteScalar().Should().Be("ok");
            }

            var restored = Env.NewNodeOptions("restored", "master");
            Directory.CreateDirectory(restored.DataDir);
            File.Copy(backupFile, Path.Combine(restored.DataDir, "pandafuzz.db"));
            Directory.Move(backupBlobs, Path.Combine(restored.DataDir, "blobs"));
            await Env.StartReadyNodeAsync(restored, ct);
            using var restoredApi = new ApiClient(restored.BaseAddress);
            foreach (var (campaignId, name, targetId) in before)
            {
                var campaign = await restoredApi.GetCampaignAsync(campaignId, ct);
                campaign.Name.Should().Be(name);
                campaign.TargetId.Should().Be(targetId);
                File.Exists(Path.Combine(restored.DataDir, "blobs", targetId[..2], targetId)).Should().BeTrue($"campaign {name}'s target was backed up");
            }

            // The check above can fail: campaigns created after the backup ended are not in it.
            foreach (var (campaignId, name, _) in after)
            {
                (await restoredApi.GetRawAsync($"api/v1/campaigns/{campaignId}", ct)).StatusCode.Should()
                    .Be((int)HttpStatusCode.NotFound, $"campaign {name} was created after the backup ended");
            }
        });

    private static void ThrowIfFaulted(Task writer)
    {
        if (writer.IsFaulted)
        {
            writer.GetAwaiter().GetResult();
        }
    }
}
