using System.Globalization;
using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Isolation by default: a bot whose targets would run without network and filesystem isolation takes no job and says so
/// (its log, <c>/readyz</c>, <c>GET /api/v1/bots/{id}</c>); with the operator's opt-out it runs them and warns at each job start.
/// The sandbox is switched off to make a bot that cannot isolate on a machine that could.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class IsolationTests(TargetBuilder targets) : EndToEndTest
{
    private const string SandboxOff = "PANDAFUZZ__pandafuzz__bot__sandbox__enabled";
    private const string OptOut = "PANDAFUZZ__pandafuzz__bot__sandbox__allow-unisolated";

    [Fact]
    public Task A_bot_that_cannot_isolate_takes_no_job_unless_the_operator_opts_out() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: an all-in-one node whose bot cannot isolate, and a campaign for it.
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master,bot") with
            {
                Environment = new Dictionary<string, string> { [SandboxOff] = "off" },
            }, ct);
            using var api = new ApiClient(master.Options.BaseAddress);
            var refusing = (await Eventually.SatisfyAsync("the embedded bot is online", Timeouts.BotOnline, api.GetBotsAsync,
                list => list.Count == 1 && States.Is(list[0].State, States.Online), ct, master.EnsureRunning))[0];
            var target = await FuzzingFlow.UploadAsync(api, targets.NoBug, ct);
            var campaign = await FuzzingFlow.StartCampaignAsync(api, "needs-isolation", target, ct);

            // Assert: the bot says it takes no job, in its report, its readiness and its log; the job waits in the queue.
            var sandbox = (await api.GetBotAsync(refusing.Id, ct)).Sandbox!;
            sandbox.Isolated.Should().BeFalse();
            sandbox.AllowUnisolated.Should().BeFalse();
            sandbox.RefusesJobs.Should().Contain("allow-unisolated = on");
            sandbox.Measures.Single(m => m.Name == "network").Enforced.Should().BeFalse();
            var unready = await api.GetRawAsync("readyz", ct);
            unready.StatusCode.Should().Be(503, unready.Body);
            Check(unready.Body, "sandbox").Should().Match<(string Status, string Detail)>(c => c.Status == "unhealthy" && c.Detail.Contains("takes no job"));
            master.Log().Should().Contain("This bot takes no job: targets would run without isolation");
            await Eventually.SatisfyAsync("the campaign's job waits in the queue for a bot that isolates (or may run unisolated)", TimeSpan.FromSeconds(30),
                token => api.GetRawAsync("api/v1/queue", token), queue => queue.StatusCode == 200 && QueuedJobs(queue.Body) == 1, ct, master.EnsureRunning);

            // Act: a bot with the opt-out joins.
            var allowed = Env.StartNode(Env.NewNodeOptions("allowed", "bot", seeds: master.Options.RemoteEndpoint) with
            {
                Metrics = $"{NodeOptions.Loopback}:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}",
                Environment = new Dictionary<string, string> { [SandboxOff] = "off", [OptOut] = "on" },
            });

            void BothRunning()
            {
                master.EnsureRunning();
                allowed.EnsureRunning();
            }

            // Assert: the job runs there, never on the refusing bot; that bot is ready, degraded, and warns at the job's start.
            var running = await FuzzingFlow.WaitForCampaignAsync(api, campaign.Id, "its job runs on the bot that may run unisolated",
                c => c.FuzzJobs is { Count: > 0 } jobs && jobs.All(j => States.Is(j.State, States.Running)), BothRunning, ct);
            var allowedBotId = running.FuzzJobs!.Single().BotId!;
            allowedBotId.Should().NotBe(refusing.Id);
            var allowedSandbox = (await api.GetBotAsync(allowedBotId, ct)).Sandbox!;
            allowedSandbox.Should().Match<SandboxInfo>(s => !s.Isolated && s.AllowUnisolated && s.RefusesJobs == null);
            using var botHttp = new ApiClient(new Uri($"http://{allowed.Options.Metrics}/"));
            // (Eventually: the bot may take the job before its own view of the cluster has it up.)
            var ready = await Eventually.SatisfyAsync("the bot that may run unisolated is ready", TimeSpan.FromSeconds(30),
                token => botHttp.GetRawAsync("readyz", token), r => r.StatusCode == 200, ct, BothRunning);
            Check(ready.Body, "sandbox").Should().Match<(string Status, string Detail)>(c => c.Status == "degraded" && c.Detail.Contains("WITHOUT"));
            await Eventually.SatisfyAsync("the bot warns that the job runs unisolated", TimeSpan.FromSeconds(30), _ => Task.FromResult(allowed.Log()),
                log => log.Contains("runs its target WITHOUT network and filesystem isolation", StringComparison.Ordinal), ct, BothRunning);
            await api.StopCampaignAsync(campaign.Id, ct);
        });

    private static (string Status, string Detail) Check(string body, string name)
    {
        using var json = JsonDocument.Parse(body);
        var check = json.RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
        return (check.GetProperty("status").GetString()!, check.GetProperty("detail").GetString() ?? "");
    }

    private static int QueuedJobs(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("pending").GetArrayLength();
    }
}
