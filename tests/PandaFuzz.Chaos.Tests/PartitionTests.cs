using System.Diagnostics;
using FluentAssertions;
using PandaFuzz.EndToEnd.Tests;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Chaos.Tests;

/// <summary>
/// A bot cut off by a network partition while it fuzzes: the master downs it and its job runs on the other bot within
/// seconds, while the cut-off bot keeps fuzzing its copy (it cannot tell a partition from a master outage). Once the
/// partition heals, the bot learns it was downed, its copy stops within a bounded window, and it comes back online
/// with the same bot id without the job. Each node runs in a network namespace of its own (<see cref="NetworkNamespaces"/>).
/// </summary>
[Collection(ChaosCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class PartitionTests(TargetBuilder targets, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan FailoverLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan AfterHealLimit = TimeSpan.FromSeconds(60);

    // Long enough that both copies run side by side for a while, short enough for the budget.
    private static readonly TimeSpan HeldCutOff = TimeSpan.FromSeconds(10);

    private readonly EndToEndEnvironment _env = new();
    private NetworkNamespaces? _network;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // The nodes go first: a namespace is only gone once no process lives in it.
        await _env.DisposeAsync();
        if (_network is not null)
        {
            await _network.DisposeAsync();
        }
    }

    [NetworkNamespaceFact]
    public Task A_cut_off_bots_job_moves_and_its_copy_stops_within_a_bounded_window_after_the_partition_heals() =>
        _env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: master, bot A and bot B each in a namespace of its own; one long job fuzzing a target without bugs.
            var network = _network = await NetworkNamespaces.CreateAsync(ct);
            output.WriteLine(
                $"network {network.Subnet}: master {network.Master.Address} ({network.Master.Namespace}), bot A {network.BotA.Address} " +
                $"({network.BotA.Namespace}), bot B {network.BotB.Address} ({network.BotB.Namespace}), test process {network.HostAddress}");
            var master = await _env.StartReadyNodeAsync(
                _env.NewNodeOptions("master", "master", host: network.Master.Address, networkNamespace: network.Master.Namespace), ct);
            var seeds = master.Options.RemoteEndpoint;
            var botA = _env.StartNode(_env.NewNodeOptions("bot-a", "bot", seeds, network.BotA.Address, network.BotA.Namespace));
            var botB = _env.StartNode(_env.NewNodeOptions("bot-b", "bot", seeds, network.BotB.Address, network.BotB.Namespace));

            // Every node must live throughout: the downed bot starts a fresh actor system in the same process.
            void AllRunning()
            {
                master.EnsureRunning();
                botA.EnsureRunning();
                botB.EnsureRunning();
            }

            using var api = new ApiClient(master.Options.BaseAddress);
            var online = await ChaosFlow.WaitForOnlineBotsAsync(api, 2, AllRunning, ct);
            var running = await ChaosFlow.StartOneLongJobAsync(api, targets.NoBug, "partition", AllRunning, ct);
            var jobId = running.Id;
            var cutBot = online.Single(b => b.Id == running.BotId);
            var (cut, cutHost, other) = cutBot.Address == botA.Options.RemoteEndpoint
                ? (botA, network.BotA, botB)
                : (botB, network.BotB, botA);
            cutBot.Address.Should().Be(cut.Options.RemoteEndpoint);
            var otherBot = online.Single(b => b.Address == other.Options.RemoteEndpoint);
            var cutCopy = await WaitForCopyAsync(cut, jobId, AllRunning, ct);
            output.WriteLine($"job {jobId} runs on {cut.Name} ({cutBot.Id}), fuzzer pid(s) {string.Join(",", cutCopy)}");

            // Act: cut off the bot that runs the job.
            var sinceCut = Stopwatch.StartNew();
            await network.CutOffAsync(cutHost, ct);

            // Assert: the master downs it and the job runs on the other bot, while the cut-off copy keeps fuzzing.
            var moved = await Eventually.SatisfyAsync(
                $"the job runs on {other.Name}",
                FailoverLimit + TimeSpan.FromSeconds(30),
                c => api.GetJobAsync(jobId, c),
                j => States.Is(j.State, States.Running) && j.BotId == otherBot.Id,
                ct,
                AllRunning,
                interval: TimeSpan.FromMilliseconds(250));
            var failover = sinceCut.Elapsed;
            output.WriteLine($"cut off -> job running on {other.Name}: {failover.TotalSeconds:0.0} s");
            failover.Should().BeLessThan(FailoverLimit, "the master downs the unreachable bot and requeues its job at once");
            moved.AssignedAt.Should().BeAfter(running.StartedAt!.Value);
            var otherCopy = await WaitForCopyAsync(other, jobId, AllRunning, ct);
            var bothRunning = Stopwatch.StartNew();
            output.WriteLine($"cut off -> fuzzer on {other.Name} (pid(s) {string.Join(",", otherCopy)}): {sinceCut.Elapsed.TotalSeconds:0.0} s");

            var downed = await Eventually.SatisfyAsync(
                $"{cut.Name} is shown offline",
                TimeSpan.FromSeconds(15),
                api.GetBotsAsync,
                list => list.Any(b => b.Id == cutBot.Id && States.Is(b.State, States.Offline)),
                ct,
                AllRunning);
            var offline = downed.Single(b => b.Id == cutBot.Id);
            output.WriteLine($"{cut.Name} offline: {offline.OfflineReason}");
            offline.OfflineReason.Should().Contain("downed").And.Contain(cut.Options.RemoteEndpoint);
            offline.OfflineSince.Should().NotBeNull();

            await Task.Delay(HeldCutOff, ct);
            AllRunning();
            Copies(cut, jobId).Should().IntersectWith(cutCopy, "a cut-off bot cannot tell a partition from a master outage, so it keeps fuzzing");
            Copies(other, jobId).Should().IntersectWith(otherCopy);
            output.WriteLine($"both copies ran side by side for {bothRunning.Elapsed.TotalSeconds:0.0} s before the heal");

            // Act: heal the partition.
            var sinceHeal = Stopwatch.StartNew();
            await network.HealAsync(cutHost, ct);

            // Assert: within a bounded window the cut-off copy stops, and the bot is back with the same id and no job.
            await Eventually.SatisfyAsync(
                $"{cut.Name} runs no fuzzer for the job any more",
                AfterHealLimit,
                () => Copies(cut, jobId),
                copies => copies.Count == 0,
                ct,
                AllRunning);
            output.WriteLine(
                $"heal -> {cut.Name}'s copy stopped: {sinceHeal.Elapsed.TotalSeconds:0.0} s " +
                $"(both copies ran for {bothRunning.Elapsed.TotalSeconds:0.0} s in all)");

            var back = await Eventually.SatisfyAsync(
                $"{cut.Name} is online again with the same bot id",
                AfterHealLimit - sinceHeal.Elapsed,
                api.GetBotsAsync,
                list => list.Any(b => b.Id == cutBot.Id && States.Is(b.State, States.Online)),
                ct,
                AllRunning);
            output.WriteLine($"heal -> {cut.Name} online again: {sinceHeal.Elapsed.TotalSeconds:0.0} s");
            back.Should().HaveCount(2, "the bot came back as itself, not as a new bot");
            back.Single(b => b.Id == cutBot.Id).Address.Should().Be(cut.Options.RemoteEndpoint);

            // The job stays on the other bot only; the bot that came back does not start a copy of it again.
            for (var check = 0; check < 5; check++)
            {
                AllRunning();
                var job = await api.GetJobAsync(jobId, ct);
                States.Is(job.State, States.Running).Should().BeTrue($"the job keeps running (state {job.State})");
                job.BotId.Should().Be(otherBot.Id);
                Copies(other, jobId).Should().IntersectWith(otherCopy, "the other bot's copy was never disturbed");
                Copies(cut, jobId).Should().BeEmpty($"{cut.Name} came back without the job");
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        });

    /// <summary>The pids of <paramref name="node"/>'s libFuzzer runs for <paramref name="jobId"/> (its work dir is on their command lines).</summary>
    private static IReadOnlyList<string> Copies(NodeProcess node, string jobId) =>
        [.. ProcessTools.FindByCommandLine(node.Options.DataDir)
            .Where(p => FuzzingFlow.IsLibFuzzerRun(p) && p.Contains(jobId, StringComparison.Ordinal))
            .Select(p => p.Split(' ', 2)[0])];

    private static Task<IReadOnlyList<string>> WaitForCopyAsync(NodeProcess node, string jobId, Action guard, CancellationToken cancellationToken) =>
        Eventually.SatisfyAsync(
            $"a fuzzer for job {jobId} runs on {node.Name}",
            Timeouts.FuzzerProcess,
            () => Copies(node, jobId),
            copies => copies.Count > 0,
            cancellationToken,
            guard);
}
