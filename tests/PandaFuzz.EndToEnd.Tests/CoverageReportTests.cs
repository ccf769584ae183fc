using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Source coverage over a real node: coverage_demo is built to fuzz and for coverage, a campaign fuzzes it from known
/// seeds and ends, and its coverage report counts each file's lines, functions and regions as llvm-cov does when this
/// test runs the coverage build over the same corpus itself; the report's pages are served, and only they.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class CoverageReportTests(TargetBuilder targets) : EndToEndTest
{
    private const string Target = "coverage-demo";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public Task A_finished_campaigns_coverage_matches_llvm_cov_on_its_corpus_and_its_pages_are_served() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: build 1 of the target (its fuzzing binary, then its coverage binary), known seeds, one node.
            var fuzzing = await targets.BuildVariantAsync(TargetBuilder.CoverageDemoName, "fuzz");
            var coverageBinary = await targets.BuildCoverageAsync(TargetBuilder.CoverageDemoName);
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot") with { CommandPort = FreePort.Next() }, ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            (await api.UploadBuildAsync(Target, "r1", fuzzing.ReadBytes(), ct)).Build.Should().Be(1);
            // The folder the build's sources were compiled from is its source root: the report's paths are shown relative to it.
            var uploaded = await api.PostBytesRawAsync(
                $"api/v1/targets?name={Target}&kind=coverage&build=1&sourceRoot={Uri.EscapeDataString(RepoLayout.TargetSources)}", coverageBinary.ReadBytes(), ct);
            uploaded.StatusCode.Should().Be(201, "the coverage binary joins build 1; body: {0}", uploaded.Body);
            var seeds = await api.UploadCorpusAsync("coverage-seeds", CorpusFiles.Zip(new Dictionary<string, byte[]>
            {
                ["checksum"] = "A12"u8.ToArray(),
                ["vowels"] = "Bonjour"u8.ToArray(),
                ["other"] = "xyz"u8.ToArray(),
            }), ct);

            // A short campaign from the seeds: once it completed, its corpus no longer changes.
            var created = await api.PostJsonRawAsync("api/v1/campaigns",
                new { name = "coverage", target = Target, jobs = 1, durationSeconds = 5, seedCorpusId = seeds.Id }, ct);
            created.StatusCode.Should().Be(201, created.Body);
            var campaignId = JsonDocument.Parse(created.Body).RootElement.GetProperty("id").GetString()!;
            (await api.GetRawAsync($"api/v1/campaigns/{campaignId}/coverage", ct)).StatusCode.Should().Be(404, "nothing is measured yet");
            await FuzzingFlow.WaitForCampaignAsync(api, campaignId, "it completed", c => c.Status == "completed", node.EnsureRunning, ct, TimeSpan.FromSeconds(60));

            // Act: nothing but the campaign's end: it measures the corpus it ended with by itself.
            var answered = await Eventually.SatisfyAsync(
                $"GET /api/v1/campaigns/{campaignId}/coverage answers the measurement at the campaign's end",
                TimeSpan.FromSeconds(60),
                t => MeasuredAsync(api, campaignId, null, t),
                r => r.StatusCode == 200,
                ct,
                node.EnsureRunning,
                interval: TimeSpan.FromMilliseconds(500));
            var coverage = JsonSerializer.Deserialize<CoverageInfo>(answered.Body, Json)!;
            var job = coverage.JobId;
            (await api.GetJobAsync(job, ct))!.Task.Should().Be("coverage");

            // Assert: the test's own llvm-cov over the corpus the campaign has counts the same, file by file.
            var corpus = CorpusFiles.ExtractZip(await api.DownloadCorpusArchiveAsync(campaignId, ct), Path.Combine(Env.Root, "corpus"));
            var expected = await LlvmCovAsync(coverageBinary, Path.Combine(Env.Root, "corpus"), Path.Combine(Env.Root, "profiles"), ct);
            coverage.Build.Should().Be(1);
            coverage.Inputs.Should().Be(corpus.Count, "the report measured the campaign's whole corpus");
            coverage.Totals.Should().BeEquivalentTo(expected.Totals);
            coverage.History.Should().ContainSingle();
            var files = JsonSerializer.Deserialize<List<CoverageFileInfo>>(
                (await api.GetRawAsync($"api/v1/campaigns/{campaignId}/coverage/files?sort=name&limit=1000", ct)).Body, Json)!;
            files.Select(f => Path.GetFileName(f.Path)).Should().Equal("coverage_demo.c", "coverage_demo_checks.h");
            files.Should().BeEquivalentTo(expected.Files, o => o.WithStrictOrdering());
            coverage.SourceRoot.Should().Be(RepoLayout.TargetSources);
            JsonDocument.Parse((await api.GetRawAsync($"api/v1/campaigns/{campaignId}/coverage/files?sort=name", ct)).Body).RootElement.EnumerateArray()
                .Select(f => f.GetProperty("relativePath").GetString()).Should().Equal("coverage_demo.c", "coverage_demo_checks.h");
            coverage.Files.Should().Be(files.Count);
            var ranked = JsonSerializer.Deserialize<List<CoverageFileInfo>>((await api.GetRawAsync($"api/v1/campaigns/{campaignId}/coverage/files?limit=1", ct)).Body, Json)!;
            ranked.Should().ContainSingle().Which.UncoveredLines.Should().Be(files.Max(f => f.UncoveredLines), "most uncovered lines first by default");

            // Assert: the HTML report is served as HTML under a policy that runs no script; nothing outside it is.
            using var http = new HttpClient { BaseAddress = node.Options.BaseAddress };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiClient.TestToken);
            using var index = await http.GetAsync(coverage.ReportUrl.TrimStart('/') + "index.html", ct);
            index.StatusCode.Should().Be(HttpStatusCode.OK);
            index.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
            index.Headers.GetValues("Content-Security-Policy").Single().Should().StartWith("default-src 'none'");
            index.Headers.GetValues("X-Content-Type-Options").Single().Should().Be("nosniff");
            (await index.Content.ReadAsStringAsync(ct)).Should().Contain("coverage_demo");
            using var root = await http.GetAsync(coverage.ReportUrl.TrimStart('/'), ct);
            root.StatusCode.Should().Be(HttpStatusCode.OK, "the report's folder serves its index");
            using var folder = await http.GetAsync(coverage.ReportUrl.Trim('/'), ct);
            folder.RequestMessage!.RequestUri!.AbsolutePath.Should().Be(coverage.ReportUrl, "the index is read where its relative links resolve");
            // A client and Kestrel resolve a plain ../ before routing: a climb reaches the route only with its slashes encoded.
            foreach (var climb in new[] { "..%2Fsummary.json", "coverage/..%2F..%2Fsummary.json", "summary.json", "..%2F..%2F..%2Fcoverage", "%2Fetc%2Fpasswd" })
            {
                using var outside = await http.GetAsync(coverage.ReportUrl.TrimStart('/') + climb, ct);
                outside.StatusCode.Should().Be(HttpStatusCode.NotFound, "{0} is not a file of the report", climb);
            }

            // Assert: the operator CLI prints the totals and the files with the most uncovered lines.
            var cli = await ProcessTools.RunAsync(RepoLayout.DotnetHost,
                [RepoLayout.CmdDll, $"127.0.0.1:{node.Options.CommandPort}", "campaign", "coverage", campaignId], ToolTimeout, ct,
                environment: new Dictionary<string, string> { ["PANDAFUZZ_DATA_DIR"] = node.Options.DataDir });
            cli.ExitCode.Should().Be(0, cli.StandardError);
            cli.StandardOutput.Should().Contain($"{coverage.Totals.Lines.Covered}/{coverage.Totals.Lines.Count}").And.Contain("coverage_demo_checks.h")
                .And.NotContain(Path.Combine(RepoLayout.TargetSources, "coverage_demo_checks.h"), "files are shown relative to the source root");
            var cliJson = await ProcessTools.RunAsync(RepoLayout.DotnetHost,
                [RepoLayout.CmdDll, $"127.0.0.1:{node.Options.CommandPort}", "--json", "campaign", "coverage", campaignId], ToolTimeout, ct,
                environment: new Dictionary<string, string> { ["PANDAFUZZ_DATA_DIR"] = node.Options.DataDir });
            cliJson.ExitCode.Should().Be(0, cliJson.StandardError);
            var printed = JsonDocument.Parse(cliJson.StandardOutput).RootElement;
            printed.GetProperty("jobId").GetString().Should().Be(job);
            printed.GetProperty("mostUncovered").EnumerateArray().Select(f => f.GetProperty("relativePath").GetString()).Should().BeEquivalentTo("coverage_demo.c", "coverage_demo_checks.h");

            // Act, assert: measuring again on request is a new job (the end's is over); it runs as the one above did.
            var measure = await api.PostEmptyRawAsync($"api/v1/campaigns/{campaignId}/coverage", ct);
            measure.StatusCode.Should().Be(202, measure.Body);
            JsonDocument.Parse(measure.Body).RootElement.GetProperty("jobId").GetString().Should().NotBe(job, "the measurement at the end is over");

            // Assert: an unknown campaign is a 404, a build without a coverage binary a 409.
            (await api.PostEmptyRawAsync("api/v1/campaigns/0123456789ab/coverage", ct)).StatusCode.Should().Be(404);
            await api.UploadBuildAsync("coverage-demo-bare", null, fuzzing.ReadBytes(), ct);
            var bare = await api.PostJsonRawAsync("api/v1/campaigns", new { name = "bare", target = "coverage-demo-bare", jobs = 1, durationSeconds = 1 }, ct);
            var bareId = JsonDocument.Parse(bare.Body).RootElement.GetProperty("id").GetString()!;
            var refused = await api.PostEmptyRawAsync($"api/v1/campaigns/{bareId}/coverage", ct);
            refused.StatusCode.Should().Be(409, refused.Body);
            refused.MediaType.Should().Be("application/problem+json");
        });

    /// <summary>The coverage as the API answers it; a coverage job that failed ends the wait with its reason.</summary>
    private static async Task<RawResponse> MeasuredAsync(ApiClient api, string campaignId, string? job, CancellationToken ct)
    {
        var answer = await api.GetRawAsync($"api/v1/campaigns/{campaignId}/coverage", ct);
        // Before the first report the 404 names the measurement on its way, as the report does the next one.
        job ??= JsonDocument.Parse(answer.Body).RootElement.TryGetProperty("measuringJobId", out var measuring) && measuring.ValueKind == JsonValueKind.String
            ? measuring.GetString()
            : null;
        if (job is not null && await api.GetJobAsync(job, ct) is { State: "failed" or "cancelled" } ended)
        {
            throw new InvalidOperationException($"coverage job {job} {ended.State}: {ended.FailureReason}");
        }

        return answer;
    }

    /// <summary>What a user of llvm-cov gets for the corpus: every input run once, the profiles merged, the summary exported.</summary>
    private static async Task<(CoverageTotalsInfo Totals, List<CoverageFileInfo> Files)> LlvmCovAsync(BuiltTarget binary, string corpus, string work, CancellationToken ct)
    {
        Directory.CreateDirectory(work);
        var run = await ProcessTools.RunAsync(binary.Path, ["-runs=0", corpus], ToolTimeout, ct, work,
            new Dictionary<string, string> { ["LLVM_PROFILE_FILE"] = Path.Combine(work, "%p-%m.profraw") });
        run.ExitCode.Should().Be(0, run.StandardError);
        var merged = Path.Combine(work, "merged.profdata");
        var merge = await ProcessTools.RunAsync(Tool("llvm-profdata"), ["merge", "-sparse", "-o", merged, .. Directory.GetFiles(work, "*.profraw")], ToolTimeout, ct);
        merge.ExitCode.Should().Be(0, merge.StandardError);
        var export = await ProcessTools.RunAsync(Tool("llvm-cov"), ["export", "-summary-only", "-instr-profile", merged, binary.Path], ToolTimeout, ct);
        export.ExitCode.Should().Be(0, export.StandardError);

        var data = JsonDocument.Parse(export.StandardOutput).RootElement.GetProperty("data")[0];
        var files = data.GetProperty("files").EnumerateArray()
            .Select(f => Totals(f.GetProperty("summary")) is var t ? new CoverageFileInfo(f.GetProperty("filename").GetString()!, t.Lines, t.Functions, t.Regions, t.Lines.Count - t.Lines.Covered) : null!)
            .OrderBy(f => f.Path, StringComparer.Ordinal)
            .ToList();
        return (Totals(data.GetProperty("totals")), files);
    }

    private static CoverageTotalsInfo Totals(JsonElement summary) => new(Count(summary, "lines"), Count(summary, "functions"), Count(summary, "regions"));

    private static CoverageCount Count(JsonElement summary, string name)
    {
        var count = summary.GetProperty(name).GetProperty("count").GetInt64();
        var covered = summary.GetProperty(name).GetProperty("covered").GetInt64();
        return new CoverageCount(covered, count, count == 0 ? 0 : Math.Round(100.0 * covered / count, 2));
    }

    private static string Tool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{name} is not on PATH: install LLVM's tools (ops/test.sh installs the Debian package llvm)");

    private sealed record CoverageCount(long Covered, long Count, double Percent);

    private sealed record CoverageTotalsInfo(CoverageCount Lines, CoverageCount Functions, CoverageCount Regions);

    private sealed record CoverageInfo(string CampaignId, string JobId, int? Build, int CorpusVersion, int Inputs, CoverageTotalsInfo Totals, int Files, string ReportUrl,
        IReadOnlyList<JsonElement> History, string? SourceRoot);

    private sealed record CoverageFileInfo(string Path, CoverageCount Lines, CoverageCount Functions, CoverageCount Regions, long UncoveredLines);
}
