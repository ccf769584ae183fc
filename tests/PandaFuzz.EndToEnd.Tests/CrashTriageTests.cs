using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Crash triage through real nodes and real libFuzzer runs: de-duplication of a target's two bugs, minimization of
/// each, and the reproduction rate of a flaky crash.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class CrashTriageTests(TargetBuilder targets) : EndToEndTest
{
    [Fact]
    public Task Two_bugs_are_two_unique_crashes_each_reproducible_and_minimized_to_the_same_bug() =>
        Env.RunAsync(TimeSpan.FromMinutes(8), async ct =>
        {
            // Arrange: a webhook receiver that refuses the first two POSTs (the node must retry them).
            var twoBugs = targets.TwoBugs;
            await using var webhook = new WebhookReceiver(failFirst: 2);
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot") with
            {
                Webhooks = webhook.Url,
                CommandPort = FreePort.Next(),
                Environment = new Dictionary<string, string> { ["PANDAFUZZ_WEBHOOK_SECRET"] = WebhookSecret },
            }, ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, twoBugs, ct);

            // Act: fuzz long enough to hit both bugs many times (libFuzzer restarts after each crash).
            var campaign = await FuzzingFlow.CreateCampaignAsync(
                api, new CampaignRequest("two-bugs", target.Id, DurationSeconds: 40, Dictionary: "kw=\"BUG\"\n"), ct);

            // Assert: exactly two unique crashes, each minimized (the minimization jobs run after the fuzzing job).
            var crashes = await FuzzingFlow.WaitForCrashesAsync(
                api, campaign.Id, "two unique crashes, both minimized",
                list => list.Count >= 2 && list.All(c => c.Minimized is not null),
                TimeSpan.FromMinutes(3), node.EnsureRunning, ct);
            crashes.Should().HaveCount(2);
            crashes.Select(c => (c.Kind, c.State)).Should().BeEquivalentTo(new[]
            {
                ("Heap-buffer-overflow WRITE 1", "overflow_name"),
                ("Heap-use-after-free READ 1", "use_stale_header"),
            });

            foreach (var crash in crashes)
            {
                crash.Count.Should().BeGreaterThanOrEqualTo(1);
                crash.Reproducible.Should().BeTrue("{0} crashes on every run", crash.Kind);
                crash.ReproducibleRate.Should().Be(1.0);
                crash.Security.Should().BeTrue();
                crash.Signature.Should().MatchRegex("^[0-9a-f]{16}$");
                crash.Id.Should().Be($"{campaign.Id}-{crash.Signature}");
                crash.Minimized!.Failure.Should().BeNull();

                // The minimized input is no larger, and crashes the target with the same bug in the same function.
                var original = await api.GetCrashInputAsync(crash.Id, ct);
                var minimized = await api.GetMinimizedCrashInputAsync(crash.Id, ct);
                FuzzingFlow.Sha256Hex(minimized).Should().Be(crash.Minimized.InputSha256);
                minimized.Length.Should().BeLessThanOrEqualTo(original.Length);
                var run = await FuzzingFlow.ReproduceAsync(twoBugs, minimized, Path.Combine(Env.Root, "repro-" + crash.Signature), ct);
                run.ExitCode.Should().NotBe(0);
                run.StandardError.Should().Contain(crash.Kind!.Split(' ')[0].ToLowerInvariant()).And.Contain($"in {crash.State} ");

                var detail = await api.GetCrashAsync(crash.Id, ct);
                detail.Samples.Should().NotBeNullOrEmpty().And.HaveCountLessThanOrEqualTo(5);
                detail.Reproduced.Should().Be(detail.ReproduceAttempts, "every reproduction run of a deterministic bug crashes");
                detail.Stack.Should().Contain(f => f.Contains(crash.State!, StringComparison.Ordinal));
            }

            // Assert: each unique crash was announced once to the webhook, despite the refused first attempts, and each
            // of the two bugs once as a new bug (its first crash), naming the bug the API shows.
            var bugs = await api.GetCampaignBugsAsync(campaign.Id, ct);
            bugs.Should().HaveCount(2, "two bugs in two functions");
            var announcedAll = await Eventually.SatisfyAsync(
                "the webhook received one crash.new per unique crash and one bug.new per bug",
                TimeSpan.FromSeconds(60),
                () => webhook.Accepted.ToList(),
                list => list.Count >= crashes.Count + bugs.Count,
                ct,
                node.EnsureRunning);
            var announced = announcedAll.Where(a => a.GetProperty("event").GetString() == "crash.new").ToList();
            announcedAll.Select(a => a.GetProperty("event").GetString()).Should().OnlyContain(e => e == "crash.new" || e == "bug.new");
            announced.Select(a => a.GetProperty("crashId").GetString()).Should().BeEquivalentTo(crashes.Select(c => c.Id));
            announced.Select(a => a.GetProperty("kind").GetString()).Should().BeEquivalentTo(crashes.Select(c => c.Kind));
            announced.Select(a => a.GetProperty("bugId").GetString()).Should().BeEquivalentTo(crashes.Select(c => c.BugId));
            announcedAll.Where(a => a.GetProperty("event").GetString() == "bug.new").Select(a => a.GetProperty("bugId").GetString())
                .Should().BeEquivalentTo(bugs.Select(b => b.Id));
            webhook.Requests.Should().BeGreaterThanOrEqualTo(crashes.Count + bugs.Count + 2, "the two refused POSTs were retried");

            // The bugs' SARIF: one result per bug, the bug's id as its fingerprint.
            var bugSarif = await api.GetRawAsync($"api/v1/campaigns/{campaign.Id}/bugs.sarif", ct);
            bugSarif.StatusCode.Should().Be(200);
            using (var document = System.Text.Json.JsonDocument.Parse(bugSarif.Body))
            {
                document.RootElement.GetProperty("runs")[0].GetProperty("results").EnumerateArray()
                    .Select(r => r.GetProperty("partialFingerprints").GetProperty("pandafuzzBug/v1").GetString())
                    .Should().BeEquivalentTo(bugs.Select(b => b.Id));
            }

            // Assert: the SARIF export has one result per unique crash and passes the SARIF multitool's validation.
            var sarif = await api.GetRawAsync($"api/v1/campaigns/{campaign.Id}/crashes.sarif", ct);
            sarif.StatusCode.Should().Be(200);
            sarif.MediaType.Should().Be("application/sarif+json");
            using (var document = System.Text.Json.JsonDocument.Parse(sarif.Body))
            {
                var run = document.RootElement.GetProperty("runs")[0];
                document.RootElement.GetProperty("version").GetString().Should().Be("2.1.0");
                var results = run.GetProperty("results").EnumerateArray().ToList();
                results.Select(r => r.GetProperty("partialFingerprints").GetProperty("pandafuzzCrashSignature/v1").GetString())
                    .Should().BeEquivalentTo(crashes.Select(c => c.Signature));
                results.Select(r => r.GetProperty("ruleId").GetString()).Should().BeEquivalentTo(["Heap-buffer-overflow", "Heap-use-after-free"]);
                results.Should().OnlyContain(r => r.GetProperty("locations")[0].GetProperty("physicalLocation")
                    .GetProperty("artifactLocation").GetProperty("uri").GetString()!.EndsWith("two_bugs.c", StringComparison.Ordinal));
            }

            var sarifFile = Path.Combine(Env.Root, "crashes.sarif");
            await File.WriteAllTextAsync(sarifFile, sarif.Body, ct);
            var (validation, errors) = await SarifMultitool.ValidateAsync(sarifFile, Path.Combine(Env.Root, "validation.sarif"), ct);
            errors.Should().BeEmpty("sarif-multitool validate must accept the export; it said:\n{0}", validation.StandardOutput);

            // Reproduce anywhere: the bundle alone reruns the crash on the binary in a clean folder, and crash repro says so.
            var overflowCrash = crashes.Single(c => c.State == "overflow_name");
            var clean = Directory.CreateDirectory(Path.Combine(Env.Root, "bundle")).FullName;
            System.IO.Compression.ZipFile.ExtractToDirectory(new MemoryStream(await api.GetBytesAsync($"api/v1/crashes/{overflowCrash.Id}/bundle", ct)), clean);
            File.Exists(Path.Combine(clean, $"crash-{overflowCrash.Signature}.minimized")).Should().BeTrue("the bundle holds the minimized input");
            var rerun = await ProcessTools.RunAsync("sh", [Path.Combine(clean, "reproduce.sh"), twoBugs.Path], TimeSpan.FromMinutes(1), ct, workingDirectory: clean);
            rerun.ExitCode.Should().NotBe(0);
            rerun.StandardError.Should().Contain("heap-buffer-overflow").And.Contain("in overflow_name");
            var detailOfOverflow = await api.GetCrashAsync(overflowCrash.Id, ct);
            detailOfOverflow.Reproduce!.CommandLine.Should().Contain("-runs=1").And.Contain("ASAN_OPTIONS=").And.EndWith($"crash-{overflowCrash.Signature}");
            async Task<ProcessResult> Repro(string binary) => await ProcessTools.RunAsync(RepoLayout.DotnetHost,
                [RepoLayout.CmdDll, $"127.0.0.1:{node.Options.CommandPort}", "crash", "repro", overflowCrash.Id, "--target", binary], TimeSpan.FromMinutes(2), ct,
                workingDirectory: Env.Root, environment: new Dictionary<string, string> { ["PANDAFUZZ_DATA_DIR"] = node.Options.DataDir });
            var reproduced = await Repro(twoBugs.Path);
            reproduced.ExitCode.Should().Be(0, reproduced.StandardOutput + reproduced.StandardError);
            reproduced.StandardOutput.Should().Contain($"reproduces: Heap-buffer-overflow WRITE 1 in overflow_name (signature {overflowCrash.Signature})");

            // Act: build 2 of the target fixes the overflow (the same source with -DFIX_OVERFLOW); build 3 brings it back.
            var overflow = bugs.Single(b => b.State.StartsWith("overflow_name", StringComparison.Ordinal));
            var useAfterFree = bugs.Single(b => b != overflow);
            overflow.FoundInBuild.Should().Be(1, "the campaign fuzzed the binary uploaded as build 1 of two_bugs");
            var fixedBuild = await targets.BuildVariantAsync(TargetBuilder.TwoBugsName, "fixed", "FIX_OVERFLOW");
            var onFixed = await Repro(fixedBuild.Path);
            onFixed.ExitCode.Should().Be(1, "the fixed build does not crash on the overflow's input: " + onFixed.StandardOutput + onFixed.StandardError);
            onFixed.StandardOutput.Should().Contain("does not reproduce");
            (await api.UploadBuildAsync(twoBugs.Name, "r2", fixedBuild.ReadBytes(), ct)).Build.Should().Be(2);

            // Assert: the overflow is fixed in build 2 (last reproduced in build 1); the use-after-free still reproduces.
            var afterFix = await Eventually.SatisfyAsync("both bugs are checked on build 2", TimeSpan.FromMinutes(2),
                token => api.GetCampaignBugsAsync(campaign.Id, token),
                list => list.All(b => b.Checks.Any(c => c.Build == 2)), ct, node.EnsureRunning);
            var fixedBug = afterFix.Single(b => b.Id == overflow.Id);
            fixedBug.Status.Should().Be("fixed");
            (fixedBug.FixedIn, fixedBug.LastReproducedIn).Should().Be((2, 1));
            var stillOpen = afterFix.Single(b => b.Id == useAfterFree.Id);
            stillOpen.Status.Should().Be("open");
            stillOpen.Checks.Single().Reproduces.Should().BeTrue("the use-after-free is in build 2 too");

            (await api.UploadBuildAsync(twoBugs.Name, "r3", twoBugs.ReadBytes(), ct)).Build.Should().Be(3);
            var afterRegression = await Eventually.SatisfyAsync("the overflow is checked on build 3", TimeSpan.FromMinutes(2),
                token => api.GetCampaignBugsAsync(campaign.Id, token),
                list => list.Single(b => b.Id == overflow.Id).Checks.Any(c => c.Build == 3), ct, node.EnsureRunning);
            var regressed = afterRegression.Single(b => b.Id == overflow.Id);
            regressed.Status.Should().Be("regressed");
            (regressed.RegressedIn, regressed.LastFixedIn).Should().Be((3, 2));

            // The webhook heard bug.fixed and bug.regressed, each body signed with the configured secret.
            var statusHooks = await Eventually.SatisfyAsync("the webhook received bug.fixed and bug.regressed", TimeSpan.FromSeconds(60),
                () => webhook.Raw.Select(r => (r.Body, r.Signature, Json: System.Text.Json.JsonDocument.Parse(r.Body).RootElement.Clone()))
                    .Where(r => r.Json.GetProperty("event").GetString() is "bug.fixed" or "bug.regressed").ToList(),
                list => list.Count >= 2, ct, node.EnsureRunning);
            statusHooks.Select(h => (h.Json.GetProperty("event").GetString(), h.Json.GetProperty("bugId").GetString(), h.Json.GetProperty("build").GetInt32()))
                .Should().Equal(("bug.fixed", overflow.Id, 2), ("bug.regressed", overflow.Id, 3));
            webhook.Raw.Should().OnlyContain(r => r.Signature == "sha256=" + Convert.ToHexStringLower(
                System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(WebhookSecret), r.Body)), "every body is signed");

            // A CI gate on build 4 (the fix again): only known bugs, so it passes; the overflow is fixed there again.
            async Task<ProcessResult> Gate(string binary, string revision, string sarif) => await ProcessTools.RunAsync(RepoLayout.DotnetHost,
                [RepoLayout.CmdDll, $"127.0.0.1:{node.Options.CommandPort}", "ci", "--name", twoBugs.Name, "--target", binary, "--seconds", "3",
                    "--revision", revision, "--sarif", sarif, "--source-root", RepoLayout.TargetSources], TimeSpan.FromMinutes(3), ct,
                workingDirectory: Env.Root, environment: new Dictionary<string, string> { ["PANDAFUZZ_DATA_DIR"] = node.Options.DataDir });
            var passed = await Gate(fixedBuild.Path, "r4", Path.Combine(Env.Root, "gate-4.sarif"));
            passed.ExitCode.Should().Be(0, "build 4 has only the known use-after-free: " + passed.StandardOutput + passed.StandardError);
            passed.StandardOutput.Should().Contain("KNOWN").And.Contain($"{useAfterFree.Id}  Heap-use-after-free READ 1 in use_stale_header")
                .And.Contain("FIXED in build 4").And.Contain(overflow.Id).And.Contain("passed: build 4 of two_bugs brings no new or regressed bug")
                .And.NotContain("NEW:");

            // Build 5 brings a new bug: the gate fails on it and says how to rerun it; its SARIF is valid, paths relative to the sources.
            var withNewBug = await targets.BuildVariantAsync(TargetBuilder.TwoBugsName, "new-bug", "FIX_OVERFLOW", "NEW_BUG");
            var sarif5 = Path.Combine(Env.Root, "gate-5.sarif");
            var failed = await Gate(withNewBug.Path, "r5", sarif5);
            failed.ExitCode.Should().Be(2, "build 5 has a new bug: " + failed.StandardOutput + failed.StandardError);
            failed.StandardOutput.Should().MatchRegex(@"NEW:\n  \S+-bug-[0-9a-f]{16}  Stack-buffer-overflow READ 1 in read_trailer")
                .And.Contain("rerun locally: pandafuzz-cmd HOST:PORT crash repro").And.Contain($"--target {withNewBug.Path}")
                .And.Contain("failed: build 5 of two_bugs has 1 new and 0 regressed bug(s)");
            using (var document = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(sarif5, ct)))
            {
                var run = document.RootElement.GetProperty("runs")[0];
                run.GetProperty("originalUriBaseIds").GetProperty("SRCROOT").GetProperty("uri").GetString()
                    .Should().Be(new Uri(RepoLayout.TargetSources.TrimEnd('/') + "/").AbsoluteUri);
                var results = run.GetProperty("results").EnumerateArray().ToList();
                results.Select(r => r.GetProperty("properties").GetProperty("verdict").GetString()).Should().BeEquivalentTo(["new", "known"]);
                results.Should().OnlyContain(r => r.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString() == "two_bugs.c"
                    && r.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uriBaseId").GetString() == "SRCROOT");
            }

            var (gateValidation, gateErrors) = await SarifMultitool.ValidateAsync(sarif5, Path.Combine(Env.Root, "gate-validation.sarif"), ct);
            gateErrors.Should().BeEmpty("sarif-multitool validate must accept the gate's SARIF; it said:\n{0}", gateValidation.StandardOutput);
        });

    private const string WebhookSecret = "webhook-secret-for-the-test";

    [Fact]
    public Task A_flaky_crash_is_kept_and_marked_with_its_reproduction_rate() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // flaky.c counts its executions in a file of the work dir: plain libFuzzer runs (no -fork), which stop at the
            // crash, so no fuzzing counts along while the three reruns do, and exactly one of them crashes.
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot") with
            {
                Environment = new Dictionary<string, string> { [NodeProcess.LibFuzzerFork] = "off" },
            }, ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, targets.Flaky, ct);

            var campaign = await FuzzingFlow.CreateCampaignAsync(
                api, new CampaignRequest("flaky", target.Id, DurationSeconds: 30, Dictionary: "kw=\"FLK\"\n"), ct);

            var crashes = await FuzzingFlow.WaitForCrashesAsync(api, campaign.Id, node.EnsureRunning, ct);
            var crash = crashes.Should().ContainSingle().Subject;
            crash.Kind.Should().Be("Null-dereference WRITE");
            crash.State.Should().Be("sometimes_write_null");
            var detail = await api.GetCrashAsync(crash.Id, ct);
            detail.ReproduceAttempts.Should().BeGreaterThanOrEqualTo(3);
            detail.Reproduced.Should().BeLessThan(detail.ReproduceAttempts!.Value, "the crash happens on one execution in three");
            crash.ReproducibleRate.Should().BeApproximately((double)detail.Reproduced!.Value / detail.ReproduceAttempts.Value, 1e-4);
            crash.Reproducible.Should().Be(detail.Reproduced > 0);

            await api.StopCampaignAsync(campaign.Id, ct);
        });
}
