using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>A master-only node and a separate bot-only node joined to it: the bot runs the job and reports the crash.</summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class MasterAndBotTests(TargetBuilder targets) : EndToEndTest
{
    [Fact]
    public Task Bot_node_joins_the_master_and_finds_the_planted_crash() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: the master founds the cluster; the bot seeds from the master's remote endpoint.
            var plantedBug = targets.PlantedBug;
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master"), ct);
            var bot = Env.StartNode(Env.NewNodeOptions("bot", "bot", seeds: master.Options.RemoteEndpoint));
            using var api = new ApiClient(master.Options.BaseAddress);

            void BothRunning()
            {
                master.EnsureRunning();
                bot.EnsureRunning();
            }

            // The master's journal, read model (with SQLite's companion files) and blob store are its user's only.
            var data = master.Options.DataDir;
            if (!OperatingSystem.IsWindows())
            {
                foreach (var file in new[] { "pandafuzz.db", "pandafuzz.db-wal", "readmodel.db" }.Select(f => Path.Combine(data, f)))
                {
                    File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, "{0} holds every campaign's data", file);
                }

                File.GetUnixFileMode(Path.Combine(data, "blobs")).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            var bots = await Eventually.SatisfyAsync(
                "GET /api/v1/bots lists exactly one bot, online (the master-only node is no bot)",
                Timeouts.BotOnline,
                api.GetBotsAsync,
                list => list.Count == 1 && States.Is(list[0].State, States.Online),
                ct,
                BothRunning);
            var botInfo = bots[0];
            botInfo.Id.Should().NotBeNullOrWhiteSpace();
            botInfo.Capabilities.Should().NotBeNull();
            botInfo.Capabilities!.Engines.Should().NotBeNull()
                .And.Contain(e => string.Equals(e.Name, "libfuzzer", StringComparison.OrdinalIgnoreCase), "the bot can run libFuzzer");

            // The bot reports what its sandbox enforces on its machine, as its probe found it.
            var sandbox = (await api.GetBotAsync(botInfo.Id, ct)).Sandbox;
            sandbox.Should().NotBeNull("GET /api/v1/bots/{id} carries the bot's sandbox report");
            sandbox!.Enabled.Should().BeTrue("the shipped bot.conf enables the sandbox");
            sandbox.Measures.Select(m => m.Name).Should().BeEquivalentTo(["session", "user", "rlimits", "memory", "network", "filesystem"]);
            sandbox.Measures.Should().OnlyContain(m => m.Mode.Length > 0 && m.Detail.Length > 0);
            sandbox.Measures.Single(m => m.Name == "session").Enforced.Should().BeTrue();

            // Act
            var target = await FuzzingFlow.UploadAsync(api, plantedBug, ct);
            var campaign = await FuzzingFlow.StartCampaignAsync(api, "planted-bug-on-bot", target, ct);
            var crashes = await FuzzingFlow.WaitForCrashesAsync(api, campaign.Id, BothRunning, ct);

            // Assert: the crash was found by the bot node, on which the job ran.
            var crash = crashes[0];
            crash.BotId.Should().Be(botInfo.Id, "only the bot node runs fuzzers");
            var detail = await api.GetCrashAsync(crash.Id, ct);
            detail.BotId.Should().Be(botInfo.Id);
            detail.Kind.Should().NotBeNullOrWhiteSpace();
            detail.Stack.Should().NotBeNullOrEmpty();
            var input = await api.GetCrashInputAsync(crash.Id, ct);
            FuzzingFlow.Sha256Hex(input).Should().BeEquivalentTo(crash.InputSha256, "the bot's crash input reached the master intact");

            var campaignDetail = await api.GetCampaignAsync(campaign.Id, ct);
            campaignDetail.Jobs.Should().NotBeNullOrEmpty();
            campaignDetail.Jobs!.Should().OnlyContain(j => j.BotId == botInfo.Id, "the only bot ran the campaign's job");
        });
}
