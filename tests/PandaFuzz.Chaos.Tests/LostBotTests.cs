using System.Diagnostics;
using FluentAssertions;
using PandaFuzz.EndToEnd.Tests;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Chaos.Tests;

/// <summary>
/// A bot node killed with its whole process group (<c>kill -9 -PGID</c>, as a service manager or an operator may) while it
/// fuzzes: its fuzzer dies with it, the master downs it, shows it offline with the reason, and its job runs on the other
/// bot within seconds (not after the job's silence timeout).
/// </summary>
[Collection(ChaosCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class LostBotTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    [Fact]
    public Task A_killed_bots_job_runs_on_another_bot_within_seconds_and_the_bot_shows_offline_with_the_reason() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: a master and two bots; one job that fuzzes a target without bugs (it never stops by itself).
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master"), ct);
            var bots = new[]
            {
                Env.StartNode(Env.NewNodeOptions("bot-a", "bot", seeds: master.Options.RemoteEndpoint) with { OwnProcessGroup = true }),
                Env.StartNode(Env.NewNodeOptions("bot-b", "bot", seeds: master.Options.RemoteEndpoint) with { OwnProcessGroup = true }),
            };
            void AllRunning()
            {
                master.EnsureRunning();
                foreach (var bot in bots.Where(b => !b.HasExited))
                {
                    bot.EnsureRunning();
                }
            }

            using var api = new ApiClient(master.Options.BaseAddress);
            var online = await ChaosFlow.WaitForOnlineBotsAsync(api, 2, AllRunning, ct);
            var running = await ChaosFlow.StartOneLongJobAsync(api, targets.NoBug, "lost-bot", AllRunning, ct);
            var jobId = running.Id;
            var victimBot = online.Single(b => b.Id == running.BotId);
            var victim = bots.Single(n => victimBot.Address == n.Options.RemoteEndpoint);
            var survivor = bots.Single(n => n != victim);

            // Act: SIGKILL the bot's whole process group: the node runs no cleanup, and whatever shares its group dies with it.
            var sinceKill = Stopwatch.StartNew();
            using (var process = Process.GetProcessById(victim.Pid))
            {
                var kill = await ProcessTools.RunAsync("kill", ["-KILL", "--", $"-{victim.Pid}"], TimeSpan.FromSeconds(10), ct);
                kill.ExitCode.Should().Be(0, kill.StandardError);
                await process.WaitForExitAsync(ct);
            }

            // Its fuzzer does not outlive it: the fuzzer's dead man's switch (in a session of its own) kills the fuzzer's
            // group within about a second.
            await FuzzingFlow.WaitForNoFuzzerAsync(victim.Options.DataDir, ct);
            output.WriteLine($"bot SIGKILL -> its fuzzer gone: {sinceKill.Elapsed.TotalSeconds:0.0} s");
            sinceKill.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "a killed bot leaves no fuzzer running");

            // Assert: the job runs on the other bot, well before the 30 s silence timeout could have moved it.
            var moved = await Eventually.SatisfyAsync(
                "the job runs on the surviving bot",
                TimeSpan.FromSeconds(60),
                c => api.GetJobAsync(jobId, c),
                j => States.Is(j.State, States.Running) && j.BotId != victimBot.Id,
                ct,
                AllRunning,
                interval: TimeSpan.FromMilliseconds(250));
            var failover = sinceKill.Elapsed;
            output.WriteLine($"bot SIGKILL -> job running on another bot: {failover.TotalSeconds:0.0} s");
            failover.Should().BeLessThan(TimeSpan.FromSeconds(25), "the master downs the lost bot and requeues its jobs at once");
            await FuzzingFlow.WaitForFuzzerAsync(survivor.Options.DataDir, AllRunning, ct);

            // The bot list reads the read model, up to about a second behind the bot's entity.
            var listed = await Eventually.SatisfyAsync(
                "the lost bot is listed offline",
                TimeSpan.FromSeconds(15),
                api.GetBotsAsync,
                list => list.Any(b => b.Id == victimBot.Id && States.Is(b.State, States.Offline)),
                ct,
                AllRunning);
            var lost = listed.Single(b => b.Id == victimBot.Id);
            States.Is(lost.State, States.Offline).Should().BeTrue();
            lost.OfflineReason.Should().Contain("downed").And.Contain(victim.Options.RemoteEndpoint);
            lost.OfflineSince.Should().NotBeNull();
            moved.AssignedAt.Should().BeAfter(running.StartedAt!.Value);
        });
}
