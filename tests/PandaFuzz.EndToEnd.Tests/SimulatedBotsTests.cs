using System.Text;
using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// The simulated engine and a node of several simulated bots, as the scale benchmark uses them: each bot registers on its
/// own, the jobs spread over them, their stats reach the API, and their crashes (reproduced by a real process on the bot)
/// are de-duplicated by the master into one crash per simulated bug.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed partial class SimulatedBotsTests : EndToEndTest
{
    [Fact]
    public Task Three_simulated_bots_in_one_node_share_the_jobs_and_their_crashes_are_one_per_bug() =>
        Env.RunAsync(TimeSpan.FromMinutes(6), async ct =>
        {
            // Failure detection is not under test here: on a machine whose cores are all taken (load 17 on 2 cores) the bots'
            // node once went 5 s without sending a heartbeat, was downed, and its jobs were pending at the deadline.
            const string heartbeatPause = "PANDAFUZZ__akka__cluster__failure_detector__acceptable_heartbeat_pause";
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master") with
            {
                Environment = new Dictionary<string, string> { [heartbeatPause] = "30s" },
            }, ct);
            var bots = Env.StartNode(Env.NewNodeOptions("bots", "bot", seeds: master.Options.RemoteEndpoint) with
            {
                Environment = new Dictionary<string, string>
                {
                    ["PANDAFUZZ__pandafuzz__bot__simulation__enabled"] = "on",
                    ["PANDAFUZZ__pandafuzz__bot__simulation__bots"] = "3",
                    ["PANDAFUZZ__pandafuzz__bot__slots"] = "2",
                    [heartbeatPause] = "30s",
                },
            });
            using var api = new ApiClient(master.Options.BaseAddress);

            void BothRunning()
            {
                master.EnsureRunning();
                bots.EnsureRunning();
            }

            var online = await Eventually.SatisfyAsync(
                "GET /api/v1/bots lists three bots online, each offering only the simulated engine with 2 slots",
                Timeouts.BotOnline,
                api.GetBotsAsync,
                list => list.Count(b => States.Is(b.State, States.Online)) == 3,
                ct,
                BothRunning);
            online.Should().OnlyContain(b => b.Capabilities!.Slots == 2 && b.Capabilities.Engines!.Select(e => e.Name).SequenceEqual(new[] { "simulated" }));
            online.Select(b => b.Id).Should().OnlyHaveUniqueItems();

            // A crash every two seconds per job, from two bugs (every half second flooded a loaded machine's master).
            var target = await api.UploadTargetAsync("simulated",
                Encoding.UTF8.GetBytes("pandafuzz-simulated-target\nexecs-per-second = 7000\ncrashes-per-minute = 30\nsignatures = 2\ntick-ms = 200\n"), ct);
            var (campaign, _) = await api.CreateCampaignAsync(new CampaignRequest("simulated", target.Id, Engine: "simulated", Jobs: 6, DurationSeconds: 300), ct);

            var running = await Eventually.SatisfyAsync(
                "all six jobs run, two on each bot, with stats",
                TimeSpan.FromSeconds(120),
                async token => (await api.GetCampaignAsync(campaign.Id, token)).FuzzJobs ?? [],
                jobs => jobs.Count == 6 && jobs.All(j => States.Is(j.State, "running") && j.Stats is { Execs: > 0 }),
                ct,
                BothRunning);
            running.GroupBy(j => j.BotId).Should().HaveCount(3).And.OnlyContain(g => g.Count() == 2);
            running.Should().OnlyContain(j => j.Stats!.ExecsPerSecond == 7000);

            var crashes = await Eventually.SatisfyAsync(
                "the campaign lists one crash per simulated bug, and the master has counted later reports of the same bugs",
                TimeSpan.FromSeconds(120),
                async token => (await api.GetCampaignCrashesAsync(campaign.Id, token), Metrics(await api.GetRawAsync("metrics", token))),
                seen => seen.Item1.Count == 2 && seen.Item2.Known >= 10,
                ct,
                BothRunning);
            crashes.Item1.Select(c => c.State?.Split('\n')[0]).Should().BeEquivalentTo(["simulated_bug_0", "simulated_bug_1"]);
            crashes.Item2.New.Should().Be(2, "each bug is new once");
            crashes.Item2.Assignments.Should().BeGreaterThanOrEqualTo(6);

            await api.StopCampaignAsync(campaign.Id, ct);
        });

    private static (double New, double Known, double Assignments) Metrics(RawResponse metrics)
    {
        double Value(string series) => SeriesValue().Matches(metrics.Body)
            .Where(m => m.Groups["series"].Value == series)
            .Select(m => double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture))
            .FirstOrDefault();

        return (Value("pandafuzz_crash_reports_total{outcome=\"new\"}"), Value("pandafuzz_crash_reports_total{outcome=\"known\"}"), Value("pandafuzz_job_assignments_total"));
    }

    [GeneratedRegex(@"^(?<series>pandafuzz_[a-z_]+(?:\{[^}]*\})?) (?<value>[0-9.eE+-]+)$", RegexOptions.Multiline)]
    private static partial Regex SeriesValue();
}
