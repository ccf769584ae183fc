using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// A build bundle on a real node (issue 28): the tests' project (a shared library with a planted overflow, two fuzz targets
/// linked against it with rpath $ORIGIN/lib, an .options file, a seed corpus zip and a dict) uploads as one build; a
/// campaign on each fuzz target finds the bug in the library, the seeds are in the first one's corpus before it fuzzes,
/// and its jobs' command lines carry the .options file's flags.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class BundleCampaignTests : EndToEndTest
{
    [Fact]
    public Task Campaigns_on_each_fuzz_target_of_a_bundle_find_the_librarys_bug_with_the_bundles_options_and_seeds() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: the bundle, a node with a slot for each campaign.
            var project = await BundleProject.BuildAsync(Path.Combine(Env.Root, "bundle"), ct);
            var bundle = await File.ReadAllBytesAsync(project.Zip(Path.Combine(Env.Root, "bundle.zip")), ct);
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot") with
            {
                // Pinned as shipped: each of the two jobs on a core of its own.
                Environment = new Dictionary<string, string> { ["PANDAFUZZ__PANDAFUZZ__BOT__SLOTS"] = "2", [NodeProcess.CpuPinning] = "on" },
            }, ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var uploaded = await api.PostBytesRawAsync("api/v1/targets?name=bundle-demo", bundle, ct);
            uploaded.StatusCode.Should().Be(201, uploaded.Body);

            // Assert: a bundle of two targets needs one named, and only one it holds.
            var unnamed = await api.PostJsonRawAsync("api/v1/campaigns", new { name = "unnamed", target = "bundle-demo", jobs = 1, durationSeconds = 60 }, ct);
            unnamed.StatusCode.Should().Be(400);
            unnamed.Body.Should().Contain("fuzzTarget").And.Contain("fuzz_parse").And.Contain("fuzz_check");
            var unknown = await api.PostJsonRawAsync("api/v1/campaigns", new { name = "unknown", target = "bundle-demo", fuzzTarget = "fuzz_nope", jobs = 1, durationSeconds = 60 }, ct);
            unknown.StatusCode.Should().Be(400);
            unknown.Body.Should().Contain("fuzz_nope");

            // Act: a campaign on each fuzz target.
            var parse = await CreateAsync(api, "fuzz_parse", ct);
            var check = await CreateAsync(api, "fuzz_check", ct);

            // Assert: an AFL++ campaign may name the bundle's dictionaries for extra -x (both slots are busy: it waits, and is
            // stopped before it runs).
            var afl = await api.PostJsonRawAsync("api/v1/campaigns", new
            {
                name = "afl-dicts", target = "bundle-demo", fuzzTarget = "fuzz_parse", engine = "aflplusplus", jobs = 1, durationSeconds = 60,
                engineOptions = new { aflplusplus = new { x = "fuzz_parse.dict" } },
            }, ct);
            afl.StatusCode.Should().Be(201, afl.Body);
            var aflCampaign = JsonDocument.Parse(afl.Body).RootElement;
            aflCampaign.GetProperty("engineOptions").GetProperty("aflplusplus").GetProperty("x").GetString().Should().Be("fuzz_parse.dict");
            await api.StopCampaignAsync(aflCampaign.GetProperty("id").GetString()!, ct);

            // Assert: fuzz_parse's seeds were in its corpus when it was created, and its dictionary and limits are the bundle's.
            var seeded = (await api.GetCorpusAsync(parse.GetProperty("id").GetString()!, ct));
            seeded.Count.Should().BeGreaterThanOrEqualTo(BundleProject.Seeds.Count);
            seeded.Versions[0].Count.Should().Be(BundleProject.Seeds.Count, "the seed corpus zip is the corpus's first version");
            parse.GetProperty("fuzzTarget").GetString().Should().Be("fuzz_parse");
            parse.GetProperty("dictionary").GetString().Should().Be(BundleProject.Dictionary);
            parse.GetProperty("timeoutMs").GetInt32().Should().Be(25_000, "the .options file's timeout = 25");
            parse.GetProperty("engineOptions").GetProperty("libfuzzer").GetProperty("max_len").GetString().Should().Be("64");

            // Assert: each finds the library's planted overflow.
            foreach (var campaign in new[] { parse, check })
            {
                var id = campaign.GetProperty("id").GetString()!;
                var crashes = await FuzzingFlow.WaitForCrashesAsync(api, id, node.EnsureRunning, ct);
                var detail = await api.GetCrashAsync(crashes[0].Id, ct);
                detail.Kind.Should().Contain("Heap-buffer-overflow", "libbundle.so's bundle_parse writes past 8 bytes; output:\n{0}", detail.Output);
                string.Join('\n', detail.Stack!).Should().Contain("bundle_parse");
            }

            // Assert: each job ran on a core of its own (another test's node may hold one: then a job says it ran unpinned).
            var log = node.Log();
            var starts = new[] { parse, check }.Select(c => c.GetProperty("id").GetString()!)
                .Select(id => Regex.Match(log, $@"starts job {id}-0 of campaign {id} (on core \d+|unpinned: every core is taken)").Groups[1].Value)
                .ToList();
            starts.Should().NotContain(string.Empty, "both campaigns' fuzzing jobs started, at once");
            starts.Where(s => s.StartsWith("on core", StringComparison.Ordinal)).Should().OnlyHaveUniqueItems();

            // Assert: fuzz_parse's job ran with the .options file's flags.
            var job = (await api.GetCampaignAsync(parse.GetProperty("id").GetString()!, ct)).FuzzJobs![0];
            // (The command line comes with the job's stats, every 2 s: the seeds may have crashed before the first.)
            var line = await Eventually.SatisfyAsync("the job's command line is known", TimeSpan.FromSeconds(30),
                async c => JsonDocument.Parse((await api.GetRawAsync($"api/v1/jobs/{job.Id}", c)).Body).RootElement.GetProperty("commandLine").GetString(),
                l => l is not null, ct, node.EnsureRunning);
            line.Should().Contain(" -max_len=64 ").And.Contain("detect_stack_use_after_return=1").And.Contain(" -timeout=25 ");

            // Assert: the library was loaded from the unpacked bundle, which the target sees read-only, not from a copy in
            // its writable work dir.
            line.Should().MatchRegex(@"LD_LIBRARY_PATH=\S*/bot/bundles/[0-9a-f]{64}/lib\b");
            var jobDirs = Path.Combine(node.Options.DataDir, "bot", "jobs");
            Directory.EnumerateFiles(jobDirs, "target", SearchOption.AllDirectories).Should().NotBeEmpty("the running jobs' dirs are there");
            Directory.EnumerateFiles(jobDirs, "libbundle.so", SearchOption.AllDirectories).Should().BeEmpty();

            // Assert: a campaign on a bundle's fuzz target does not move to a build that is a plain binary.
            (await api.PostBytesRawAsync("api/v1/targets?name=bundle-demo", await File.ReadAllBytesAsync(Path.Combine(project.Dir, "fuzz_check"), ct), ct))
                .StatusCode.Should().Be(201);
            var rebase = await api.PostEmptyRawAsync($"api/v1/campaigns/{parse.GetProperty("id").GetString()}/rebase", ct);
            rebase.StatusCode.Should().Be(409, rebase.Body);
            rebase.Body.Should().Contain("holds no fuzz target at 'fuzz_parse'");

            foreach (var campaign in new[] { parse, check })
            {
                await api.StopCampaignAsync(campaign.GetProperty("id").GetString()!, ct);
            }
        });

    private static async Task<JsonElement> CreateAsync(ApiClient api, string fuzzTarget, CancellationToken ct)
    {
        var created = await api.PostJsonRawAsync("api/v1/campaigns",
            new { name = fuzzTarget, target = "bundle-demo", fuzzTarget, engine = "libfuzzer", jobs = 1, durationSeconds = 120 }, ct);
        created.StatusCode.Should().Be(201, created.Body);
        return JsonDocument.Parse(created.Body).RootElement;
    }
}
