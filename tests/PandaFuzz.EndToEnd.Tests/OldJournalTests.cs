using System.Text.Json;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// A master started on the data folder of the release before crash identity stopped counting the access size
/// (<c>Fixtures/old-journal</c>: one campaign whose single planted bug that release listed as 8 unique crashes,
/// <c>WRITE 2</c> … <c>WRITE {*}</c>): after start-up the campaign has one unique crash in one bug, every old crash id
/// answers with the crash it became part of, and the read model, migrated, lists that one crash with every report.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class OldJournalTests(ITestOutputHelper output) : EndToEndTest
{
    private const string Campaign = "14e8355c3af7";

    private static string Fixture => Path.Combine(RepoLayout.Root, "tests", "PandaFuzz.EndToEnd.Tests", "Fixtures", "old-journal");

    [Fact]
    public Task Size_split_crashes_of_the_previous_release_are_one_bug_and_their_old_ids_still_answer() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: the fixture's journal, read model and crash inputs as a master's data dir.
            var options = Env.NewNodeOptions("master", "master");
            Copy(Fixture, options.DataDir);
            using var before = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Fixture, "crashes.json"), ct));
            var oldCrashes = before.RootElement.EnumerateArray()
                .Select(c => (Id: c.GetProperty("id").GetString()!, Kind: c.GetProperty("kind").GetString()!, Count: c.GetProperty("count").GetInt64()))
                .ToList();
            oldCrashes.Should().HaveCount(8, "the fixture holds the bug split by access size");

            // Act
            await Env.StartReadyNodeAsync(options, ct);
            using var api = new ApiClient(options.BaseAddress);

            // Assert: one unique crash, every report counted into it, every size it was seen with.
            var crash = (await api.GetCampaignCrashesAsync(Campaign, ct)).Should().ContainSingle().Subject;
            output.WriteLine($"{crash.Id}: {crash.Kind} sizes {crash.AccessSizes}, {crash.Count} reports, bug {crash.BugId}");
            crash.Count.Should().Be(oldCrashes.Sum(c => c.Count));
            crash.AccessSizes.Should().Be("2–15, {*}");
            crash.Kind.Should().StartWith("Heap-buffer-overflow WRITE");

            var bug = (await api.GetCampaignBugsAsync(Campaign, ct)).Should().ContainSingle().Subject;
            bug.Id.Should().Be(crash.BugId);
            bug.Kind.Should().Be("Heap-buffer-overflow WRITE");
            bug.Location.Should().Be("target.c:57", "the old reports' stacks say where the overflow is");
            bug.Count.Should().Be(crash.Count);
            bug.Minimized?.InputSha256.Should().NotBeNull("the minimizations that succeeded stand for the merged crash");

            foreach (var (id, kind, _) in oldCrashes)
            {
                var found = await api.GetCrashAsync(id, ct);
                found.Id.Should().Be(crash.Id, $"the old id of the {kind} crash answers with the crash it became part of");
                found.BugId.Should().Be(bug.Id);
            }

            // The read model was rebuilt by its migration: its list of every campaign's crashes shows the one crash too.
            var listed = await Eventually.SatisfyAsync("the read model lists the campaign's one crash with every report", TimeSpan.FromSeconds(30),
                async token => JsonDocument.Parse((await api.GetRawAsync($"api/v1/crashes?campaign={Campaign}", token)).Body).RootElement.Clone(),
                rows => rows.ValueKind == JsonValueKind.Array && rows.GetArrayLength() == 1 && rows[0].GetProperty("count").GetInt64() == crash.Count, ct);
            listed[0].GetProperty("id").GetString().Should().Be(crash.Id);
            listed[0].GetProperty("bugId").GetString().Should().Be(bug.Id, "the read model groups crashes as the campaign does");
            listed[0].GetProperty("location").GetString().Should().Be("target.c:57");
        });

    private static void Copy(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
