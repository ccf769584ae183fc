using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Domain.Tests.Fixtures.Findings;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Crashes;

/// <summary>
/// Bug groups from hand-written crash records, counted through the campaign's state as the master counts them: one bug
/// stays one bug whatever its access sizes and callers, and different bugs stay apart.
/// </summary>
public sealed class BugGroupingTests
{
    private static CampaignState Counted(params CrashFinding[] findings) =>
        findings.Aggregate(CampaignState.Created(CampaignState.Create(Campaign, CampaignSpec(), T0)),
            (state, finding) => state.ReportCrash(Job(0), BotA, finding, sampled: true, finding.FoundAt).Aggregate(state, (s, e) => s.Apply(e)));

    [Fact]
    public void The_same_overflow_with_many_access_sizes_is_one_crash_and_one_bug()
    {
        var state = Counted([.. new[] { 2, 3, 4, 9, 16 }.Select(size => Report($"Heap-buffer-overflow WRITE {size}", "handle_record\nparse_packet", "target.c:57"))
            .Append(Report("Heap-buffer-overflow WRITE {*}", "handle_record\nparse_packet", "target.c:57"))]);

        var crash = state.UniqueCrashes.Should().ContainSingle().Subject;
        crash.Count.Should().Be(6);
        crash.AccessSizeRange.Should().Be("2–16, {*}");
        crash.Kind.Should().Be("Heap-buffer-overflow WRITE 2", "the kind names the first report's size");
        state.Bugs().Should().ContainSingle().Which.Count.Should().Be(6);
    }

    [Fact]
    public void The_same_bug_through_two_call_paths_below_the_crashing_frame_is_one_bug()
    {
        var state = Counted(
            Report("Heap-buffer-overflow WRITE 1", "write_past_end\nvia_path_one\nLLVMFuzzerTestOneInput", "zoo.c:40"),
            Report("Heap-buffer-overflow WRITE 1", "write_past_end\nvia_path_two\nLLVMFuzzerTestOneInput", "zoo.c:40", at: T0.AddMinutes(1)));

        state.UniqueCrashes.Should().HaveCount(2, "two crash states, as ClusterFuzz keeps them");
        var bug = state.Bugs().Should().ContainSingle().Subject;
        bug.Members.Should().HaveCount(2);
        bug.Leader.State.Should().Contain("via_path_one", "the first seen leads");
        bug.Id.Should().Be(BugId.ForLeader(Campaign, bug.Leader.Signature));
    }

    [Fact]
    public void Two_bugs_in_one_function_on_different_lines_stay_apart()
    {
        var state = Counted(
            Report("Heap-buffer-overflow WRITE 4", "parse_chunk\nLLVMFuzzerTestOneInput", "png.c:120"),
            Report("Heap-use-after-free READ 1", "parse_chunk\nLLVMFuzzerTestOneInput", "png.c:131"),
            Report("Heap-buffer-overflow READ 2", "parse_chunk\nLLVMFuzzerTestOneInput", "png.c:140"));

        state.Bugs().Should().HaveCount(3);
    }

    [Fact]
    public void Security_bugs_at_one_line_group_whatever_their_types_as_in_clusterfuzz()
    {
        // A memcpy that reads past its source on one input and writes past its destination on the next: one line, one bug.
        var state = Counted(
            Report("Heap-buffer-overflow WRITE 8", "copy_field\nparse", "msg.c:33"),
            Report("Heap-buffer-overflow READ 8", "copy_field\nparse", "msg.c:33"));

        state.UniqueCrashes.Should().HaveCount(2, "the access direction is part of a crash's identity");
        state.Bugs().Should().ContainSingle();
    }

    [Fact]
    public void A_security_and_a_functional_crash_with_one_state_stay_apart()
    {
        var state = Counted(
            Report("Heap-buffer-overflow READ 1", "lookup\nLLVMFuzzerTestOneInput", "table.c:9"),
            Report("Null-dereference READ", "lookup\nLLVMFuzzerTestOneInput", "table.c:9", security: false));

        state.Bugs().Should().HaveCount(2);
    }

