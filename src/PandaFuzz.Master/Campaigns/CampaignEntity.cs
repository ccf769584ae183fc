using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CampaignCommands;
using static PandaFuzz.Protocol.CampaignQueries;

namespace PandaFuzz.Master.Campaigns;

/// <summary>
/// Owns one campaign: creates its jobs, stops them, finishes when they have all ended, and stores its crashes,
/// acknowledging each to the bot only once its input and record are durable.
/// </summary>
public sealed class CampaignEntity : EventSourcedEntity, IWithTimers
{
    private readonly MasterSettings _settings;
    private readonly ContentAddressedStore _blobs;
    private readonly IActorRef _jobs;
    private readonly HashSet<BlobId> _fetching = [];
    private readonly HashSet<JobId> _unconfirmedJobs = [];
    private CampaignState? _state;

    public CampaignEntity(string entityId, MasterSettings settings, ContentAddressedStore blobs, IActorRegistry registry)
        : base("campaign-" + entityId, settings.SnapshotEvery)
    {
        _settings = settings;
        _blobs = blobs;
        _jobs = registry.Get<JobRegion>();

        Recover<SnapshotOffer>(offer => _state = (CampaignState)offer.Snapshot);
        Recover<CampaignEvents.CampaignCreated>(e => _state = CampaignState.Created(e));
        Recover<IPersistedEvent>(e => _state = _state?.Apply(e));
        Recover<RecoveryCompleted>(_ => TellJobs());

        Command<CreateCampaign>(Create);
        Command<StopCampaign>(_ => WhenExists(state => PersistThen(state.Stop(Now), sender =>
        {
            TellJobs();
            sender.Tell(View(_state!));
        })));
        Command<ReportJobEnded>(ended => WhenExists(state => PersistThen(
            state.JobEnded(ended.JobId, ended.Status, Now),
            sender => sender.Tell(new JobCommands.JobEndAcknowledged(ended.JobId)))));
        Command<ReportCrash>(ReceiveCrash);
        Command<MinimizeCorpus>(minimize => WhenExists(state =>
        {
            var decision = state.AddMinimization(minimize.TimeLimitSeconds, Now);
            if (decision.Rejected)
            {
                Sender.Tell(new CommandRejected(decision.Rejection!, RejectionKind.Conflict));
                return;
            }

            var added = (CampaignEvents.CampaignJobAdded)decision.Events[0];
            PersistThen(decision.Events, sender =>
            {
                Log.Info("Campaign {CampaignId} minimizes its corpus in job {JobId}", added.CampaignId, added.JobId);
                _unconfirmedJobs.Add(added.JobId);
                RetryUnconfirmedJobs();
                sender.Tell(new JobAdded(added.CampaignId, added.JobId));
            });
        }));
        Command<CrashInputStored>(StoreCrash);
        Command<CrashInputFailed>(failed =>
        {
            _fetching.Remove(failed.Report.Finding.Input);
            Log.Warning("Input {BlobId} of a crash in campaign {CampaignId} could not be fetched from {Source}: {Reason}",
                failed.Report.Finding.Input, failed.Report.CampaignId, failed.Report.BlobSourcePath, failed.Reason);
        });
        Command<JobsTick>(_ => RetryUnconfirmedJobs());
        Command<JobCommands.JobCommandAccepted>(accepted => _unconfirmedJobs.Remove(accepted.JobId));
        Command<CommandRejected>(rejected => Log.Warning("Campaign {CampaignId}: a job refused a command: {Reason}", EntityId, rejected.Reason));
        Command<WakeCampaign>(_ => Sender.Tell(Ack.Instance));
        Command<GetCampaign>(_ => WhenExists(state => Sender.Tell(View(state))));
        Command<GetCampaignCrashes>(_ => WhenExists(state => Sender.Tell(new CampaignCrashes(state.Id, state.Crashes))));
        Command<GetCrash>(get => WhenExists(state =>
            Sender.Tell(state.FindCrash(get.CrashId) is { } crash
                ? new CrashView(crash)
                : new CommandRejected($"crash {get.CrashId} not found", RejectionKind.NotFound))));
    }

    protected override object? SnapshotState => _state;

    public ITimerScheduler Timers { get; set; } = null!;

    private string EntityId => PersistenceId["campaign-".Length..];

    private static DateTimeOffset Now => DateTimeOffset.UtcNow;

    private void Create(CreateCampaign create)
    {
        if (_state is not null)
        {
            Sender.Tell(_state.Spec == create.Spec
                ? View(_state)
                : new CommandRejected($"campaign {create.CampaignId} exists with another spec", RejectionKind.Conflict));
            return;
        }

        PersistThen([CampaignState.Create(create.CampaignId, create.Spec, Now)], sender =>
        {
            Log.Info("Campaign {CampaignId} ({CampaignName}) created with {JobCount} jobs", create.CampaignId, create.Spec.Name, create.Spec.Jobs);
            TellJobs();
            sender.Tell(View(_state!));
        });
    }

