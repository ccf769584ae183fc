using System.Globalization;
using System.IO.Compression;
using System.Text;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// The target is the attacker: a zoo of hostile targets (<c>tests/targets/hostile_zoo.c</c>) run as campaigns on one
/// node, each aiming at it in its own way: links and hard links to a secret file and to the API token, FIFOs, connects to
/// the command host, remoting and API ports, a fork bomb, a full disk, writes outside its work dir. Every campaign ends,
/// the node stays up and ready, no process of the zoo is left, nothing is written outside, and neither the secret's
/// nor the token's bytes are in any API answer, blob or log line.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class HostileTargetsTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    private static readonly string[] Modes = ["links", "connect", "fork", "disk", "escape"];

    [Fact]
    public Task A_zoo_of_hostile_targets_ends_and_reaches_nothing_of_the_node() =>
        Env.RunAsync(TimeSpan.FromMinutes(5), async ct =>
        {
            // Arrange: a secret only root may read; a node whose API token is its own (in its data dir), with a command
            // host, a slot per campaign and a small file size limit.
            var secretText = "PANDAFUZZ-ZOO-SECRET-" + Guid.NewGuid().ToString("N");
            var secret = Path.Combine(Env.Root, "secret.txt");
            await File.WriteAllTextAsync(secret, secretText, ct);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            var outside = Path.Combine(Path.GetTempPath(), "pandafuzz-zoo-escaped-" + Guid.NewGuid().ToString("N")[..12]);
            var options = Env.NewNodeOptions("node", "master,bot") with
            {
                CommandPort = FreePort.Next(),
                Environment = new Dictionary<string, string>
                {
                    ["PANDAFUZZ_API_TOKENS"] = "",
                    ["PANDAFUZZ__PANDAFUZZ__BOT__SLOTS"] = Modes.Length.ToString(CultureInfo.InvariantCulture),
                    ["PANDAFUZZ__PANDAFUZZ__BOT__SANDBOX__RLIMITS__FILE_SIZE"] = "8MiB",
                },
            };
            var node = await Env.StartReadyNodeAsync(options, ct);
            var tokenFile = Path.Combine(node.Options.DataDir, "api-token");
            var token = (await File.ReadAllTextAsync(tokenFile, ct)).Trim();
            using var api = new ApiClient(node.Options.BaseAddress, token);
            var target = await FuzzingFlow.UploadAsync(api, targets.HostileZoo, ct);
            var ports = string.Join(",", node.Options.CommandPort, node.Options.RemotePort, node.Options.HttpPort);

            // Act: one campaign per behaviour, all at once.
            var campaigns = new List<string>();
            foreach (var mode in Modes)
            {
                var dictionary = $"mode=\"{mode}\"\nsecret=\"{secret}\"\ntoken=\"{tokenFile}\"\nports=\"{ports}\"\noutside=\"{outside}\"\n";
                var campaign = await FuzzingFlow.CreateCampaignAsync(api,
                    new CampaignRequest($"zoo-{mode}", target.Id, Jobs: 1, DurationSeconds: 8, Dictionary: dictionary), ct);
                campaigns.Add(campaign.Id);
            }

            // Assert: each campaign ends, and the node is up and ready with its bot neither drained nor gone.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            foreach (var id in campaigns)
            {
                var ended = await FuzzingFlow.WaitForCampaignAsync(api, id, "it ended", c => c.Status is "completed" or "stopped", node.EnsureRunning, ct, TimeSpan.FromSeconds(150));
                output.WriteLine($"{ended.Name} {ended.Status} after {clock.Elapsed.TotalSeconds:0} s: jobs {string.Join(", ", ended.Jobs!.Select(j => $"{j.State} {j.FailureReason}"))}, " +
                    $"crashes {string.Join(", ", (await api.GetCampaignCrashesAsync(id, ct)).Select(c => c.Kind))}");
            }

            node.EnsureRunning();
            var ready = await api.GetRawAsync("readyz", ct);
            ready.StatusCode.Should().Be(200, ready.Body);
            var bot = (await api.GetBotsAsync(ct)).Should().ContainSingle().Subject;
            States.Is(bot.State, States.Online).Should().BeTrue();
            (await api.GetBotAsync(bot.Id, ct)).Draining.Should().NotBe(true, "the target's command host request drained nothing");
            await FuzzingFlow.WaitForNoFuzzerAsync(node.Options.DataDir, ct);
            File.Exists(outside + "-tmp").Should().BeFalse("the target's /tmp is its own");
            File.Exists(outside + "-data").Should().BeFalse();
            Directory.EnumerateFiles(Path.Combine(node.Options.DataDir), "escaped-by-hostile-zoo", SearchOption.AllDirectories)
                .Should().BeEmpty("the parent of a work dir is out of the target's reach");
            var log = node.Log();
            log.Should().NotContain("hung (no CPU progress)", "a run ends with its engine, whatever the target forked (bwrap's init waited for the children)");

            // Assert: neither secret is in an answer, a blob or the log.
            var answers = new StringBuilder();
            foreach (var path in new[] { "api/v1/campaigns", "api/v1/crashes", "api/v1/jobs?limit=1000", "api/v1/bots", "api/v1/queue" })
            {
                answers.Append((await api.GetRawAsync(path, ct)).Body);
            }

            var archives = new List<byte[]>();
            foreach (var id in campaigns)
            {
                foreach (var path in new[] { $"api/v1/campaigns/{id}", $"api/v1/campaigns/{id}/crashes", $"api/v1/campaigns/{id}/crashes.sarif", $"api/v1/campaigns/{id}/corpus" })
                {
                    answers.Append((await api.GetRawAsync(path, ct)).Body);
                }

                foreach (var crash in await api.GetCampaignCrashesAsync(id, ct))
                {
                    archives.Add(await api.GetCrashInputAsync(crash.Id, ct));
                }

                archives.Add(await api.DownloadCorpusArchiveAsync(id, ct));
            }

            var blobs = Directory.EnumerateFiles(Path.Combine(node.Options.DataDir, "blobs"), "*", SearchOption.AllDirectories).Select(File.ReadAllBytes);
            var blobFiles = blobs.ToList();
            output.WriteLine($"searched {answers.Length} characters of answers, {archives.Count} crash inputs and corpus archives, {blobFiles.Count} blobs, {log.Length} characters of log");
            foreach (var text in new[] { secretText, token })
            {
                var shown = text[..12] + "…";
                answers.ToString().Should().NotContain(text, "no API answer holds {0}", shown);
                archives.Concat(blobFiles).Where(bytes => Holds(bytes, Encoding.UTF8.GetBytes(text))).Should().BeEmpty("no blob, crash input or corpus archive holds {0}", shown);
                log.Should().NotContain(text, "no log line holds {0}", shown);
            }
        });

    /// <summary>Whether <paramref name="bytes"/>, or any entry of it when it is a zip, holds <paramref name="secret"/>.</summary>
    private static bool Holds(byte[] bytes, byte[] secret)
    {
        if (bytes.AsSpan().IndexOf(secret) >= 0)
        {
            return true;
        }

        if (bytes is not [(byte)'P', (byte)'K', 3, 4, ..])
        {
            return false;
        }

        using var zip = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
        return zip.Entries.Any(entry =>
        {
            using var content = new MemoryStream();
            using (var stream = entry.Open())
            {
                stream.CopyTo(content);
            }

            return content.ToArray().AsSpan().IndexOf(secret) >= 0;
        });
    }
}
