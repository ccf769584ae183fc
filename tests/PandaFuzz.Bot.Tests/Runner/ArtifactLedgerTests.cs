using FluentAssertions;
using PandaFuzz.Bot.Runner;
using Xunit;

namespace PandaFuzz.Bot.Tests.Runner;

/// <summary>A job's artifacts from discovery to the outbox keeping their reports, without files or actors.</summary>
public sealed class ArtifactLedgerTests
{
    private const string Crash = "/jobs/j-0/artifacts/crash-0123";

    [Fact]
    public void A_new_artifact_is_a_finding_of_this_run_to_triage()
    {
        var ledger = new ArtifactLedger();

        ledger.Sight(Crash, onDisk: true, writtenDuringThisRun: true).Should().Be((ArtifactSighting.New, true));
    }

    [Fact]
    public void An_artifact_seen_again_while_its_report_is_on_its_way_is_pending_and_counts_for_the_run_only_when_written_again()
    {
        var ledger = new ArtifactLedger();
        ledger.Sight(Crash, true, true);

        ledger.Sight(Crash, onDisk: true, writtenDuringThisRun: true).Should().Be((ArtifactSighting.Pending, true), "a later run found the same input");
        ledger.Sight(Crash, onDisk: true, writtenDuringThisRun: false).Should().Be((ArtifactSighting.Pending, false), "an earlier run's file, rescanned");
    }

    [Fact]
    public void Once_its_report_is_kept_the_file_may_go_and_a_sighting_without_the_file_is_already_kept()
    {
        var ledger = new ArtifactLedger();
        ledger.Sight(Crash, true, true);
        ledger.Reported("report-key", Crash);

        ledger.Kept("report-key").Should().Be(Crash);
        ledger.Kept("report-key").Should().BeNull("a key is kept once");

        ledger.Sight(Crash, onDisk: false, writtenDuringThisRun: false).Should().Be((ArtifactSighting.AlreadyKept, false));
        ledger.Sight(Crash, onDisk: true, writtenDuringThisRun: true).Should().Be((ArtifactSighting.New, true), "written anew after its file went: a new finding");
    }

    [Fact]
    public void A_kept_report_that_was_no_artifact_s_frees_nothing()
    {
        new ArtifactLedger().Kept("job-finished-key").Should().BeNull();
    }
}