    private void ReceiveCrash(ReportCrash report)
    {
        if (_state is null)
        {
            Sender.Tell(new CommandRejected($"campaign {report.CampaignId} not found", RejectionKind.NotFound));
            return;
        }

        var crashId = CrashId.For(_state.Id, report.Finding.Input);
        if (_state.FindCrash(crashId) is not null)
        {
            Sender.Tell(new CrashAccepted(_state.Id, crashId, report.Finding.Input));
            return;
        }

        if (report.Finding.InputSize > _settings.MaxCrashInputBytes)
        {
            Sender.Tell(new CommandRejected($"crash input of {report.Finding.InputSize} bytes is over the limit", RejectionKind.Invalid));
            return;
        }

        if (!_fetching.Add(report.Finding.Input))
        {
            return; // The same input is on its way; the bot repeats until acknowledged.
        }

        var replyTo = Sender;
        var source = Context.ActorSelection(report.BlobSourcePath);
        BlobFetcher.FetchAsync(source, report.Finding.Input, _blobs, _settings.BlobChunkTimeout)
            .PipeTo(Self, success: () => new CrashInputStored(report, replyTo), failure: e => new CrashInputFailed(report, e.Message));
    }

    private void StoreCrash(CrashInputStored stored)
    {
        _fetching.Remove(stored.Report.Finding.Input);
        var report = stored.Report;
        PersistThen(_state!.RecordCrash(report.JobId, report.BotId, report.Finding, Now), _ =>
        {
            var crashId = CrashId.For(_state!.Id, report.Finding.Input);
            Log.Info("Crash {CrashId} ({CrashKind}) recorded for campaign {CampaignId} from job {JobId} on bot {BotId}",
                crashId, report.Finding.Kind, report.CampaignId, report.JobId, report.BotId);
            stored.ReplyTo.Tell(new CrashAccepted(_state.Id, crashId, report.Finding.Input));
        });
    }

    /// <summary>Creates or cancels the unfinished jobs until each has answered; also wakes them after a restart.</summary>
    private void TellJobs()
    {
        if (_state is null)
        {
            return;
        }

        _unconfirmedJobs.Clear();
        _unconfirmedJobs.UnionWith(_state.UnfinishedJobs);
        RetryUnconfirmedJobs();
    }

    private void RetryUnconfirmedJobs()
    {
        if (_state is null || _unconfirmedJobs.Count == 0)
        {
            return;
        }

        foreach (var job in _unconfirmedJobs)
        {
            // Only a stopping campaign cancels; otherwise an unfinished job is created (a minimization job can be
            // added after the campaign finished).
            object command = _state.Status == CampaignStatus.Stopping
                ? new JobCommands.CancelJob(job, "campaign stopped")
                : new JobCommands.CreateJob(job, _state.Id, _state.JobIds.IndexOf(job), _state.SpecOf(job));
            _jobs.Tell(command, Self);
        }

        Timers.StartSingleTimer(JobsTick.Instance, JobsTick.Instance, _settings.RetryInterval);
    }

    private void WhenExists(Action<CampaignState> handle)
    {
        if (_state is null)
        {
            Sender.Tell(new CommandRejected($"campaign {EntityId} not found", RejectionKind.NotFound));
            return;
        }

        handle(_state);
    }

    private void PersistThen(IReadOnlyList<IPersistedEvent> events, Action<IActorRef> then) =>
        PersistThen(events, e =>
        {
            _state = e is CampaignEvents.CampaignCreated created ? CampaignState.Created(created) : _state!.Apply(e);
            if (e is CampaignEvents.CampaignFinished finished)
            {
                Log.Info("Campaign {CampaignId} finished {CampaignStatus}", _state.Id, finished.Status);
            }
        }, then);

    private static CampaignView View(CampaignState s) =>
        new(s.Id, s.Spec, s.Status, s.JobIds, s.Crashes.Count, s.CreatedAt, s.FinishedAt);

    private sealed record CrashInputStored(ReportCrash Report, IActorRef ReplyTo);

    private sealed record CrashInputFailed(ReportCrash Report, string Reason);

    private sealed record JobsTick
    {
        public static readonly JobsTick Instance = new();
    }
}

/// <summary>Hosting for the campaign shard region.</summary>
public static class CampaignEntityHosting
{
    public static AkkaConfigurationBuilder AddCampaignEntities(this AkkaConfigurationBuilder builder, MasterSettings settings, ContentAddressedStore blobs) =>
        builder.WithShardRegion<CampaignRegion>(
            ShardNames.Campaign,
            (_, registry, _) => id => Props.Create(() => new CampaignEntity(id, settings, blobs, registry)),
            new CampaignMessageExtractor(ShardNames.MaxShards),
            new ShardOptions { Role = ShardNames.MasterRole, RememberEntities = false });
}
