using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>One node with both roles (master,bot): the whole loop from upload to a reproduced crash, the API's errors, and stop.</summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class AllInOneTests(TargetBuilder targets) : EndToEndTest
{
    private const string ProblemJson = "application/problem+json";

    [Fact]
    public Task Planted_bug_is_found_reproduced_and_its_campaign_stopped() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange
            var plantedBug = targets.PlantedBug;
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot"), ct);
            using var api = new ApiClient(node.Options.BaseAddress);

            // Act
            var target = await FuzzingFlow.UploadAsync(api, plantedBug, ct);
            // A libFuzzer flag and a sanitizer option from the allowlists; a flag PandaFuzz manages is refused by name.
            var refused = await api.PostJsonRawAsync("api/v1/campaigns", new
            {
                name = "planted-bug", targetId = target.Id, engine = "libfuzzer", jobs = 1, durationSeconds = 120,
                engineOptions = new { libfuzzer = new { fork = 2 } },
            }, ct);
            refused.StatusCode.Should().Be(400);
            refused.MediaType.Should().Be("application/problem+json");
            refused.Body.Should().Contain("engineOptions.libfuzzer.fork").And.Contain("managed by PandaFuzz");
            var created = await api.PostJsonRawAsync("api/v1/campaigns", new
            {
                name = "planted-bug", targetId = target.Id, engine = "libfuzzer", jobs = 1, durationSeconds = 120,
                engineOptions = new { libfuzzer = new { use_value_profile = 1 }, asan = new { detect_stack_use_after_return = 1 } },
            }, ct);
            created.StatusCode.Should().Be(201, created.Body);
            var campaign = await api.GetCampaignAsync(JsonDocument.Parse(created.Body).RootElement.GetProperty("id").GetString()!, ct);
            var crashes = await FuzzingFlow.WaitForCrashesAsync(api, campaign.Id, node.EnsureRunning, ct);

            // Assert: the campaign is listed (the list reads the read model, up to about a second behind) and the crash is described.
            var listed = await Eventually.SatisfyAsync(
                "GET /api/v1/campaigns lists the campaign",
                TimeSpan.FromSeconds(15),
                api.ListCampaignsAsync,
                list => list.Any(c => c.Id == campaign.Id),
                ct,
                node.EnsureRunning);
            listed.Select(c => c.Id).Should().Contain(campaign.Id);
            var crash = crashes[0];
            crash.CampaignId.Should().Be(campaign.Id);
            var detail = await api.GetCrashAsync(crash.Id, ct);
            detail.Id.Should().Be(crash.Id);
            detail.CampaignId.Should().Be(campaign.Id);
            detail.Kind.Should().NotBeNullOrWhiteSpace("a crash has a kind, e.g. heap-buffer-overflow");
            detail.Stack.Should().NotBeNullOrEmpty("a sanitizer crash has a stack");

            // Assert: the stored input is the one that crashes the target.
            var input = await api.GetCrashInputAsync(crash.Id, ct);
            input.Should().NotBeEmpty();
            FuzzingFlow.Sha256Hex(input).Should().BeEquivalentTo(crash.InputSha256, "inputSha256 names the input's bytes");
            crash.InputSize.Should().Be(input.LongLength);
            var reproduction = await FuzzingFlow.ReproduceAsync(plantedBug, input, Path.Combine(Env.Root, "repro"), ct);
            reproduction.ExitCode.Should().NotBe(0, "the crash input must crash the target again; stderr:\n{0}", reproduction.StandardError);
            reproduction.StandardError.Should().Contain("AddressSanitizer");

            // Assert: the job ran on a bot, and the job endpoint agrees with the campaign.
            var withJob = await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "a job is running or completed, with a botId",
                c => c.FuzzJobs is { Count: > 0 } jobs && jobs.Any(HasRunOnBot),
                node.EnsureRunning,
                ct);
            var job = withJob.FuzzJobs!.First(HasRunOnBot);
            var jobDetail = await api.GetJobAsync(job.Id, ct);
            jobDetail.CampaignId.Should().Be(campaign.Id);
            jobDetail.BotId.Should().Be(job.BotId);
            crash.JobId.Should().BeOneOf(withJob.FuzzJobs!.Select(j => j.Id), "the crash came from one of the campaign's jobs");

            // Assert: the job shows the command line its bot ran, with the campaign's options.
            var launched = await Eventually.SatisfyAsync($"GET /api/v1/jobs/{job.Id} shows the command line its bot ran", TimeSpan.FromSeconds(30),
                token => api.GetRawAsync($"api/v1/jobs/{job.Id}", token),
                r => JsonDocument.Parse(r.Body).RootElement.TryGetProperty("commandLine", out var line) && line.ValueKind == JsonValueKind.String,
                ct, node.EnsureRunning);
            var shown = JsonDocument.Parse(launched.Body).RootElement;
            shown.GetProperty("commandLine").GetString().Should().Contain(" -use_value_profile=1 ").And.Contain("detect_stack_use_after_return=1")
                .And.Contain(" -max_total_time=");
            shown.GetProperty("engineOptions").GetProperty("libfuzzer").GetProperty("use_value_profile").GetString().Should().Be("1");

            // Act: stop. The planted-bug job may already have completed at its first crash, so either
            // terminal state is accepted here; the strict running → cancelled check is the no_bug test below.
            await api.StopCampaignAsync(campaign.Id, ct);

            // Assert
            await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "every job is cancelled (or had completed)",
                c => c.FuzzJobs is { Count: > 0 } jobs && jobs.All(j => States.Is(j.State, States.Cancelled) || States.Is(j.State, States.Completed)),
                node.EnsureRunning,
                ct);
            await FuzzingFlow.WaitForNoFuzzerAsync(node.Options.DataDir, ct);
            node.EnsureRunning();

            // Assert: the log warns of nothing that did not happen (Akka.NET's singleton proxy warns of a missing scheduler
            // the moment it starts looking, akkadotnet/akka.net#8568, unless told not to).
            node.Log().Should().NotContain("failed to find an associated singleton", "the scheduler was found at once on this one-node cluster");
        });

    [Fact]
    public Task Stopping_a_campaign_cancels_its_running_job_and_ends_the_fuzzer() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: a target without a bug keeps its job running for the whole 120 s duration.
            var noBug = targets.NoBug;
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot"), ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, noBug, ct);
            var campaign = await FuzzingFlow.StartCampaignAsync(api, "no-bug", target, ct);
            await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "its job is running on a bot",
                c => c.FuzzJobs is { Count: > 0 } jobs && jobs.All(j => States.Is(j.State, States.Running) && !string.IsNullOrWhiteSpace(j.BotId)),
                node.EnsureRunning,
                ct);
            await FuzzingFlow.WaitForFuzzerAsync(node.Options.DataDir, node.EnsureRunning, ct);

            // Act
            await api.StopCampaignAsync(campaign.Id, ct);

            // Assert
            await FuzzingFlow.WaitForCampaignAsync(
                api,
                campaign.Id,
                "every job is cancelled",
                c => c.FuzzJobs is { Count: > 0 } jobs && jobs.All(j => States.Is(j.State, States.Cancelled)),
                node.EnsureRunning,
                ct);
            await FuzzingFlow.WaitForNoFuzzerAsync(node.Options.DataDir, ct);
            node.EnsureRunning();
            (await api.GetCampaignCrashesAsync(campaign.Id, ct)).Should().BeEmpty("no_bug has no bug to find");
        });

    [Fact]
    public Task Api_answers_problem_details_for_unknown_ids_and_invalid_bodies() =>
        Env.RunAsync(TimeSpan.FromMinutes(2), async ct =>
        {
            // Arrange
            var plantedBug = targets.PlantedBug;
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot"), ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, plantedBug, ct);
            var unknownId = Guid.NewGuid().ToString("N");

            // Act + assert: unknown ids are 404 problem details.
            foreach (var path in new[]
                     {
                         $"api/v1/campaigns/{unknownId}",
                         $"api/v1/campaigns/{unknownId}/crashes",
                         $"api/v1/crashes/{unknownId}",
                         $"api/v1/crashes/{unknownId}/input",
                         $"api/v1/jobs/{unknownId}",
                     })
            {
                var response = await api.GetRawAsync(path, ct);
                ShouldBeProblem(response, 404, $"GET /{path}");
            }

            var stopUnknown = await api.PostJsonRawAsync($"api/v1/campaigns/{unknownId}/stop", new { }, ct);
            ShouldBeProblem(stopUnknown, 404, "POST a stop of an unknown campaign");

            // Act + assert: invalid campaign bodies are 400 problem details and create nothing.
            var zeroJobs = await api.PostJsonRawAsync("api/v1/campaigns", new CampaignRequest("zero-jobs", target.Id, Jobs: 0), ct);
            ShouldBeProblem(zeroJobs, 400, "POST a campaign with jobs = 0");

            var noTarget = await api.PostJsonRawAsync(
                "api/v1/campaigns",
                new { name = "no-target", engine = "libfuzzer", jobs = 1, durationSeconds = 120, memoryLimitMb = 2048, timeoutMs = 1000 },
                ct);
            ShouldBeProblem(noTarget, 400, "POST a campaign without targetId");

            (await api.ListCampaignsAsync(ct)).Should().BeEmpty("rejected campaign requests must not create campaigns");
        });

    private static bool HasRunOnBot(JobSummary job) =>
        (States.Is(job.State, States.Running) || States.Is(job.State, States.Completed)) && !string.IsNullOrWhiteSpace(job.BotId);

    private static void ShouldBeProblem(RawResponse response, int status, string request)
    {
        response.StatusCode.Should().Be(status, "{0} must be answered {1}; body: {2}", request, status, response.Body);
        response.MediaType.Should().Be(ProblemJson, "{0} must be answered with problem details; body: {1}", request, response.Body);
    }
}
