using FluentAssertions;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Domain.Tests.Fixtures;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Protocol.CampaignEvents;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Campaigns;

/// <summary>A campaign's source coverage: one coverage job at a time on its current build, and the latest report with the totals before it.</summary>
public sealed class CampaignCoverageTests
{
    private static readonly BlobId CoverageBinary = BlobId.Of("coverage build 1"u8);

    private static CampaignState Running() =>
        CampaignState.Created(CampaignState.Create(Campaign, CampaignSpec(2) with { TargetName = "parser", Build = 1 }, T0));

    private static CoverageTotals Totals(long lines) => new(new CoverageCount(lines, 100), new CoverageCount(3, 4), new CoverageCount(lines / 2, 80));

    private static CoverageSummary Summary(JobId job, long lines, DateTimeOffset at) =>
        new(job, 1, 1, 39, Totals(lines), 2, BlobId.Of(System.Text.Encoding.UTF8.GetBytes($"report {job} {lines}")), 5_000, at);

    private static IReadOnlyList<CoverageFile> Files(long lines) =>
        [new("/src/parser.c", Totals(lines)), new("/src/util.h", new CoverageTotals(new CoverageCount(1, 1), new CoverageCount(1, 1), new CoverageCount(1, 1)))];

    [Fact]
    public void A_coverage_job_runs_the_builds_coverage_binary_with_the_campaigns_limits_and_a_second_request_joins_it()
    {
        var state = Running();

        var decision = state.AddCoverage(1, CoverageBinary, 600, T0.AddMinutes(1));

        var added = decision.Events.Should().ContainSingle().Which.Should().BeOfType<CampaignJobAdded>().Subject;
        added.JobId.Should().Be(Job(2));
        added.Spec.Should().Be(new JobSpec(CoverageBinary, EngineNames.LibFuzzer, 600, 2048, 1000, null, JobTask.Coverage, TargetName: "parser", Build: 1));
        var measuring = CampaignSteps.Apply(state, decision);
        measuring.MeasuringCoverage.Should().Be(Job(2));
        measuring.AddCoverage(1, CoverageBinary, 600, T0.AddMinutes(2)).Should().BeEmpty("the job under way answers a second request");

        var ended = CampaignSteps.Apply(measuring, measuring.JobEnded(Job(2), JobStatus.Completed, T0.AddMinutes(3)));
        ended.MeasuringCoverage.Should().BeNull();
        ended.AddCoverage(1, CoverageBinary, 600, T0.AddMinutes(4)).Events.Should().ContainSingle().Which.Should().BeOfType<CampaignJobAdded>()
            .Which.JobId.Should().Be(Job(3));
    }

    [Fact]
    public void Coverage_is_measured_on_the_build_the_campaign_fuzzes_and_not_while_it_stops()
    {
        Running().AddCoverage(2, CoverageBinary, 600, T0).Rejection.Should().Contain("build 1");
        var stopping = CampaignSteps.Apply(Running(), Running().Stop(T0));

        stopping.AddCoverage(1, CoverageBinary, 600, T0).Rejection.Should().Contain("stopping");
    }

    [Fact]
    public void A_finished_campaign_still_measures_its_corpus()
    {
        var state = Running();
        state = CampaignSteps.Apply(state, state.JobEnded(Job(0), JobStatus.Completed, T0));
        state = CampaignSteps.Apply(state, state.JobEnded(Job(1), JobStatus.Completed, T0));
        state.Status.Should().Be(CampaignStatus.Completed);

        var measured = CampaignSteps.Apply(state, state.AddCoverage(1, CoverageBinary, 600, T0.AddMinutes(1)));
        var ended = CampaignSteps.Apply(measured, measured.JobEnded(Job(2), JobStatus.Completed, T0.AddMinutes(2)));

        ended.Status.Should().Be(CampaignStatus.Completed);
        ended.FinishedAt.Should().Be(T0, "the coverage job's end does not finish the campaign again");
    }

    [Fact]
    public void A_report_is_journaled_once_per_job_and_the_latest_keeps_its_files_and_the_totals_before_it()
    {
        var state = Running();
        state = CampaignSteps.Apply(state, state.AddCoverage(1, CoverageBinary, 600, T0));
        var first = Summary(Job(2), 40, T0.AddMinutes(1));

        var recorded = state.RecordCoverage(first, Files(40), T0.AddMinutes(2));

        recorded.Events.Should().ContainSingle().Which.Should().BeOfType<CoverageMeasured>().Which.Files.Should().HaveCount(2);
        state = CampaignSteps.Apply(state, recorded);
        state.Coverage.Should().Be(first);
        state.CoverageFiles.Should().BeEquivalentTo(Files(40));
        state.HasCoverageFrom(Job(2)).Should().BeTrue();
        state.RecordCoverage(first, Files(40), T0.AddMinutes(3)).Should().BeEmpty("the outbox may deliver the report again");

        state = CampaignSteps.Apply(state, state.JobEnded(Job(2), JobStatus.Completed, T0.AddMinutes(3)));
        state = CampaignSteps.Apply(state, state.AddCoverage(1, CoverageBinary, 600, T0.AddMinutes(4)));
        var second = Summary(Job(3), 55, T0.AddMinutes(5));
        state = CampaignSteps.Apply(state, state.RecordCoverage(second, Files(55), T0.AddMinutes(6)));

        state.Coverage.Should().Be(second);
        state.CoverageFiles![0].Coverage.Lines.Covered.Should().Be(55);
        state.CoverageHistory.Should().Equal(first, second);
    }

