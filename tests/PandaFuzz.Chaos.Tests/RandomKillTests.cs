using System.Diagnostics;
using System.Globalization;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using PandaFuzz.EndToEnd.Tests;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Chaos.Tests;

/// <summary>
/// A master and two bots fuzz a campaign while bots and the master are killed with SIGKILL at random moments and
/// started again. At the end nothing is lost or stuck: every crash input a fuzzer wrote is counted by the master,
/// every job ended, no job ran on two bots for long, and the SQLite journal is intact. The randomness is seeded;
/// the seed is printed, and <c>PANDAFUZZ_CHAOS_SEED</c> replays it. The CI profile makes 3 kills (CI time: 20 minutes for the whole run), the long profile
/// (<see cref="TestProfile"/>) 16; <c>PANDAFUZZ_CHAOS_KILLS</c> asks for any number.
/// </summary>
[Collection(ChaosCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class RandomKillTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    private const int Jobs = 3;

    private static readonly int Kills =
        int.TryParse(Environment.GetEnvironmentVariable("PANDAFUZZ_CHAOS_KILLS"), out var kills) ? kills : TestProfile.Pick(ci: 3, longRun: 16);

    // The jobs run through most of the kills: one comes every 13.5 s on average (3 to 12 s apart, then down 2 to 10 s).
    private static readonly int JobSeconds = Math.Max(45, 12 * Kills);

    [Fact]
    public Task Killing_bots_and_the_master_at_random_loses_no_crash_and_leaves_every_job_ended() =>
        Env.RunAsync(TimeSpan.FromMinutes(7) + TimeSpan.FromSeconds(30) * Kills, async ct =>
        {
            var seed = int.TryParse(Environment.GetEnvironmentVariable("PANDAFUZZ_CHAOS_SEED"), out var s) ? s : Random.Shared.Next();
            var kills = Kills;
            output.WriteLine($"chaos seed {seed} (replay with PANDAFUZZ_CHAOS_SEED={seed}), {kills} kills");
            var random = new Random(seed);

            // Arrange: a master, two bots, a campaign of three planted-bug jobs.
            var masterOptions = Env.NewNodeOptions("master", "master");
            var nodes = new Dictionary<string, NodeProcess> { ["master"] = await Env.StartReadyNodeAsync(masterOptions, ct) };
            var botOptions = new[] { "bot-a", "bot-b" }.ToDictionary(n => n, n => Env.NewNodeOptions(n, "bot", seeds: masterOptions.RemoteEndpoint));
            foreach (var (name, options) in botOptions)
            {
                nodes[name] = Env.StartNode(options);
            }

            void AllRunning()
            {
                foreach (var node in nodes.Values)
                {
                    node.EnsureRunning();
                }
            }

            var api = new ApiClient(masterOptions.BaseAddress);
            await ChaosFlow.WaitForOnlineBotsAsync(api, 2, AllRunning, ct);
            var target = await FuzzingFlow.UploadAsync(api, targets.PlantedBug, ct);
            var campaign = await FuzzingFlow.CreateCampaignAsync(
                api, new CampaignRequest("chaos", target.Id, Jobs: Jobs, DurationSeconds: JobSeconds), ct);
            var jobIds = campaign.Jobs!.Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
            await using var observer = new ChaosObserver(botOptions.ToDictionary(b => b.Key, b => b.Value.DataDir), jobIds);
            await Eventually.SatisfyAsync("a job runs with stats", Timeouts.JobStats, c => api.GetCampaignAsync(campaign.Id, c),
                c => c.Jobs!.Any(j => States.Is(j.State, States.Running) && j.Stats is { Execs: > 0 }), ct, AllRunning);

            // Act: kill a random node at a random moment, bring it back after a random pause; one at a time.
            var log = new List<string>();
            for (var i = 0; i < kills; i++)
            {
                await Task.Delay(TimeSpan.FromSeconds(random.Next(3, 12)), ct);
                var victim = random.NextDouble() < 0.3 ? "master" : random.Next(2) == 0 ? "bot-a" : "bot-b";
                var processOnly = victim != "master" && random.Next(2) == 0;
                var down = TimeSpan.FromSeconds(random.Next(2, 10));
                var node = nodes[victim];
                if (processOnly)
                {
                    // Only the node's own process, as the OOM killer would: its fuzzers live on until it restarts.
                    using var process = Process.GetProcessById(node.Pid);
                    process.Kill(entireProcessTree: false);
                    await process.WaitForExitAsync(ct);
                }
                else
                {
                    // The node and every process of its own, as when its machine dies.
                    node.KillHard();
                }

                log.Add(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:HH:mm:ss} SIGKILL {victim}{(processOnly ? " (process only)" : "")}, down {down.TotalSeconds:0} s"));
                await Task.Delay(down, ct);
                var options = victim == "master" ? masterOptions : botOptions[victim];
                var again = options with { Name = $"{victim}-{i + 1}" };
                var sinceStart = Stopwatch.StartNew();
                nodes[victim] = victim == "master" ? await Env.StartReadyNodeAsync(again, ct) : Env.StartNode(again);
                if (victim == "master")
                {
                    log.Add(string.Create(CultureInfo.InvariantCulture, $"  master ready {sinceStart.Elapsed.TotalSeconds:0.0} s after its start"));
                }

                if (victim == "master")
                {
                    api.Dispose();
                    api = new ApiClient(masterOptions.BaseAddress);
                }
            }

            output.WriteLine(string.Join(Environment.NewLine, log));

            // Assert: every job ends (the campaign completes, minimization jobs included).
            var ended = await FuzzingFlow.WaitForCampaignAsync(api, campaign.Id, "the campaign completed: every job ended",
                c => States.Is(c.Status, States.Completed), AllRunning, ct, TimeSpan.FromMinutes(5));
            ended.Jobs!.Should().OnlyContain(j => States.Is(j.State, States.Completed) || States.Is(j.State, States.Failed));

            // Every crash input a fuzzer wrote (seen in its artifact dir, or named in a bot's log) is counted.
            var found = observer.CrashInputs.Union(botOptions.Values.SelectMany(b => BotLog.FoundInputs(b.LogPath))).ToHashSet();
            var crashes = await api.GetCampaignCrashesAsync(campaign.Id, ct);
            output.WriteLine($"crash inputs written by fuzzers: {found.Count} (artifact dirs {observer.CrashInputs.Count}, {observer.Samples} samples); " +
                $"counted by the master: {crashes.Sum(c => c.Count ?? 0)} in {crashes.Count} unique crashes");
            found.Should().NotBeEmpty();
            // A job can end on the master (its deadline passed) while a bot's outbox still holds reports of it in backoff
            // after the master's restart: they arrive within the outbox's longest retry delay (60 s) plus its breaker's
            // open time (30 s), so the count is awaited that long, not read once.
            var lost = await Eventually.SatisfyAsync(
                "every crash input a fuzzer wrote is counted by the master",
                TimeSpan.FromSeconds(120),
                async token =>
                {
                    var missing = new List<string>();
                    foreach (var input in found)
                    {
                        if ((await api.GetRawAsync($"api/v1/campaigns/{campaign.Id}/crash-inputs/{input}", token)).StatusCode != 200)
                        {
                            missing.Add(input);
                        }
                    }

                    return missing;
                },
                missing => missing.Count == 0,
                ct,
                AllRunning,
                TimeSpan.FromSeconds(2));

            lost.Should().BeEmpty("every crash input a fuzzer wrote reaches the master, whoever was killed when");

            // No job ran on two bots for longer than it takes to down a bot and restart a killed one.
            output.WriteLine($"longest time a job had fuzzers on two bots: {observer.LongestDoubleRun.TotalSeconds:0.0} s");
            observer.LongestDoubleRun.Should().BeLessThan(TimeSpan.FromSeconds(30));

            // No fuzzer is left, and the journal is intact after a final SIGKILL of the master.
            await FuzzingFlow.WaitForNoFuzzerAsync(Path.Combine(Env.Root, "bot-a"), ct);
            await FuzzingFlow.WaitForNoFuzzerAsync(Path.Combine(Env.Root, "bot-b"), ct);
            api.Dispose();
            nodes["master"].KillHard();
            IntegrityCheck(Path.Combine(masterOptions.DataDir, "pandafuzz.db")).Should().Be("ok");
        });

    private static string IntegrityCheck(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return (string)command.ExecuteScalar()!;
    }
}
