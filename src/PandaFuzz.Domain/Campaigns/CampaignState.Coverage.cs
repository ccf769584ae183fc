using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CampaignEvents;

namespace PandaFuzz.Domain.Campaigns;

/// <summary>A campaign's source coverage: one measuring job at a time, on the build it fuzzes, and the reports it keeps.</summary>
public sealed partial record CampaignState
{
    /// <summary>The coverage job that has not ended, if any: a second request joins it rather than adding another.</summary>
    public JobId? MeasuringCoverage =>
        JobIds.LastOrDefault(j => AddedJobs?.GetValueOrDefault(j.Value) is { Task: JobTask.Coverage } && !EndedJobs.ContainsKey(j.Value));

    /// <summary>
    /// When the campaign next measures its coverage by itself, if it does: a running campaign every
    /// <paramref name="interval"/> after its last measurement was asked for (or after its start); a finished one once
    /// after its end (<paramref name="atEnd"/>), on the corpus it ended with. Never while a measurement is under way, while
    /// it stops, or for a campaign of no named target's build (its coverage binary belongs to the build). A failed
    /// measurement is not repeated sooner: the time it was asked for counts.
    /// </summary>
    public DateTimeOffset? CoverageDueAt(TimeSpan? interval, bool atEnd)
    {
        if (MeasuringCoverage is not null || CurrentSpec is not { TargetName: not null, Build: not null })
        {
            return null;
        }

        return Status switch
        {
            CampaignStatus.Running when interval is { } every => (CoverageRequestedAt ?? CreatedAt) + every,
            CampaignStatus.Completed or CampaignStatus.Stopped when atEnd && !(CoverageRequestedAt >= FinishedAt) => FinishedAt,
            _ => null,
        };
    }

    public bool HasCoverageFrom(JobId job) => Coverage?.JobId == job || CoverageHistory?.Any(c => c.JobId == job) == true;

    /// <summary>
    /// A job that runs the campaign's corpus once through <paramref name="binary"/>, the coverage build of
    /// <paramref name="build"/>, which must be the build the campaign fuzzes now; on a libFuzzer bot (the coverage build
    /// links libFuzzer's driver), with the campaign's memory limit and timeout. None while one has not ended (see
    /// <see cref="MeasuringCoverage"/>); a finished campaign still measures its corpus, a stopping one does not.
    /// </summary>
    public Decision AddCoverage(int build, BlobId binary, int timeLimitSeconds, DateTimeOffset now)
    {
        if (Status == CampaignStatus.Stopping)
        {
            return Decision.Reject($"campaign {Id} is stopping");
        }

        if (CurrentSpec.Build != build)
        {
            return Decision.Reject($"campaign {Id} fuzzes build {CurrentSpec.Build?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}, not build {build}");
        }

        if (MeasuringCoverage is not null)
        {
            return [];
        }

        var spec = new JobSpec(binary, EngineNames.LibFuzzer, timeLimitSeconds, Spec.MemoryLimitMb, Spec.TimeoutMs, null, JobTask.Coverage,
            TargetName: CurrentSpec.TargetName, Build: build);
        return Decision.Accept(new CampaignJobAdded(Id, JobId.For(Id, JobIds.Count), spec, now));
    }

    /// <summary>A coverage job's report, journaled once per job (the outbox may deliver it again).</summary>
    public Decision RecordCoverage(CoverageSummary summary, IReadOnlyList<CoverageFile> files, DateTimeOffset now)
    {
        if (AddedJobs?.GetValueOrDefault(summary.JobId.Value) is not { Task: JobTask.Coverage })
        {
            return Decision.Reject($"job {summary.JobId} of campaign {Id} measures no coverage");
        }

        return HasCoverageFrom(summary.JobId) ? [] : [new CoverageMeasured(Id, summary, files, now)];
    }

    /// <summary>The measurement taken last is the campaign's coverage, whichever report arrived last.</summary>
    private CampaignState WithCoverage(CoverageMeasured m)
    {
        var latest = Coverage is null || m.Summary.MeasuredAt >= Coverage.MeasuredAt;
        return this with
        {
            Coverage = latest ? m.Summary : Coverage,
            CoverageFiles = latest ? [.. m.Files] : CoverageFiles,
            CoverageHistory = [.. (CoverageHistory ?? []).Append(m.Summary).OrderBy(s => s.MeasuredAt).TakeLast(CoverageHistoryLength)],
        };
    }
}
