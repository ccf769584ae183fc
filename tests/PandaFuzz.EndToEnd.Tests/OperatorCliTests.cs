using System.Text.Json;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// <c>pandafuzz-cmd</c> against a real two-process cluster (a master and a bot, each with its command host): the
/// cluster, actor and sharding views show what runs, a live campaign watch ends with the campaign, a drained bot
/// takes no job until it is resumed, and a wrong command exits non-zero with the usage.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class OperatorCliTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    [Fact]
    public Task The_cli_shows_the_cluster_its_actors_and_shards_watches_a_campaign_to_its_end_and_drains_a_bot() =>
        Env.RunAsync(TimeSpan.FromMinutes(6), async ct =>
        {
            // Arrange: a master and a bot, each with a command host; one job running on the bot.
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master") with { CommandPort = FreePort.Next() }, ct);
            var bot = Env.StartNode(Env.NewNodeOptions("bot", "bot", seeds: master.Options.RemoteEndpoint) with { CommandPort = FreePort.Next() });
            void BothRunning()
            {
                master.EnsureRunning();
                bot.EnsureRunning();
            }

            using var api = new ApiClient(master.Options.BaseAddress);
            var botInfo = (await Eventually.SatisfyAsync("the bot is online", Timeouts.BotOnline, api.GetBotsAsync,
                list => list.Count == 1 && States.Is(list[0].State, States.Online), ct, BothRunning))[0];
            var target = await FuzzingFlow.UploadAsync(api, targets.NoBug, ct);
            var campaign = await FuzzingFlow.CreateCampaignAsync(api, new CampaignRequest("cli", target.Id, Jobs: 1, DurationSeconds: 600), ct);
            var jobId = campaign.Jobs!.Single().Id;
            await Eventually.SatisfyAsync("the job runs", Timeouts.JobStats, c => api.GetJobAsync(jobId, c),
                j => States.Is(j.State, States.Running), ct, BothRunning);
            Task<ProcessResult> OnMaster(params string[] args) => Cli(master, ct, args);

            // No command without the token: a client that cannot read the node's data dir gets nothing done.
            var stranger = await ProcessTools.RunAsync(RepoLayout.DotnetHost, [RepoLayout.CmdDll, $"127.0.0.1:{master.Options.CommandPort}", "bot", "drain", botInfo.Id],
                TimeSpan.FromSeconds(90), ct, workingDirectory: Env.Root);
            stranger.ExitCode.Should().Be(3, stranger.StandardOutput + stranger.StandardError);
            stranger.StandardOutput.Should().Contain("wants a token");
            (await api.GetBotsAsync(ct)).Single().Draining.Should().Be(false, "a command without the token changes nothing");

            // Every palette refuses a request without the token (or with a wrong one) before it runs, spoken on the wire.
            string[][] everyPalette =
            [
                ["cluster", "show"], ["actor", "hierarchy"], ["cluster-sharding", "regions"], ["campaign", "list"], ["job", "list"],
                ["bot", "list"], ["crash", "list"], ["bug", "list", "-c", "000000000000"], ["queue", "show"], ["log", "peek"],
                ["cluster", "down-unreachable"],
            ];
            foreach (var command in everyPalette)
            {
                foreach (var token in new[] { null, "not-the-token" })
                {
                    var answer = await RawCommandAsync(master.Options.CommandPort!.Value, command, token, ct);
                    answer.Should().Contain("wants a token", "{0} without the token", string.Join(' ', command)).And.NotContain("akka.tcp://");
                }
            }

            // cluster show: both members with their roles, up, and the count.
            var show = await OnMaster("cluster", "show");
            show.ExitCode.Should().Be(0, show.StandardError);
            show.StandardOutput.Should().MatchRegex($@"akka\.tcp://pandafuzz@{Escape(master.Options.RemoteEndpoint)} \| \[master\] \| up \|")
                .And.MatchRegex($@"akka\.tcp://pandafuzz@{Escape(bot.Options.RemoteEndpoint)} \| \[bot\] \| up \|")
                .And.Contain("Count: 2 nodes");

            // actor hierarchy: the job's entity on the master (under its shard), the agent on the bot.
            var masterActors = await OnMaster("actor", "hierarchy");
            masterActors.ExitCode.Should().Be(0, masterActors.StandardError);
            masterActors.StandardOutput.Should().MatchRegex($@"/system/sharding/job/[0-9]+/{Escape(jobId)}\n")
                .And.Contain("/user/scheduler");
            var botActors = await Cli(bot, ct, "actor", "hierarchy", "-s", "/user", "-d", "2");
            botActors.ExitCode.Should().Be(0, botActors.StandardError);
            botActors.StandardOutput.Should().Contain("/user/bot-agent\n");

            // cluster-sharding region-stats: the job region counts the running job's entity.
            var stats = await OnMaster("--json", "cluster-sharding", "region-stats", "-r", "job");
            stats.ExitCode.Should().Be(0, stats.StandardError);
            using (var json = JsonDocument.Parse(stats.StandardOutput))
            {
                json.RootElement.GetProperty("entities").GetInt32().Should().BeGreaterThanOrEqualTo(1);
            }

            (await OnMaster("cluster-sharding", "region-stats", "-r", "job")).StandardOutput.Should().MatchRegex(@"Total: [1-9][0-9]* entities in [1-9][0-9]* shards");

            // bot drain: with its slot free again (the first campaign stopped), a new job waits in the queue at position 1
            // while the bot is drained.
            await api.StopCampaignAsync(campaign.Id, ct);
            await Eventually.SatisfyAsync("the first campaign's job has ended", Timeouts.JobState, c => api.GetJobAsync(jobId, c),
                j => !States.Is(j.State, States.Running), ct, BothRunning);
            (await OnMaster("bot", "drain", botInfo.Id)).StandardOutput.Should().Contain($"bot {botInfo.Id} is draining");
            var later = await FuzzingFlow.CreateCampaignAsync(api, new CampaignRequest("cli-drained", target.Id, Jobs: 1, DurationSeconds: 5), ct);
            var laterJob = later.Jobs!.Single().Id;
            await Task.Delay(TimeSpan.FromSeconds(4), ct);
            States.Is((await api.GetJobAsync(laterJob, ct)).State, States.Pending).Should().BeTrue("a drained bot takes no new job");
            var queue = await OnMaster("queue", "show");
            queue.StandardOutput.Should().MatchRegex($@"\n1 +{Escape(laterJob)} +{later.Id} +libfuzzer ");

            // campaign watch: refreshes while the campaign runs and ends by itself when it completes. It starts while the
            // campaign's job waits on the drained bot (the command host logs each command as it starts it), so it sees the
            // campaign running however slow the machine; the bot is resumed, the job runs its 5 s, and the watch ends.
            var watching = OnMaster("campaign", "watch", later.Id);
            await Eventually.SatisfyAsync("the command host runs the watch", Timeouts.JobState, () => master.Log(),
                log => log.Contains($"Command campaign watch {later.Id} from ", StringComparison.Ordinal), ct, BothRunning);
            (await OnMaster("bot", "drain", botInfo.Id, "--resume")).StandardOutput.Should().Contain($"bot {botInfo.Id} takes jobs");
            var watch = await watching;
            output.WriteLine(watch.StandardOutput);
            watch.ExitCode.Should().Be(0, watch.StandardError);
            watch.StandardOutput.Should().Contain($"campaign {later.Id} (cli-drained): running").And.Contain($"campaign {later.Id} completed at ");
            States.Is((await api.GetCampaignAsync(later.Id, ct)).Status, States.Completed).Should().BeTrue();
            (await api.GetJobAsync(laterJob, ct)).BotId.Should().Be(botInfo.Id, "the job ran once the bot was resumed");

            // A wrong command: non-zero, with the usage and no stack trace.
            var wrong = await OnMaster("cluster", "explode");
            wrong.ExitCode.Should().NotBe(0);
            wrong.StandardOutput.Should().Contain("Usage:").And.Contain("show").And.NotContain("   at ");

            // The client's options go anywhere among the command's words.
            var jsonAfter = await OnMaster("bot", "list", "--json");
            jsonAfter.ExitCode.Should().Be(0, jsonAfter.StandardError);
            JsonDocument.Parse(jsonAfter.StandardOutput.Trim().Split('\n')[0]).RootElement[0].GetProperty("id").GetString().Should().Be(botInfo.Id);

            // Every line of the README's pandafuzz-cmd block, as written: the tool packed and installed (into a folder of
            // the test's rather than -g), this master's command port for 9110, a campaign with a bug for ID.
            var buggyTarget = await FuzzingFlow.UploadAsync(api, targets.PlantedBug, ct);
            var buggy = await FuzzingFlow.CreateCampaignAsync(api, new CampaignRequest("cli-bug", buggyTarget.Id, Jobs: 1, DurationSeconds: 600), ct);
            var examples = ReadmeCliExamples();
            examples.Should().HaveCountGreaterThanOrEqualTo(6).And.Contain(e => e.Contains("--fail-on-crash", StringComparison.Ordinal));
            var tools = Path.Combine(Env.Root, "cli-tool");
            foreach (var example in examples)
            {
                var line = example.Replace("127.0.0.1:9110", $"127.0.0.1:{master.Options.CommandPort}", StringComparison.Ordinal);
                if (!line.StartsWith("pandafuzz-cmd ", StringComparison.Ordinal))
                {
                    line = line.Replace(" -o artifacts", $" -o {tools}/artifacts", StringComparison.Ordinal)
                        .Replace(" --add-source artifacts", $" --add-source {tools}/artifacts", StringComparison.Ordinal)
                        .Replace(" -g ", $" --tool-path {tools} ", StringComparison.Ordinal);
                    var install = await ProcessTools.RunAsync("bash", ["-c", line], TimeSpan.FromMinutes(3), ct, workingDirectory: RepoLayout.Root);
                    install.ExitCode.Should().Be(0, "{0}: {1}{2}", example, install.StandardOutput, install.StandardError);
                    continue;
                }

                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(w => w == "ID" ? buggy.Id : w).ToList();
                var prompt = words.Count == 1;
                var run = await ProcessTools.RunAsync(Path.Combine(tools, "pandafuzz-cmd"), words, TimeSpan.FromMinutes(2), ct,
                    environment: new Dictionary<string, string> { ["PANDAFUZZ_DATA_DIR"] = master.Options.DataDir },
                    standardInput: prompt ? "cluster show\nexit\n" : null);
                output.WriteLine($"{example}\n{run.StandardOutput}");
                var failOnCrash = words.Contains("--fail-on-crash");
                run.ExitCode.Should().Be(failOnCrash ? 2 : 0, "{0}: {1}{2}", example, run.StandardOutput, run.StandardError);
                if (failOnCrash)
                {
                    run.StandardOutput.Should().Contain($"campaign {buggy.Id} has 1 bug(s)");
                }
                else if (prompt || words.Contains("show"))
                {
                    run.StandardOutput.Should().Contain("Count: 2 nodes");
                }
                else if (words.Contains("--json"))
                {
                    JsonDocument.Parse(run.StandardOutput.Trim().Split('\n')[0]).RootElement[0].GetProperty("id").GetString().Should().Be(botInfo.Id);
                }
                else if (words.Contains("help"))
                {
                    run.StandardOutput.Should().Contain("pandafuzz-cmd").And.Contain("campaign").And.Contain("crash");
                }
            }

            // The bug's status, link and note are set from the CLI, and its list filters by status.
            var bug = (await api.GetCampaignBugsAsync(buggy.Id, ct)).First();
            async Task<ProcessResult> Tool(params string[] words)
            {
                var result = await ProcessTools.RunAsync(Path.Combine(tools, "pandafuzz-cmd"), words, TimeSpan.FromMinutes(2), ct,
                    environment: new Dictionary<string, string> { ["PANDAFUZZ_DATA_DIR"] = master.Options.DataDir });
                result.ExitCode.Should().Be(0, "{0}: {1}{2}", string.Join(' ', words), result.StandardOutput, result.StandardError);
                return result;
            }

            var port = $"127.0.0.1:{master.Options.CommandPort}";
            (await Tool(port, "bug", "set", bug.Id, "--status", "wontfix", "--url", "https://bugs.example.com/9", "--note", "a planted bug"))
                .StandardOutput.Should().Contain($"bug {bug.Id}: wontfix");
            (await Tool(port, "bug", "list", "-c", buggy.Id, "--status", "wontfix")).StandardOutput.Should().Contain(bug.Id).And.Contain("wontfix");
            (await Tool(port, "bug", "show", bug.Id)).StandardOutput.Should().Contain("https://bugs.example.com/9").And.Contain("a planted bug");
            (await api.GetCampaignBugsAsync(buggy.Id, ct, status: "open")).Should().NotContain(b => b.Id == bug.Id);

            await api.StopCampaignAsync(buggy.Id, ct);
        });

    /// <summary>The command lines of the README's pandafuzz-cmd code block (its first after the section's heading), comments cut.</summary>
    private static List<string> ReadmeCliExamples()
    {
        var readme = File.ReadAllText(Path.Combine(RepoLayout.Root, "README.md"));
        var section = readme[readme.IndexOf("## Operator CLI", StringComparison.Ordinal)..];
        var block = section[(section.IndexOf("```bash\n", StringComparison.Ordinal) + 8)..];
        block = block[..block.IndexOf("```", StringComparison.Ordinal)];
        return [.. block.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => (l.IndexOf("  #", StringComparison.Ordinal) is var hash and >= 0 ? l[..hash] : l).Trim())
            .Where(l => l.Length > 0)];
    }

    private static Task<ProcessResult> Cli(NodeProcess node, CancellationToken ct, params string[] args) =>
        // The client finds the token the node made in its data dir by itself, as an operator's shell on that machine would.
        ProcessTools.RunAsync(RepoLayout.DotnetHost, [RepoLayout.CmdDll, $"127.0.0.1:{node.Options.CommandPort}", .. args], TimeSpan.FromSeconds(90), ct,
            environment: new Dictionary<string, string> { ["PANDAFUZZ_DATA_DIR"] = node.Options.DataDir });

    private static string Escape(string text) => System.Text.RegularExpressions.Regex.Escape(text);

    /// <summary>One command request as pandafuzz-cmd sends it (a JSON line), and everything the host answers until it hangs up.</summary>
    private static async Task<string> RawCommandAsync(int port, string[] args, string? token, CancellationToken ct)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, port, ct);
        var stream = client.GetStream();
        var request = System.Text.Json.JsonSerializer.Serialize(new { args, token }) + "\n";
        await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(request), ct);
        using var reader = new StreamReader(stream);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromSeconds(30));
        return await reader.ReadToEndAsync(bound.Token);
    }
}
