using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Infrastructure.Actors;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Notifications;
using PandaFuzz.Master.Observability;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CampaignCommands;
using static PandaFuzz.Protocol.CampaignQueries;

namespace PandaFuzz.Master.Campaigns;

/// <summary>Owns one campaign: its jobs, its end, and its crashes, de-duplicated by signature and acknowledged once counted durably.</summary>
public sealed partial class CampaignEntity : EventSourcedEntity, IWithTimers
{
    private readonly MasterSettings _settings;
    private readonly ContentAddressedStore _blobs;
    private readonly IActorRef _jobs;
    private readonly IActorRef _notifier;
    private readonly IActorRegistry _registry;
    private readonly IActorRef _scheduler;
    private readonly HashSet<BlobId> _fetching = [];
    private readonly HashSet<BlobId> _countingAhead = [];
    private readonly Dictionary<string, int> _samplesOnTheirWay = [];
    private readonly HashSet<JobId> _unconfirmedJobs = [];
    private CampaignState? _state;

    public CampaignEntity(string entityId, MasterSettings settings, ContentAddressedStore blobs, IActorRegistry registry)
        : base(EntityKinds.PersistenceId(EntityKinds.Campaign, entityId), settings.CampaignSnapshotEvery)
    {
        _settings = settings;
        _blobs = blobs;
        _jobs = registry.Get<JobRegion>();
        _notifier = registry.TryGet<CrashNotifier>(out var notifier) ? notifier : ActorRefs.Nobody;
        _registry = registry;
        _scheduler = registry.TryGet<SchedulerProxy>(out var scheduler) ? scheduler : ActorRefs.Nobody;

        // A snapshot of an earlier release may keep crashes split by access size: re-keyed as events are.
        Recover<SnapshotOffer>(offer => _state = ((CampaignState)offer.Snapshot).Rekeyed());
        Recover<CampaignEvents.CampaignCreated>(e => _state = CampaignState.Created(e));
        Recover<IPersistedEvent>(e => _state = _state?.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            TellJobs();
            TellPriority();
            CheckCoverageAfterwards(); // A campaign that ended while its master went down still measures its last corpus.
        });

