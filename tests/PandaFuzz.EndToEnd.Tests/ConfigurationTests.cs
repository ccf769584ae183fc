using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Configuration through a real node process: a bad value stops start-up with exit code 2 and a message naming the key;
/// a running node reloads its operator file (PANDAFUZZ_CONFIG) or reloads on SIGHUP, applies webhook targets and log levels,
/// refuses a bad file and reports a change that needs a restart.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class ConfigurationTests(TargetBuilder targets) : EndToEndTest
{
    [Fact]
    public Task A_bad_value_stops_the_node_with_exit_code_2_and_a_message_naming_the_key() =>
        Env.RunAsync(TimeSpan.FromMinutes(1), async ct =>
        {
            var options = Env.NewNodeOptions("bad", "master,bot") with
            {
                Environment = new Dictionary<string, string> { ["PANDAFUZZ__PANDAFUZZ__BOT__STATS_INTERVAL"] = "soon" },
            };

            var node = Env.StartNode(options);
            var exit = await node.WaitForExitAsync(TimeSpan.FromSeconds(30), ct);

            exit.Should().Be(2);
            ReadLog(options.LogPath).Should().Contain("PandaFuzz cannot start: pandafuzz.bot.stats-interval='soon' is invalid: expected a positive duration such as 5s");
        });

    [Fact]
    public Task A_running_node_reloads_its_operator_file_refusing_bad_values_and_naming_changes_that_need_a_restart() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: a node whose operator file sends no webhooks, and a receiver it does not know yet.
            await using var webhook = new WebhookReceiver(failFirst: 0);
            var file = Path.Combine(Env.Root, "operator.conf");
            await File.WriteAllTextAsync(file, "pandafuzz.logging.levels { Akka = warning }\n", ct);
            var options = Env.NewNodeOptions("node", "master,bot") with
            {
                Environment = new Dictionary<string, string>
                {
                    ["PANDAFUZZ_CONFIG"] = file,
                    ["PANDAFUZZ__PANDAFUZZ__CONFIG_RELOAD__POLL_INTERVAL"] = "500ms",
                },
            };
            var node = await Env.StartReadyNodeAsync(options, ct);
            using var api = new ApiClient(node.Options.BaseAddress);

            // Act 1: a bad value. The reload is refused whole, naming the key; the node runs on.
            await File.WriteAllTextAsync(file, $$"""
                pandafuzz.logging.levels { Akka = warning }
                pandafuzz.master.webhooks { urls = ["{{webhook.Url}}"], timeout = soon }
                """, ct);
            await WaitForLogAsync(node, "Configuration reload refused, the running settings stay: pandafuzz.master.webhooks.timeout='soon' is invalid: expected a positive duration", ct);

            // Act 2: the webhook target, a log level and a setting that needs a restart.
            await File.WriteAllTextAsync(file, $$"""
                pandafuzz.logging.levels { Akka = debug }
                pandafuzz.master.webhooks.urls = ["{{webhook.Url}}"]
                pandafuzz.master.job-start-timeout = 45s
                pandafuzz.master.scheduler.campaign-weights { 3f2a9c1b0d4e = 3 }
                """, ct);
            await WaitForLogAsync(node, "pandafuzz.master.job-start-timeout changed; needs a restart", ct);
            await WaitForLogAsync(node, "Campaign weights are now 3f2a9c1b0d4e=3", ct);
            // A webhook is logged by where it goes only: its path may be its key.
            await WaitForLogAsync(node, $"Crash webhooks are now {new Uri(webhook.Url).GetLeftPart(UriPartial.Authority)}/***", ct);
            ReadLog(options.LogPath).Should().NotContain("/hooks/crashes/", "no log line shows the webhook's path");
            var levels = await api.GetRawAsync("api/v1/admin/log-levels", ct);
            JsonDocument.Parse(levels.Body).RootElement.GetProperty("levels").GetProperty("Akka").GetString().Should().Be("debug");
            ReadLog(options.LogPath).Should().NotContain("webhooks.urls changed; needs a restart");

            // Assert: a crash found after the reload is announced to the new target, without a restart.
            var target = await FuzzingFlow.UploadAsync(api, targets.PlantedBug, ct);
            var campaign = await FuzzingFlow.CreateCampaignAsync(api, new CampaignRequest("reloaded-webhook", target.Id, DurationSeconds: 30), ct);
            await FuzzingFlow.WaitForCrashesAsync(api, campaign.Id, node.EnsureRunning, ct);
            await Eventually.SatisfyAsync(
                "the reloaded webhook target receives the new crash",
                TimeSpan.FromSeconds(30),
                _ => Task.FromResult(webhook.Accepted.ToArray()),
                accepted => accepted.Any(a => a.GetProperty("campaignId").GetString() == campaign.Id),
                ct,
                node.EnsureRunning);

            // SIGHUP reloads too (the file is unchanged, so nothing changes).
            using (var kill = System.Diagnostics.Process.Start("kill", ["-HUP", node.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(ct);
            }

            await WaitForLogAsync(node, "SIGHUP: reloading the configuration", ct);
            node.EnsureRunning();
        });

    private static Task WaitForLogAsync(NodeProcess node, string text, CancellationToken ct) =>
        Eventually.SatisfyAsync(
            $"node {node.Name}'s log says \"{text}\"",
            TimeSpan.FromSeconds(20),
            _ => Task.FromResult(ReadLog(node.Options.LogPath)),
            log => log.Contains(text, StringComparison.Ordinal),
            ct,
            node.EnsureRunning);

    /// <summary>The node's log so far (the harness keeps writing it).</summary>
    public static string ReadLog(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
