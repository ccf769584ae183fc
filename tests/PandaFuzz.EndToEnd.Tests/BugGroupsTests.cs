using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Bug groups from real fuzzing of <c>tests/targets/bug_farm.c</c>, eight known bugs of different kinds (heap and stack
/// overflows, a use-after-free, a null dereference, a double free, a leak, a timeout, and a crash that never reproduces
/// alone): every bug found is exactly one group, no group holds two bugs, the flaky one is flagged, and each group's
/// minimized input is the same bug.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class BugGroupsTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    /// <summary>bug_farm's bugs by the function that crashes (its header), the timeout by its kind; whether a rerun reproduces it.</summary>
    private static readonly Dictionary<string, (string Bug, bool Reproducible)> Known = new(StringComparer.Ordinal)
    {
        ["copy_into_slot"] = ("HB heap overflow", true),
        ["fill_stack_slot"] = ("SBUF stack overflow", true),
        ["read_after_release"] = ("UAF! use after free", true),
        ["read_missing_entry"] = ("ND null dereference", true),
        ["release_twice"] = ("DFRE double free", true),
        ["lose_block"] = ("LK leak", true),
        ["Timeout"] = ("TO timeout", true),
        ["crash_on_second_visit"] = ("FLKY flaky", false),
    };

    [Fact]
    public Task Each_found_bug_of_a_many_bug_target_is_one_group_the_flaky_one_flagged_each_minimized_to_itself() =>
        Env.RunAsync(TimeSpan.FromMinutes(6), async ct =>
        {
            // Arrange: one fuzzing job, so the node's other slot runs minimizations while it fuzzes.
            var node = await Env.StartReadyNodeAsync(Env.NewNodeOptions("node", "master,bot") with
            {
                Environment = new Dictionary<string, string>
                {
                    ["PANDAFUZZ__PANDAFUZZ__MASTER__CRASH_MINIMIZATION_TIME"] = "8s",
                    [NodeProcess.LibFuzzerFork] = "on",
                },
            }, ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, targets.BugFarm, ct);
            var dictionary = await File.ReadAllTextAsync(Path.Combine(RepoLayout.TargetSources, "bug_farm.dict"), ct);

            // Act: fuzz until the leak, the timeout, the flaky crash and another bug showed, or the campaign's end. Minimizations
            // run one at a time (a campaign's take one slot), 8 s each at most, so the test stays short however many it finds.
            var campaign = await FuzzingFlow.CreateCampaignAsync(
                api, new CampaignRequest("bug-farm", target.Id, Jobs: 1, DurationSeconds: 150, Dictionary: dictionary), ct);
            IReadOnlyList<BugSummary> bugs = [];
            try
            {
                bugs = await Eventually.SatisfyAsync("the leak, the timeout, the flaky crash and four bugs in all", TimeSpan.FromSeconds(150),
                    token => api.GetCampaignBugsAsync(campaign.Id, token),
                    list => list.Select(KnownBug).Distinct().Count() >= 4 && new[] { "LK leak", "TO timeout", "FLKY flaky" }.All(list.Select(KnownBug).Contains),
                    ct, node.EnsureRunning);
            }
            catch (TimeoutException)
            {
                // Fewer found in the time: what was found is still checked below, and it must be something.
                bugs = await api.GetCampaignBugsAsync(campaign.Id, ct);
            }

            // The fuzzing job goes on (a stop would cancel the minimizations): each group's minimization runs on the other
            // slot. The groups are checked as they stand once every minimization of them has ended.
            bugs = await Eventually.SatisfyAsync("every group's minimization has ended", TimeSpan.FromMinutes(3),
                token => api.GetCampaignBugsAsync(campaign.Id, token),
                list => list.Count >= bugs.Count && list.All(b => b.Minimized is not null), ct, node.EnsureRunning);
            foreach (var bug in bugs)
            {
                output.WriteLine($"{bug.Id}: {bug.Kind} {bug.AccessSizes} at {bug.Location} [{bug.State.Replace('\n', '<')}] " +
                                 $"crashes {bug.CrashCount} reports {bug.Count} reproduced {bug.Reproduced}/{bug.ReproduceAttempts} → {KnownBug(bug)}; " +
                                 $"minimized {bug.Minimized?.InputSha256 ?? bug.Minimized?.Failure}");
            }

            // Assert: every group is one known bug, all its crashes that bug, no bug in two groups; the flaky one flagged.
            bugs.Count.Should().BeGreaterThanOrEqualTo(3, "a job of minutes finds the shallow bugs");
            bugs.Should().OnlyContain(b => KnownBug(b) != null, "every group is one of bug_farm's bugs");
            foreach (var bug in bugs)
            {
                bug.Crashes.Select(c => KnownOf(c.Kind, c.State)).Should().OnlyContain(k => k == KnownBug(bug), "group {0} holds one bug", bug.Id);
                bug.Reproducible.Should().Be(Known[Key(bug.Kind, bug.State)].Reproducible, "{0} reproduces as designed", KnownBug(bug));
            }

            bugs.Select(KnownBug).Should().OnlyHaveUniqueItems("a bug is one group, however many inputs, sizes and kinds of report");

            // Each reproducible group minimized to an input the bot checked has the same signature.
            foreach (var bug in bugs.Where(b => b.Reproducible && KnownBug(b) != "TO timeout"))
            {
                bug.Minimized!.Failure.Should().BeNull("{0} minimizes to itself", KnownBug(bug));
                var input = await api.GetMinimizedCrashInputAsync(bug.LeaderCrashId, ct);
                FuzzingFlow.Sha256Hex(input).Should().Be(bug.Minimized.InputSha256);
            }

            // One minimization per bug, listed apart from the one fuzzing job.
            var detail = await api.GetCampaignAsync(campaign.Id, ct);
            var bugsNow = await api.GetCampaignBugsAsync(campaign.Id, ct);
            detail.FuzzJobs.Should().HaveCount(1);
            detail.Jobs!.Count(j => j.Task == JobTasks.MinimizeCrash).Should().BeInRange(bugs.Count, bugsNow.Count, "one minimization per bug");

            // A bug's status, link and note are set through the API and filter the list; a bad status is a 400 naming it.
            var chosen = bugsNow[0];
            var triaged = await api.TriageBugAsync(chosen.Id, new { status = "wontfix", externalUrl = "https://bugs.example.com/42", note = "known" }, ct);
            triaged.Status.Should().Be("wontfix");
            triaged.ExternalUrl.Should().Be("https://bugs.example.com/42");
            triaged.Note.Should().Be("known");
            (await api.GetCampaignBugsAsync(campaign.Id, ct, status: "wontfix")).Select(b => b.Id).Should().Equal(chosen.Id);
            var open = await api.GetCampaignBugsAsync(campaign.Id, ct, status: "open");
            open.Should().HaveCountGreaterThanOrEqualTo(bugsNow.Count - 1).And.OnlyContain(b => b.Status == "open" && b.Id != chosen.Id);
            var refused = await api.SendAsync(HttpMethod.Patch, $"api/v1/bugs/{chosen.Id}", new { status = "closed" }, ct);
            refused.Status.Should().Be(System.Net.HttpStatusCode.BadRequest);
            refused.Body.Should().Contain("\"status\"");
        });

    private static string Key(string kind, string state) =>
        kind.StartsWith("Timeout", StringComparison.Ordinal) ? "Timeout" : state.Split('\n')[0];

    private static string? KnownOf(string? kind, string? state) =>
        Known.TryGetValue(Key(kind ?? "", state ?? ""), out var known) ? known.Bug : null;

    private static string? KnownBug(BugSummary bug) => KnownOf(bug.Kind, bug.State);
}
