using Akka.Actor;
using Akka.Event;
using PandaFuzz.Domain.Coverage;
using PandaFuzz.Infrastructure.Actors;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CampaignCommands;
using static PandaFuzz.Protocol.CampaignQueries;

namespace PandaFuzz.Master.Campaigns;

/// <summary>A campaign's source coverage reports: the part of the entity that measures, fetches and answers them.</summary>
public sealed partial class CampaignEntity
{
    /// <summary>How long a target entity has to name a build's coverage binary before the check is left to the next one.</summary>
    private static readonly TimeSpan CoverageLookupTimeout = TimeSpan.FromSeconds(10);

    private readonly HashSet<JobId> _readingCoverage = [];
    private bool _lookingUpCoverageBinary;

    /// <summary>Coverage: one measuring job at a time, its report fetched from the bot and journaled once, and the queries on it.</summary>
    private void ReceiveCoverageCommands()
    {
        Command<MeasureCoverage>(measure => WhenExists(state =>
        {
            var decision = state.AddCoverage(measure.Build, measure.CoverageBinary, measure.TimeLimitSeconds, Now);
            Decide(decision, Apply, sender =>
            {
                if (decision.Events.FirstOrDefault() is CampaignEvents.CampaignJobAdded added)
                {
                    Log.Info("Campaign {CampaignId} measures its coverage on build {Build} in job {JobId}", added.CampaignId, measure.Build, added.JobId);
                    _unconfirmedJobs.Add(added.JobId);
                    RetryUnconfirmedJobs();
                }

                sender.Tell(new JobAdded(state.Id, _state!.MeasuringCoverage!));
            });
        }));
        Command<CheckCoverage>(check => WhenExists(state => Sender.Tell(new CoverageChecked(state.Id, MeasureCoverageIfDue(state)))));
        Command<CoverageBinaryLookedUp>(found =>
        {
            _lookingUpCoverageBinary = false;
            if (found.Binary is { } binary)
            {
                // As if asked through the API: the command decides on the state it finds then.
                Self.Tell(new MeasureCoverage(_state!.Id, found.Build, binary, (int)_settings.Coverage.TimeLimit.TotalSeconds), ActorRefs.Nobody);
            }
            else if (found.Failure is { } failure)
            {
                Log.Warning("Campaign {CampaignId} is due a coverage measurement, but its target did not name build {Build}'s binaries: {Reason}",
                    _state!.Id, found.Build, failure);
            }
        });
        Command<ReportCoverage>(ReceiveCoverage);
        Command<CoverageReportRead>(RecordCoverage);
        Command<CoverageReportFailed>(failed =>
        {
            _readingCoverage.Remove(failed.Report.JobId);
            Log.Warning("Coverage report {BlobId} of job {JobId} in campaign {CampaignId} could not be read from {Source}: {Reason}",
                failed.Report.Report, failed.Report.JobId, failed.Report.CampaignId, failed.Report.BlobSourcePath, failed.Reason);
            if (failed.Unreadable)
            {
                // Sending it again would change nothing: the outbox drops it, the job's end says the rest.
                failed.ReplyTo.Tell(new CommandRejected($"the coverage report of job {failed.Report.JobId} cannot be read: {failed.Reason}", RejectionKind.Invalid));
            }
        });
        Command<GetCoverage>(_ => WhenExists(state =>
            Sender.Tell(new CoverageView(state.Id, state.Coverage, state.CoverageHistory ?? [], state.MeasuringCoverage))));
        Command<GetCoverageFiles>(q => WhenExists(state => Sender.Tell(state.Coverage is null
            ? new CommandRejected($"campaign {state.Id} has no coverage report yet", RejectionKind.NotFound)
            : new CoverageFiles(state.Id, [.. CoverageRanking.Order(state.CoverageFiles ?? [], q.Order).Skip(q.Offset).Take(q.Limit)], state.CoverageFiles?.Count ?? 0))));
    }

    /// <summary>
    /// Starts a measurement if one is due (<see cref="Domain.Campaigns.CampaignState.CoverageDueAt"/>) and the build has a
    /// coverage binary, which its target entity knows (it may be uploaded after the campaign started). Returns when to
    /// check again: a build without a coverage binary is asked about once per interval, not at every check.
    /// </summary>
    private DateTimeOffset? MeasureCoverageIfDue(Domain.Campaigns.CampaignState state)
    {
        var settings = _settings.Coverage;
        if (state.CoverageDueAt(settings.Interval, settings.AtEnd) is not { } due)
        {
            return null;
        }

        if (due > Now)
        {
            return due;
        }

        if (!_lookingUpCoverageBinary && TargetEntities is { } targets)
        {
            _lookingUpCoverageBinary = true;
            var build = state.CurrentSpec.Build!.Value;
            targets.Ask(new TargetQueries.GetTargetBuilds(state.CurrentSpec.TargetName!), CoverageLookupTimeout).PipeTo(Self,
                success: reply => new CoverageBinaryLookedUp(build, (reply as TargetQueries.TargetBuilds)?.Find(build)?.BinaryOf(TargetBinaryKinds.Coverage)?.Binary, null),
                failure: e => new CoverageBinaryLookedUp(build, null, e.GetBaseException().Message));
        }

        return state.IsFinished ? null : Now + settings.Interval;
    }

