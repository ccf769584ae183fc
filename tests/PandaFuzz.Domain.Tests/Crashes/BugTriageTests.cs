using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Domain.Tests.Fixtures.CampaignSteps;
using static PandaFuzz.Domain.Tests.Fixtures.Findings;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Crashes;

/// <summary>A bug's status, tracker link and note: set by any member's id, kept whole in one event, following the bug as it grows.</summary>
public sealed class BugTriageTests
{
    private static CampaignState Count(CampaignState state, CrashFinding finding) =>
        state.ReportCrash(Job(0), BotA, finding, sampled: true, finding.FoundAt).Aggregate(state, (s, e) => s.Apply(e));

    private static readonly CampaignState TwoBugs =
        Count(Count(CampaignState.Created(CampaignState.Create(Campaign, CampaignSpec(), T0)),
            Report("Heap-buffer-overflow WRITE 4", "handle_record\nparse_packet", "target.c:57", at: T0)),
            Report("Heap-use-after-free READ 8", "free_session\nparse_packet", "target.c:90", at: T0.AddMinutes(1)));

    [Fact]
    public void A_new_bug_is_open_and_a_status_link_and_note_are_set_and_kept_field_by_field()
    {
        var bug = TwoBugs.Bugs()[0];
        bug.Status.Should().Be(BugStatus.Open);
        bug.Triage.Should().BeNull();

        var state = Apply(TwoBugs, TwoBugs.TriageBug(bug.Id, BugStatus.Wontfix, "https://bugs.example.com/7", null, T0.AddHours(1)));
        state = Apply(state, state.TriageBug(bug.Id, null, null, "only reachable from the test harness", T0.AddHours(2)));

        var triaged = state.Bugs()[0];
        triaged.Status.Should().Be(BugStatus.Wontfix);
        triaged.Triage!.ExternalUrl.Should().Be("https://bugs.example.com/7", "a field left out keeps its value");
        triaged.Triage.Note.Should().Be("only reachable from the test harness");
        triaged.Triage.UpdatedAt.Should().Be(T0.AddHours(2));
        state.Bugs()[1].Status.Should().Be(BugStatus.Open, "the other bug is untouched");

        // An empty string clears; the same values again change nothing.
        state = Apply(state, state.TriageBug(bug.Id, BugStatus.Open, "", null, T0.AddHours(3)));
        state.Bugs()[0].Triage!.ExternalUrl.Should().BeNull();
        state.TriageBug(bug.Id, BugStatus.Open, null, null, T0.AddHours(4)).Should().BeEmpty();
    }

    [Fact]
    public void The_triage_follows_the_bug_when_a_later_crash_joins_it_and_another_campaigns_bug_is_not_found()
    {
        var bug = TwoBugs.Bugs()[0];
        var state = Apply(TwoBugs, TwoBugs.TriageBug(bug.Id, BugStatus.Duplicate, null, "same as #12", T0.AddHours(1)));

        // The same overflow through another caller: a second unique crash of the same bug.
        state = Count(state, Report("Heap-buffer-overflow WRITE 2", "handle_record\nread_file", "target.c:57", at: T0.AddHours(2)));

        var grown = state.Bugs()[0];
        grown.Members.Should().HaveCount(2);
        grown.Status.Should().Be(BugStatus.Duplicate);
        // Its new member's id names the bug too.
        state.TriageBug(BugId.ForLeader(Campaign, grown.Members[1].Signature), BugStatus.Open, null, null, T0.AddHours(3))
            .Should().ContainSingle().Which.Should().BeOfType<CampaignEvents.BugTriaged>().Which.Signature.Should().Be(grown.Leader.Signature);
        state.TriageBug(BugId.ForLeader(new CampaignId("aaaaaaaaaaaa"), grown.Leader.Signature), BugStatus.Open, null, null, T0)
            .Rejection.Should().Contain("not found");
    }
}
