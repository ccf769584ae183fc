using FluentAssertions;
using PandaFuzz.EndToEnd.Tests;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Chaos.Tests;

/// <summary>
/// A bot and the master die together; the master comes back alone. The surviving bot kept the cluster, holding both
/// dead members as unreachable, and only a master may down a member: the restarted master's old incarnation is marked
/// down for it, but its removal waits for the dead bot to be down too. The surviving bot downs it for the rejoining
/// master (MasterDecidesDowning), and the master joins. Without that, the master never became ready (seen in a chaos
/// run on a loaded machine, where the master had downed the bot just before it died and the news never reached the
/// other bot).
/// </summary>
[Collection(ChaosCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class MasterRejoinTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    [Fact]
    public Task A_master_restarted_while_a_bot_is_also_gone_rejoins_the_bot_that_kept_the_cluster() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: a master and two bots, one job fuzzing on one of them.
            var masterOptions = Env.NewNodeOptions("master", "master");
            var master = await Env.StartReadyNodeAsync(masterOptions, ct);
            var survivor = Env.StartNode(Env.NewNodeOptions("bot-a", "bot", seeds: masterOptions.RemoteEndpoint));
            var lost = Env.StartNode(Env.NewNodeOptions("bot-b", "bot", seeds: masterOptions.RemoteEndpoint));
            using (var api = new ApiClient(masterOptions.BaseAddress))
            {
                await ChaosFlow.WaitForOnlineBotsAsync(api, 2, () => { master.EnsureRunning(); survivor.EnsureRunning(); lost.EnsureRunning(); }, ct);
                await ChaosFlow.StartOneLongJobAsync(api, targets.NoBug, "rejoin", master.EnsureRunning, ct);
            }

            // Act: bot B's machine and the master die at once; the master starts again on its data dir, bot B does not.
            lost.KillHard();
            master.KillHard();
            var sinceRestart = System.Diagnostics.Stopwatch.StartNew();
            var restarted = await Env.StartReadyNodeAsync(
                masterOptions with { Name = "master-2", LogPath = Path.Combine(Env.Root, "master-2.log") }, ct);
            output.WriteLine($"master started again -> ready (joined bot A's cluster): {sinceRestart.Elapsed.TotalSeconds:0.0} s");

            // Assert: bot A works for the restarted master; bot B shows offline.
            using var restartedApi = new ApiClient(restarted.Options.BaseAddress);
            var bots = await Eventually.SatisfyAsync(
                "bot A is online on the restarted master and bot B is not",
                Timeouts.BotOnline,
                restartedApi.GetBotsAsync,
                list => list.Count(b => States.Is(b.State, States.Online)) == 1
                    && list.Single(b => States.Is(b.State, States.Online)).Address == survivor.Options.RemoteEndpoint,
                ct,
                () => { restarted.EnsureRunning(); survivor.EnsureRunning(); });
            bots.Should().ContainSingle(b => b.Address == lost.Options.RemoteEndpoint && !States.Is(b.State, States.Online));
        });
}