    private IActorRef? TargetEntities => _registry.TryGet<TargetRegion>(out var targets) ? targets : null;

    /// <summary>Checks after the message at hand: the state it leaves is the one to decide on.</summary>
    private void CheckCoverageAfterwards()
    {
        if (_state is not null)
        {
            Self.Tell(new CheckCoverage(_state.Id), ActorRefs.Nobody);
        }
    }

    private void ReceiveCoverage(ReportCoverage report)
    {
        if (_state is null)
        {
            Sender.Tell(new CommandRejected($"campaign {report.CampaignId} not found", RejectionKind.NotFound));
            return;
        }

        if (_state.HasCoverageFrom(report.JobId))
        {
            Sender.Tell(Ack.Instance);
            return;
        }

        if (_state.AddedJobs?.GetValueOrDefault(report.JobId.Value) is not { Task: JobTask.Coverage } spec)
        {
            Sender.Tell(new CommandRejected($"job {report.JobId} of campaign {report.CampaignId} measures no coverage", RejectionKind.Invalid));
            return;
        }

        if (report.ReportSize is <= 0 or > CoverageArchive.MaxBytes)
        {
            Sender.Tell(new CommandRejected($"a coverage report of {report.ReportSize} bytes is over the limit of {CoverageArchive.MaxBytes}", RejectionKind.Invalid));
            return;
        }

        if (!_readingCoverage.Add(report.JobId))
        {
            return; // On its way; the bot repeats until acknowledged.
        }

        var replyTo = Sender;
        var source = Context.ActorSelection(report.BlobSourcePath);
        ReadCoverageAsync(report, spec, source, replyTo).PipeTo(Self, failure: e => new CoverageReportFailed(
            report, replyTo, e.GetBaseException().Message, Unreadable: e.GetBaseException() is InvalidDataException));
    }

    // The zip is the master's own once fetched (its sha256 checked): its summary is read from the store, bounded.
    private async Task<CoverageReportRead> ReadCoverageAsync(ReportCoverage report, JobSpec spec, ActorSelection source, IActorRef replyTo)
    {
        await BlobFetcher.FetchAsync(source, report.Report, _blobs, _settings.BlobChunkTimeout);
        await using var zip = _blobs.OpenRead(report.Report);
        var (totals, files) = CoverageArchive.ReadSummary(zip);
        var summary = new CoverageSummary(report.JobId, spec.Build, report.CorpusVersion, report.Inputs, totals, files.Count, report.Report, report.ReportSize, report.MeasuredAt);
        return new CoverageReportRead(summary, files, replyTo);
    }

    private void RecordCoverage(CoverageReportRead read)
    {
        _readingCoverage.Remove(read.Summary.JobId);
        var decision = _state!.RecordCoverage(read.Summary, read.Files, Now);
        if (decision.Rejected)
        {
            read.ReplyTo.Tell(new CommandRejected(decision.Rejection!, RejectionKind.Invalid));
            return;
        }

        PersistThen(decision.Events, _ =>
        {
            var lines = read.Summary.Totals.Lines;
            Log.Info("Campaign {CampaignId} covers {Covered} of {Lines} lines in {Files} files (job {JobId}, corpus version {CorpusVersion}, {Inputs} inputs)",
                new object[] { _state!.Id, lines.Covered, lines.Count, read.Summary.Files, read.Summary.JobId, read.Summary.CorpusVersion, read.Summary.Inputs });
            read.ReplyTo.Tell(Ack.Instance);
        });
    }

    private sealed record CoverageBinaryLookedUp(int Build, BlobId? Binary, string? Failure);

    private sealed record CoverageReportRead(CoverageSummary Summary, IReadOnlyList<CoverageFile> Files, IActorRef ReplyTo);

    /// <summary><paramref name="Unreadable"/>: the zip arrived but holds no summary to journal; else it may come next time.</summary>
    private sealed record CoverageReportFailed(ReportCoverage Report, IActorRef ReplyTo, string Reason, bool Unreadable);
}