    [Fact]
    public void Functional_crashes_of_different_types_stay_apart()
    {
        var state = Counted(
            Report("Timeout", "target", null, security: false),
            Report("Out-of-memory", "target", null, security: false),
            Report("Timeout", "target", null, security: false, at: T0.AddMinutes(5)));

        state.Bugs().Should().HaveCount(2);
        state.Bugs().Single(b => b.Leader.Kind == "Timeout").Count.Should().Be(2);
    }

    [Fact]
    public void A_flaky_crash_is_kept_flagged_and_never_grouped_with_a_reproducible_one()
    {
        var state = Counted(
            Report("Null-dereference WRITE", "sometimes_write_null\nLLVMFuzzerTestOneInput", "flaky.c:30", security: false, reproduced: 0),
            Report("Null-dereference WRITE", "sometimes_write_null\nfrom_elsewhere", "flaky.c:30", security: false, reproduced: 3));

        var bugs = state.Bugs();
        bugs.Should().HaveCount(2);
        var flaky = bugs.Single(b => !b.IsReproducible);
        flaky.ReproducibleRate.Should().Be(0);
        flaky.ReproduceAttempts.Should().Be(3);
        bugs.Single(b => b.IsReproducible).ReproducibleRate.Should().Be(1);
    }

    [Fact]
    public void Crashes_with_no_symbolized_state_are_bugs_of_their_own()
    {
        var state = Counted(Report("Deadly signal", "", null, security: false), Report("UNKNOWN READ", "", null));

        state.Bugs().Should().HaveCount(2);
    }

    [Fact]
    public void A_group_keeps_its_id_as_crashes_join_it_and_any_member_finds_it()
    {
        var first = Report("Stack-buffer-overflow WRITE 1", "fill\ndecode", "img.c:77");
        var state = Counted(first);
        var id = state.Bugs().Single().Id;

        var later = Report("Stack-buffer-overflow WRITE 1", "fill\nother_caller", "img.c:77", at: T0.AddHours(1));
        state = state.ReportCrash(Job(1), BotB, later, true, later.FoundAt).Aggregate(state, (s, e) => s.Apply(e));

        var bug = state.Bugs().Should().ContainSingle().Subject;
        bug.Id.Should().Be(id);
        bug.Members.Select(m => m.Signature).Should().Equal(first.Signature, later.Signature);
        bug.Jobs.Should().Equal(Job(0), Job(1));
        bug.LastSeen.Should().Be(T0.AddHours(1));
    }

    [Fact]
    public void The_location_of_a_crash_recorded_before_locations_were_is_read_from_its_stack()
    {
        var old = Report("Heap-buffer-overflow WRITE 3", "handle_record\nparse_packet", "target.c:57") with { Location = null };
        var crash = Counted(old).UniqueCrashes.Single();

        crash.Location.Should().BeNull();
        BugGrouping.LocationOf(crash).Should().Be("target.c:57");
    }

    [Fact]
    public void Grouping_is_a_pure_function_of_the_crashes()
    {
        var state = Counted(
            Report("Heap-buffer-overflow WRITE 4", "a\nb", "x.c:1"),
            Report("Heap-buffer-overflow WRITE 4", "a\nc", "x.c:1", at: T0.AddSeconds(1)),
            Report("Heap-use-after-free READ 4", "d\nb", "x.c:9", at: T0.AddSeconds(2)));

        var once = BugGrouping.Group(Campaign, state.Crashes.Values);
        var again = BugGrouping.Group(Campaign, state.Crashes.Values.Reverse());

        again.Select(b => (b.Id, string.Join(",", b.Members.Select(m => m.Signature))))
            .Should().Equal(once.Select(b => (b.Id, string.Join(",", b.Members.Select(m => m.Signature)))));
        once.Should().HaveCount(2);
    }
}