    [Fact]
    public void A_late_report_of_an_earlier_measurement_joins_the_history_without_replacing_the_latest()
    {
        var state = Running();
        state = CampaignSteps.Apply(state, state.AddCoverage(1, CoverageBinary, 600, T0));
        state = CampaignSteps.Apply(state, state.JobEnded(Job(2), JobStatus.Completed, T0.AddMinutes(1)));
        state = CampaignSteps.Apply(state, state.AddCoverage(1, CoverageBinary, 600, T0.AddMinutes(2)));
        var newer = Summary(Job(3), 60, T0.AddMinutes(3));
        var older = Summary(Job(2), 30, T0.AddMinutes(1));

        state = CampaignSteps.Apply(state, state.RecordCoverage(newer, Files(60), T0.AddMinutes(4)));
        state = CampaignSteps.Apply(state, state.RecordCoverage(older, Files(30), T0.AddMinutes(5)));

        state.Coverage.Should().Be(newer);
        state.CoverageFiles![0].Coverage.Lines.Covered.Should().Be(60);
        state.CoverageHistory.Should().Equal(older, newer);
    }

    [Fact]
    public void Only_a_coverage_job_reports_coverage_and_the_history_is_bounded()
    {
        var state = Running();
        state.RecordCoverage(Summary(Job(0), 10, T0), Files(10), T0).Rejection.Should().Contain("measures no coverage");

        state = CampaignSteps.Apply(state, state.AddCoverage(1, CoverageBinary, 600, T0));
        for (var i = 0; i < CampaignState.CoverageHistoryLength + 5; i++)
        {
            state = state.Apply(new CoverageMeasured(Campaign, Summary(new JobId($"{Campaign.Value}-{100 + i}"), i, T0.AddMinutes(i)), Files(i), T0.AddMinutes(i)));
        }

        state.CoverageHistory.Should().HaveCount(CampaignState.CoverageHistoryLength);
        state.CoverageHistory![0].Totals.Lines.Covered.Should().Be(5, "the oldest go first");
        state.Coverage!.Totals.Lines.Covered.Should().Be(CampaignState.CoverageHistoryLength + 4);
    }

    [Fact]
    public void A_running_campaign_is_due_a_measurement_every_interval_from_its_last_request_and_not_while_one_runs()
    {
        var every = TimeSpan.FromHours(6);
        var state = Running();

        state.CoverageDueAt(every, atEnd: true).Should().Be(T0 + every, "the first interval counts from the start");
        state.CoverageDueAt(null, atEnd: true).Should().BeNull("without an interval a running campaign measures only when asked");

        state = CampaignSteps.Apply(state, state.AddCoverage(1, CoverageBinary, 600, T0.AddHours(2)));
        state.CoverageDueAt(every, atEnd: true).Should().BeNull("a measurement is under way");
        state = CampaignSteps.Apply(state, state.JobEnded(Job(2), JobStatus.Failed, T0.AddHours(3)));
        state.CoverageDueAt(every, atEnd: true).Should().Be(T0.AddHours(2) + every, "a failed measurement is not repeated sooner");

        var stopping = CampaignSteps.Apply(state, state.Stop(T0.AddHours(4)));
        stopping.CoverageDueAt(every, atEnd: true).Should().BeNull("a stopping campaign takes no new job");

        var unnamed = CampaignState.Created(CampaignState.Create(Campaign, CampaignSpec(2), T0));
        unnamed.CoverageDueAt(every, atEnd: true).Should().BeNull("a binary of no target's build has no coverage binary");
    }

    [Fact]
    public void A_finished_campaign_is_due_one_measurement_at_its_end_even_after_a_measurement_while_it_ran()
    {
        var state = Running();
        state = CampaignSteps.Apply(state, state.AddCoverage(1, CoverageBinary, 600, T0.AddMinutes(1)));
        state = CampaignSteps.Apply(state, state.JobEnded(Job(2), JobStatus.Completed, T0.AddMinutes(2)));
        state = CampaignSteps.Apply(state, state.JobEnded(Job(0), JobStatus.Completed, T0.AddMinutes(5)));
        state = CampaignSteps.Apply(state, state.JobEnded(Job(1), JobStatus.Completed, T0.AddMinutes(6)));
        state.Status.Should().Be(CampaignStatus.Completed);

        state.CoverageDueAt(TimeSpan.FromHours(6), atEnd: true).Should().Be(T0.AddMinutes(6), "the corpus grew after the last measurement");
        state.CoverageDueAt(TimeSpan.FromHours(6), atEnd: false).Should().BeNull();

        state = CampaignSteps.Apply(state, state.AddCoverage(1, CoverageBinary, 600, T0.AddMinutes(7)));
        state = CampaignSteps.Apply(state, state.JobEnded(Job(3), JobStatus.Failed, T0.AddMinutes(8)));
        state.CoverageDueAt(TimeSpan.FromHours(6), atEnd: true).Should().BeNull("measured once after its end, even if that failed");
    }
}