        Command<CreateCampaign>(Create);
        Command<StopCampaign>(_ => WhenExists(state => PersistThen(state.Stop(Now), sender =>
        {
            TellJobs();
            sender.Tell(View(_state!));
        })));
        ReceivePriorityCommands();
        Command<ReportJobEnded>(ended => WhenExists(state => PersistThen(
            state.JobEnded(ended.JobId, ended.Status, Now),
            sender => sender.Tell(new JobCommands.JobEndAcknowledged(ended.JobId)))));
        Command<ReportCrash>(ReceiveCrash);
        Command<MinimizeCorpus>(minimize => WhenExists(state =>
        {
            var decision = state.AddMinimization(minimize.TimeLimitSeconds, Now);
            Decide(decision, Apply, sender =>
            {
                var added = (CampaignEvents.CampaignJobAdded)decision.Events[0];
                Log.Info("Campaign {CampaignId} minimizes its corpus in job {JobId}", added.CampaignId, added.JobId);
                _unconfirmedJobs.Add(added.JobId);
                RetryUnconfirmedJobs();
                sender.Tell(new JobAdded(added.CampaignId, added.JobId));
            });
        }));
        ReceiveCoverageCommands();
        Command<RebaseCampaign>(rebase => WhenExists(state =>
        {
            var decision = state.Rebase(rebase.Build, rebase.Engines, rebase.StartedAt, Now, rebase.Cmplog);
            Decide(decision, Apply, sender =>
            {
                if (decision.Events.FirstOrDefault() is CampaignEvents.CampaignRebased rebased)
                {
                    Log.Info("Campaign {CampaignId} moves to build {Build}: {Replaced} jobs replaced", rebased.CampaignId, rebased.Build, rebased.Replaced.Count);
                    _unconfirmedJobs.UnionWith(rebased.Replaced);
                    _unconfirmedJobs.UnionWith(decision.Events.OfType<CampaignEvents.CampaignJobAdded>().Select(a => a.JobId));
                    RetryUnconfirmedJobs();
                }

                sender.Tell(View(_state!));
            });
        }));
        Command<VerifyBugs>(verify => WhenExists(state =>
        {
            var decision = state.VerifyBuild(verify.Build, Now);
            Decide(decision, Apply, sender =>
            {
                var added = decision.Events.OfType<CampaignEvents.CampaignJobAdded>().Select(a => a.JobId).ToList();
                if (added.Count > 0)
                {
                    Log.Info("Campaign {CampaignId} checks {Count} bugs on build {Build}", state.Id, added.Count, verify.Build.Number);
                    _unconfirmedJobs.UnionWith(added);
                    RetryUnconfirmedJobs();
                }

                sender.Tell(new VerificationsAdded(state.Id, added));
            });
        }));
        Command<ReportBugVerified>(verified => WhenExists(state =>
        {
            var decision = state.RecordVerification(verified.JobId, verified.Attempts, verified.Reproduced, verified.CrashedAs, Now);
            Decide(decision, Apply, sender =>
            {
                foreach (var triaged in decision.Events.OfType<CampaignEvents.BugTriaged>())
                {
                    var bug = BugsOf(_state!).ByCrash[triaged.Signature];
                    Log.Info("Bug {BugId} of campaign {CampaignId} is {BugStatus} in build {Build}", bug.Id, state.Id, triaged.Triage.Status, verified.Build);
                    _notifier.Tell(new BugStatusChanged(state.Id, state.Spec.Name, bug, verified.Build));
                }

                sender.Tell(Ack.Instance);
            }, (sender, reason) => sender.Tell(new CommandRejected(reason, RejectionKind.Invalid)));
        }));
        Command<TriageBug>(triage => WhenExists(state =>
        {
            var decision = state.TriageBug(triage.BugId, triage.Status, triage.ExternalUrl, triage.Note, Now);
            Decide(decision, Apply,
                sender =>
                {
                    var bug = BugsOf(_state!).ByCrash[_state!.Resolve(triage.BugId.Signature)];
                    sender.Tell(new BugView(bug, _state.ReproduceOf(bug.Leader)));
                },
                (sender, reason) => sender.Tell(new CommandRejected(reason, RejectionKind.NotFound)));
        }));
        Command<CrashInputStored>(stored =>
        {
            Fetched(stored.Report);
            CountCrash(stored.Report, sampled: true, stored.ReplyTo);
        });
        Command<CrashInputFailed>(failed =>
        {
            Fetched(failed.Report);
            Log.Warning("Input {BlobId} of a crash in campaign {CampaignId} could not be fetched from {Source}: {Reason}",
                failed.Report.Finding.Input, failed.Report.CampaignId, failed.Report.BlobSourcePath, failed.Reason);
        });
        Command<ReportCrashMinimized>(ReceiveMinimized);
        Command<MinimizeNewCrash>(minimize => MinimizeCrash(minimize.Signature));
        Command<MinimizedInputStored>(stored => RecordMinimized(stored.Report, stored.ReplyTo));
        Command<MinimizedInputFailed>(failed => Log.Warning(
            "Minimized input {BlobId} of crash {Signature} in campaign {CampaignId} could not be fetched: {Reason}",
            failed.Report.Input, failed.Report.Signature, failed.Report.CampaignId, failed.Reason));
        Command<JobsTick>(_ => RetryUnconfirmedJobs());
        Command<JobCommands.JobCommandAccepted>(accepted => _unconfirmedJobs.Remove(accepted.JobId));
        Command<CommandRejected>(rejected => Log.Warning("Campaign {CampaignId}: a job refused a command: {Reason}", EntityId, rejected.Reason));
        Command<WakeCampaign>(wake =>
        {
            if (wake.RetellJobs)
            {
                TellJobs();
                TellPriority();
            }

            Sender.Tell(Ack.Instance);
        });
        Command<GetCampaign>(_ => WhenExists(state => Sender.Tell(View(state))));
        Command<GetCampaignCrashes>(q => WhenExists(state =>
        {
            var page = state.UniqueCrashes.Skip(q.Offset).Take(q.Limit).ToList();
            var bugs = BugsOf(state);
            Sender.Tell(new CampaignCrashes(state.Id, page, state.CrashReports, state.Crashes.Count, [.. page.Select(c => bugs.ByCrash[c.Signature].Id)]));
        }));
        Command<GetCrashInput>(get => WhenExists(state => Sender.Tell(new CrashInputStatus(state.Id, get.Input, state.HasCounted(get.Input)))));
        Command<GetCrash>(get => WhenExists(state =>
            Sender.Tell(state.FindCrash(get.CrashId) is { } crash
                ? new CrashView(crash, BugsOf(state).ByCrash[crash.Signature].Id, state.ReproduceOf(crash))
                : new CommandRejected($"crash {get.CrashId} not found", RejectionKind.NotFound))));
        Command<GetCampaignBugs>(q => WhenExists(state =>
        {
            var bugs = q.Status is { } status ? [.. BugsOf(state).Groups.Where(b => b.Status == status)] : BugsOf(state).Groups;
            Sender.Tell(new CampaignBugs(state.Id, [.. bugs.Skip(q.Offset).Take(q.Limit)], bugs.Count));
        }));
        Command<GetBug>(get => WhenExists(state =>
            Sender.Tell(get.BugId.Campaign == state.Id && BugsOf(state).ByCrash.TryGetValue(state.Resolve(get.BugId.Signature), out var bug)
                ? new BugView(bug, state.ReproduceOf(bug.Leader))
                : new CommandRejected($"bug {get.BugId} not found", RejectionKind.NotFound))));
    }

    /// <summary>Computed once per state: queries in a row ask for the same.</summary>
    private (IReadOnlyList<BugGroup> Groups, IReadOnlyDictionary<string, BugGroup> ByCrash) BugsOf(CampaignState state)
    {
        if (!ReferenceEquals(_bugsOf, state))
        {
            var groups = state.Bugs();
            _bugs = (groups, groups.SelectMany(g => g.Members.Select(m => (m.Signature, Group: g))).ToDictionary(p => p.Signature, p => p.Group, StringComparer.Ordinal));
            _bugsOf = state;
        }

        return _bugs;
    }

    private CampaignState? _bugsOf;
    private (IReadOnlyList<BugGroup> Groups, IReadOnlyDictionary<string, BugGroup> ByCrash) _bugs;

    protected override object? SnapshotState => _state;

    public ITimerScheduler Timers { get; set; } = null!;

    private string EntityId => EntityKinds.EntityId(EntityKinds.Campaign, PersistenceId);

    private static DateTimeOffset Now => DateTimeOffset.UtcNow;

    private void Create(CreateCampaign create)
    {
        if (_state is not null)
        {
            Sender.Tell(_state.Spec.SameAs(create.Spec)
                ? View(_state)
                : new CommandRejected($"campaign {create.CampaignId} exists with another spec", RejectionKind.Conflict));
            return;
        }

        PersistThen([CampaignState.Create(create.CampaignId, create.Spec, Now)], sender =>
        {
            Log.Info("Campaign {CampaignId} ({CampaignName}) created with {JobCount} jobs", create.CampaignId, create.Spec.Name, create.Spec.Jobs);
            TellPriority();
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

        var finding = report.Finding;
        if (_countingAhead.Contains(finding.Input))
        {
            return; // Counted but not yet durable: the first report's acknowledgement answers this one too.
        }

        if (_state.HasCounted(finding.Input))
        {
            ControlPlaneMetrics.CrashReports.Add(1, new KeyValuePair<string, object?>("outcome", "repeated"));
            Sender.Tell(new CrashAccepted(_state.Id, CrashId.ForSignature(_state.Id, finding.SignatureOrFallback), finding.Input));
            return;
        }

        if (_fetching.Contains(finding.Input))
        {
            return; // The same input is on its way; the bot repeats until acknowledged.
        }

        var signature = finding.SignatureOrFallback;
        _samplesOnTheirWay.TryGetValue(signature, out var onTheirWay);
        if (!_state.WantsSample(signature, _settings.CrashSamples, onTheirWay))
        {
            // Enough samples of this bug: the report is counted, its input is not fetched.
            CountCrash(report, sampled: false, Sender);
            return;
        }

        if (finding.InputSize > _settings.MaxCrashInputBytes)
        {
            Sender.Tell(new CommandRejected($"crash input of {finding.InputSize} bytes is over the limit", RejectionKind.Invalid));
            return;
        }

        _fetching.Add(finding.Input);
        _samplesOnTheirWay[signature] = onTheirWay + 1;
        var replyTo = Sender;
        var source = Context.ActorSelection(report.BlobSourcePath);
        BlobFetcher.FetchAsync(source, finding.Input, _blobs, _settings.BlobChunkTimeout)
            .PipeTo(Self, success: () => new CrashInputStored(report, replyTo), failure: e => new CrashInputFailed(report, e.Message));
    }

    private void Fetched(ReportCrash report)
    {
        _fetching.Remove(report.Finding.Input);
        var signature = report.Finding.SignatureOrFallback;
        if (_samplesOnTheirWay.TryGetValue(signature, out var count))
        {
            if (count <= 1)
            {
                _samplesOnTheirWay.Remove(signature);
            }
            else
            {
                _samplesOnTheirWay[signature] = count - 1;
            }
        }
    }

    private void CountCrash(ReportCrash report, bool sampled, IActorRef replyTo)
    {
        var state = _state!;
        var finding = report.Finding;
        var signature = finding.SignatureOrFallback;
        var isNew = !state.Crashes.ContainsKey(signature);
        var crashId = CrashId.ForSignature(state.Id, signature);
        var events = state.ReportCrash(report.JobId, report.BotId, finding, sampled, Now);
        if (events.Count > 0)
        {
            _countingAhead.Add(finding.Input);
        }

        PersistAheadThen(events, Apply, _ =>
        {
            _countingAhead.Remove(finding.Input);
            ControlPlaneMetrics.CrashReports.Add(1, new KeyValuePair<string, object?>("outcome", isNew ? "new" : "known"));
            replyTo.Tell(new CrashAccepted(state.Id, crashId, finding.Input));
            if (isNew)
            {
                Log.Info("New unique crash {CrashId}: {CrashKind} in {CrashState} (reproduced {Reproduced}) from job {JobId} on bot {BotId}",
                    crashId, finding.Kind, finding.State?.Replace('\n', ' ') ?? "", $"{finding.Reproduced}/{finding.ReproduceAttempts}", report.JobId, report.BotId);
                if (_state!.Crashes.TryGetValue(signature, out var unique))
                {
                    var bug = BugsOf(_state).ByCrash[signature];
                    _notifier.Tell(new NewUniqueCrash(state.Id, state.Spec.Name, unique, bug.Id, NewBug: bug.Members.Count == 1));
                }
            }

            // A new bug, or its first stored sample (under load the first report can come without one): minimize it,
            // as a command of its own, so that each minimization job is decided on the state the last one left.
            if (isNew || sampled)
            {
                Self.Tell(new MinimizeNewCrash(signature));
            }
        });
    }

    private void MinimizeCrash(string signature)
    {
        var events = _state!.AddCrashMinimization(signature, (int)_settings.CrashMinimizationTime.TotalSeconds, Now);
        if (events.Count == 0)
        {
            return;
        }

        // Applied ahead of the journal, as crash reports are: a stashing write held every report behind it, once per
        // new bug, in the middle of the burst that found it. The job is created only once the event is durable.
        var added = (CampaignEvents.CampaignJobAdded)events[0];
        PersistAheadThen(events, Apply, _ =>
        {
            Log.Info("Campaign {CampaignId} minimizes crash {Signature} in job {JobId}", added.CampaignId, signature, added.JobId);
            _unconfirmedJobs.Add(added.JobId);
            TellJob(added.JobId);
            if (!Timers.IsTimerActive(JobsTick.Instance))
            {
                Timers.StartSingleTimer(JobsTick.Instance, JobsTick.Instance, _settings.RetryInterval);
            }
        });
    }

    private void ReceiveMinimized(ReportCrashMinimized report)
    {
        if (_state is null || !_state.Crashes.TryGetValue(_state.Resolve(report.Signature), out var crash))
        {
            Sender.Tell(new CommandRejected($"crash {report.Signature} not found in campaign {report.CampaignId}", RejectionKind.NotFound));
            return;
        }

        if (crash.Minimization?.JobId == report.JobId)
        {
            Sender.Tell(Ack.Instance);
            return;
        }

        if (report.Input is not { } input)
        {
            RecordMinimized(report, Sender);
            return;
        }

        var replyTo = Sender;
        BlobFetcher.FetchAsync(Context.ActorSelection(report.BlobSourcePath), input, _blobs, _settings.BlobChunkTimeout)
            .PipeTo(Self, success: () => new MinimizedInputStored(report, replyTo), failure: e => new MinimizedInputFailed(report, e.Message));
    }

    private void RecordMinimized(ReportCrashMinimized report, IActorRef replyTo)
    {
        var outcome = new CrashMinimization(report.JobId, report.Input, report.Size, report.Failure, Now);
        PersistThen([new CampaignEvents.CrashMinimized(_state!.Id, report.Signature, outcome, Now)], _ =>
        {
            Log.Info("Crash {Signature} of campaign {CampaignId} minimized by job {JobId}: {Outcome}", report.Signature, report.CampaignId,
                report.JobId, report.Input is null ? report.Failure : $"{report.Size} bytes");
            replyTo.Tell(Ack.Instance);
        });
    }

    /// <summary>Tells each unfinished job until it answers; also wakes them after a restart.</summary>
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
            TellJob(job);
        }

        Timers.StartSingleTimer(JobsTick.Instance, JobsTick.Instance, _settings.RetryInterval);
    }

    private void TellJob(JobId job)
    {
        // A stopping campaign cancels, and so does a rebase for the jobs it replaced (after a restart too); otherwise an
        // unfinished job is created (a minimization or verification job can be added after the campaign finished).
        object command = _state!.Status == CampaignStatus.Stopping ? new JobCommands.CancelJob(job, "campaign stopped")
            : _state.IsReplaced(job) ? new JobCommands.CancelJob(job, $"replaced: the campaign moved to build {_state.Rebased!.Build}")
            : new JobCommands.CreateJob(job, _state.Id, _state.JobIds.IndexOf(job), _state.SpecOf(job));
        _jobs.Tell(command, Self);
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

    private void PersistThen(IReadOnlyList<IPersistedEvent> events, Action<IActorRef> then) => PersistThen(events, Apply, then);

    private void Apply(IPersistedEvent e)
    {
        _state = e is CampaignEvents.CampaignCreated created ? CampaignState.Created(created) : _state!.Apply(e);
        if (e is CampaignEvents.CampaignFinished finished)
        {
            Log.Info("Campaign {CampaignId} finished {CampaignStatus}", _state.Id, finished.Status);
            CheckCoverageAfterwards();
        }
    }

    private static CampaignView View(CampaignState s) =>
        new(s.Id, s.CurrentSpec, s.Status, s.JobIds, s.Crashes.Count, s.CreatedAt, s.FinishedAt, s.VerifyingBuilds);

    private sealed record CrashInputStored(ReportCrash Report, IActorRef ReplyTo);

    private sealed record CrashInputFailed(ReportCrash Report, string Reason);

    private sealed record MinimizeNewCrash(string Signature);

    private sealed record MinimizedInputStored(ReportCrashMinimized Report, IActorRef ReplyTo);

    private sealed record MinimizedInputFailed(ReportCrashMinimized Report, string Reason);

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
            (_, registry, _) => id => ActorProps.Of(() => new CampaignEntity(id, settings, blobs, registry)),
            new CampaignMessageExtractor(ShardNames.MaxShards),
            ShardNames.MasterEntities());
}
