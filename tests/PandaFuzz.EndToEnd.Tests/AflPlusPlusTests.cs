using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>One node with both roles runs an AFL++ campaign: the bot announces AFL++, afl-fuzz finds the planted overflow.</summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed partial class AflPlusPlusTests(TargetBuilder targets) : EndToEndTest
{
    [Fact]
    public Task An_aflplusplus_campaign_finds_the_planted_crash() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: both builds of planted_bug; the libFuzzer one is the independent judge of the crash input.
            var aflBuild = targets.PlantedBugAfl;
            var libFuzzerBuild = targets.PlantedBug;
            var installedVersion = await InstalledAflVersionAsync(ct);
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot"), ct);
            using var api = new ApiClient(node.Options.BaseAddress);

            // Assert: the bot says it has AFL++, with the installed version.
            var bots = await Eventually.SatisfyAsync(
                "GET /api/v1/bots lists one online bot whose engines include aflplusplus",
                Timeouts.BotOnline,
                api.GetBotsAsync,
                list => list.Count == 1 && States.Is(list[0].State, States.Online) &&
                        list[0].Capabilities?.Engines?.Any(e => IsEngine(e, EngineNames.AflPlusPlus)) == true,
                ct,
                node.EnsureRunning);
            var engines = bots[0].Capabilities!.Engines!;
            engines.Should().Contain(e => IsEngine(e, EngineNames.LibFuzzer), "the bot still runs libFuzzer");
            var afl = engines.Single(e => IsEngine(e, EngineNames.AflPlusPlus));
            afl.Version.Should().Be(installedVersion, "the bot reports the afl-fuzz version installed on its machine");

            // Act
            var target = await FuzzingFlow.UploadAsync(api, aflBuild, ct);
            var campaign = await FuzzingFlow.CreateCampaignAsync(
                api,
                new CampaignRequest("planted-bug-afl", target.Id, Engine: EngineNames.AflPlusPlus, Jobs: 1, DurationSeconds: 120,
                    TimeoutMs: 1000, Dictionary: FuzzingFlow.PlantedBugDictionary),
                ct);
            var crashes = await FuzzingFlow.WaitForCrashesAsync(
                api, campaign.Id, "lists a crash", list => list.Count > 0, Timeouts.AflFirstCrash, node.EnsureRunning, ct);

            // Assert: the job runs afl-fuzz, not libFuzzer.
            var fuzzers = ProcessTools.FindByCommandLine(node.Options.DataDir);
            fuzzers.Should().Contain(p => FuzzingFlow.IsAflFuzz(p), "an aflplusplus job runs afl-fuzz");
            fuzzers.Should().NotContain(p => FuzzingFlow.IsLibFuzzerRun(p), "no libFuzzer run belongs to an aflplusplus campaign");

            // Assert: the bot reproduced the AFL++ finding to get its sanitizer report.
            var crash = crashes[0];
            crash.CampaignId.Should().Be(campaign.Id);
            var detail = await api.GetCrashAsync(crash.Id, ct);
            detail.Kind.Should().Be("Heap-buffer-overflow WRITE 1", "planted_bug writes past an 8-byte heap buffer; output:\n{0}", detail.Output);
            detail.Stack.Should().NotBeNullOrEmpty("the bot runs the AFL++ crash input once to get the sanitizer's stack");
            detail.Output.Should().Contain("AddressSanitizer", "the crash's output is the sanitizer report of the reproduction");

            // Assert: the stored input is AFL++'s crash, and it crashes the libFuzzer build of the same source too.
            var input = await api.GetCrashInputAsync(crash.Id, ct);
            input.Should().NotBeEmpty();
            FuzzingFlow.Sha256Hex(input).Should().BeEquivalentTo(crash.InputSha256);
            var reproduction = await FuzzingFlow.ReproduceAsync(libFuzzerBuild, input, Path.Combine(Env.Root, "repro"), ct);
            reproduction.ExitCode.Should().NotBe(0, "AFL++'s crash input must crash the libFuzzer build too; stderr:\n{0}", reproduction.StandardError);
            reproduction.StandardError.Should().Contain("heap-buffer-overflow");

            // Assert: the job reports AFL++'s progress while it runs.
            var withStats = await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "its running job reports execs > 0",
                c => c.FuzzJobs is [{ Stats.Execs: > 0 } job] && States.Is(job.State, States.Running),
                node.EnsureRunning,
                ct,
                Timeouts.JobStats);
            var job = withStats.FuzzJobs![0];
            job.BotId.Should().Be(bots[0].Id);
            crash.JobId.Should().Be(job.Id);
            job.Stats!.TotalEdges.Should().BePositive("AFL++'s fuzzer_stats gives the size of the target's edge map");

            // Act + assert: the campaign stops (what is left of afl-fuzz is the subject of the stop test below).
            await api.StopCampaignAsync(campaign.Id, ct);
            await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "its job is cancelled",
                c => c.FuzzJobs is [var j] && States.Is(j.State, States.Cancelled),
                node.EnsureRunning,
                ct);
            node.EnsureRunning();
        });

    [Fact]
    public Task An_aflplusplus_campaign_of_three_jobs_on_a_cmplog_build_runs_one_main_and_two_secondaries_one_with_cmplog() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: build 1 of no_bug for AFL++ with its CMPLOG binary, and a bot with a slot for each of three jobs.
            var cmplog = await targets.BuildAflCmplogAsync(TargetBuilder.NoBugName);
            var options = Env.NewNodeOptions("node", "master,bot") with
            {
                Environment = new Dictionary<string, string> { ["PANDAFUZZ__PANDAFUZZ__BOT__SLOTS"] = "3" },
            };
            var node = await Env.StartReadyNodeAsync(options, ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            await api.UploadBuildAsync("cmplog-demo", "r1", targets.NoBugAfl.ReadBytes(), ct);
            var uploaded = await api.PostBytesRawAsync("api/v1/targets?name=cmplog-demo&kind=cmplog&build=1", cmplog.ReadBytes(), ct);
            uploaded.StatusCode.Should().Be(201, uploaded.Body);

            // Act: three AFL++ jobs on the build.
            var created = await api.PostJsonRawAsync("api/v1/campaigns",
                new { name = "cmplog", target = "cmplog-demo", engine = EngineNames.AflPlusPlus, jobs = 3, durationSeconds = 120 }, ct);
            created.StatusCode.Should().Be(201, created.Body);
            var campaignId = System.Text.Json.JsonDocument.Parse(created.Body).RootElement.GetProperty("id").GetString()!;

            // Assert: each job shows how its bot runs afl-fuzz, and each reports executions (afl-fuzz took its options).
            var running = await FuzzingFlow.WaitForCampaignAsync(api, campaignId, "its three jobs run afl-fuzz with executions",
                c => c.FuzzJobs is { Count: 3 } jobs && jobs.All(j => States.Is(j.State, States.Running) && j.Stats is { Execs: > 0 }),
                node.EnsureRunning, ct, Timeouts.JobStats);
            var lines = new List<string>();
            foreach (var job in running.FuzzJobs!)
            {
                var shown = await Eventually.SatisfyAsync($"job {job.Id} shows its command line", TimeSpan.FromSeconds(30),
                    token => api.GetRawAsync($"api/v1/jobs/{job.Id}", token),
                    r => System.Text.Json.JsonDocument.Parse(r.Body).RootElement.TryGetProperty("commandLine", out var line) && line.ValueKind == System.Text.Json.JsonValueKind.String,
                    ct, node.EnsureRunning);
                lines.Add(System.Text.Json.JsonDocument.Parse(shown.Body).RootElement.GetProperty("commandLine").GetString()!);
            }

            lines.Count(l => l.Contains(" -M job ", StringComparison.Ordinal)).Should().Be(1, "one main instance: {0}", string.Join('\n', lines));
            lines.Count(l => l.Contains(" -S job ", StringComparison.Ordinal)).Should().Be(2);
            var withCmplog = lines.Where(l => l.Contains(" -c ", StringComparison.Ordinal)).Should().ContainSingle().Subject;
            withCmplog.Should().Contain(" -S job ").And.Contain("target.cmplog");
            lines.Where(l => l.Contains(" -S job ", StringComparison.Ordinal)).Select(l => CommandFlag().Match(l).Groups[1].Value).Should().OnlyHaveUniqueItems(
                "the secondaries vary their power schedules");

            await api.StopCampaignAsync(campaignId, ct);
            await FuzzingFlow.WaitForCampaignAsync(api, campaignId, "stopped", c => c.Status == "stopped", node.EnsureRunning, ct);
        });

    [GeneratedRegex(" -p ([a-z]+) ")]
    private static partial Regex CommandFlag();

    [Fact]
    public Task An_aflplusplus_jobs_stats_count_the_crashes_it_reported() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange
            var aflBuild = targets.PlantedBugAfl;
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot"), ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, aflBuild, ct);
            var campaign = await FuzzingFlow.CreateCampaignAsync(
                api,
                new CampaignRequest("planted-bug-afl-stats", target.Id, Engine: EngineNames.AflPlusPlus, Jobs: 1, DurationSeconds: 120,
                    Dictionary: FuzzingFlow.PlantedBugDictionary),
                ct);

            // Act: afl-fuzz finds the overflow within seconds, long before its first periodic fuzzer_stats rewrite (60 s).
            var crashes = await FuzzingFlow.WaitForCrashesAsync(
                api, campaign.Id, "lists a crash", list => list.Count > 0, Timeouts.AflFirstCrash, node.EnsureRunning, ct);
            var jobId = crashes[0].JobId!;

            // Assert: the running job's "crashes" counts what it has already reported, within a few stats intervals.
            await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                $"job {jobId} is running and its stats count the {crashes.Count(c => c.JobId == jobId)} crash(es) it reported",
                c => c.FuzzJobs is [{ Stats: { } stats } job] && States.Is(job.State, States.Running) &&
                     stats.Crashes >= crashes.Count(x => x.JobId == jobId),
                node.EnsureRunning,
                ct,
                TimeSpan.FromSeconds(15));
        });

    [Fact]
    public Task Stopping_an_aflplusplus_campaign_lets_afl_fuzz_exit_cleanly() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: two AFL++ jobs (one per slot of a 2-core bot) without the dictionary, so they fuzz without crashing.
            // Two jobs are two chances to catch a stop that is not graceful, which depends on the timing of each job's end.
            Environment.ProcessorCount.Should().BeGreaterThanOrEqualTo(2, "the bot of this test must run both jobs at once");
            var aflBuild = targets.PlantedBugAfl;
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot"), ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, aflBuild, ct);
            var campaign = await FuzzingFlow.CreateCampaignAsync(
                api,
                new CampaignRequest("afl-stop", target.Id, Engine: EngineNames.AflPlusPlus, Jobs: 2, DurationSeconds: 120),
                ct);
            var running = await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "both jobs are running on a bot",
                c => c.FuzzJobs is { Count: 2 } jobs && jobs.All(j => States.Is(j.State, States.Running) && !string.IsNullOrWhiteSpace(j.BotId)),
                node.EnsureRunning,
                ct,
                TimeSpan.FromSeconds(60));
            var jobIds = running.FuzzJobs!.Select(j => j.Id).ToList();

            // afl-fuzz writes fuzzer_stats at its start, then once a minute, and at a clean exit (SIGTERM).
            // Let it run a few seconds so a write at exit is told apart from the one at start (whole seconds).
            var startStats = await Eventually.SatisfyAsync(
                "afl-fuzz of both jobs has written fuzzer_stats and has run for 3 s",
                TimeSpan.FromSeconds(60),
                () => jobIds.Select(id => ReadAflStats(node.Options.DataDir, id)).ToList(),
                all => all.All(stats => stats is not null && DateTimeOffset.UtcNow - UnixTime(stats, "start_time") >= TimeSpan.FromSeconds(3)),
                ct,
                node.EnsureRunning);
            ProcessTools.FindByCommandLine(node.Options.DataDir).Count(FuzzingFlow.IsAflFuzz).Should().Be(2, "each job runs its afl-fuzz");

            // Act
            await api.StopCampaignAsync(campaign.Id, ct);

            // Assert: the jobs are cancelled and afl-fuzz has ended.
            await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "both jobs are cancelled",
                c => c.FuzzJobs is { Count: 2 } jobs && jobs.All(j => States.Is(j.State, States.Cancelled)),
                node.EnsureRunning,
                ct);
            await Eventually.SatisfyAsync(
                "no afl-fuzz runs any more",
                Timeouts.FuzzerProcess,
                () => ProcessTools.FindByCommandLine(node.Options.DataDir),
                list => !list.Any(FuzzingFlow.IsAflFuzz),
                ct,
                node.EnsureRunning);

            // Assert: each afl-fuzz was asked to stop (SIGTERM) and had the grace to save its final stats, instead of
            // being SIGKILLed at once. A SIGKILLed afl-fuzz leaves its forkserver's persistent-mode child behind,
            // stopped, in the forkserver's own session that a kill of afl-fuzz's process group does not reach.
            for (var i = 0; i < jobIds.Count; i++)
            {
                var finalStats = ReadAflStats(node.Options.DataDir, jobIds[i]);
                finalStats.Should().NotBeNull();
                UnixTime(finalStats!, "last_update").Should().BeAfter(
                    UnixTime(startStats[i]!, "start_time"),
                    "afl-fuzz of job {0} rewrites fuzzer_stats when it exits on SIGTERM (execs_done at start {1}, at the end {2}); " +
                    "an unchanged start-time file means it was killed with SIGKILL without a grace period",
                    jobIds[i],
                    startStats[i]!.GetValueOrDefault("execs_done"),
                    finalStats!.GetValueOrDefault("execs_done"));
            }

            // Assert: nothing of the jobs is left: neither afl-fuzz, nor its forkserver, nor a fuzzed child.
            await FuzzingFlow.WaitForNoFuzzerAsync(node.Options.DataDir, ct);
            node.EnsureRunning();
        });

    /// <summary>The fuzzer_stats of the job's afl-fuzz instance (found by name under the job's work dir), as key/value; null before it exists.</summary>
    private static Dictionary<string, string>? ReadAflStats(string dataDir, string jobId)
    {
        var file = Directory.Exists(dataDir)
            ? Directory.EnumerateFiles(dataDir, "fuzzer_stats", SearchOption.AllDirectories)
                .FirstOrDefault(f => f.Contains(jobId, StringComparison.Ordinal))
            : null;
        if (file is null)
        {
            return null;
        }

        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var stats = reader.ReadToEnd()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0].Trim(), parts => parts[1].Trim());
        return stats.ContainsKey("start_time") && stats.ContainsKey("last_update") ? stats : null;
    }

    private static DateTimeOffset UnixTime(IReadOnlyDictionary<string, string> stats, string key) =>
        DateTimeOffset.FromUnixTimeSeconds(long.Parse(stats[key], System.Globalization.CultureInfo.InvariantCulture));

    private static bool IsEngine(EngineInfo engine, string name) => string.Equals(engine.Name, name, StringComparison.OrdinalIgnoreCase);

    /// <summary>The version afl-fuzz prints in its help banner ("afl-fuzz++4.04c based on ..."), colour codes removed.</summary>
    private static async Task<string> InstalledAflVersionAsync(CancellationToken cancellationToken)
    {
        var help = await ProcessTools.RunAsync("afl-fuzz", ["-h"], TimeSpan.FromSeconds(10), cancellationToken);
        var text = AnsiEscape().Replace(help.StandardOutput + help.StandardError, "");
        var match = BannerVersion().Match(text);
        match.Success.Should().BeTrue("`afl-fuzz -h` names its version; it printed:\n{0}", text);
        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex AnsiEscape();

    [GeneratedRegex(@"afl-fuzz\+\+(\d[\w.]*)")]
    private static partial Regex BannerVersion();
}
