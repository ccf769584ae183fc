using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence;
using PandaFuzz.Domain;
using PandaFuzz.Domain.Jobs;
using PandaFuzz.Infrastructure.Actors;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Observability;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;
using static PandaFuzz.Protocol.JobCommands;
using static PandaFuzz.Protocol.SchedulerMessages;

namespace PandaFuzz.Master.Jobs;

/// <summary>Owns one job's state and time limits: requeues or fails it when its bot does not confirm, falls silent or is lost.</summary>
public sealed class JobEntity : EventSourcedEntity, IWithTimers
{
    private readonly MasterSettings _settings;
    private readonly IActorRef _campaigns;
    private readonly IActorRef _scheduler;
    private readonly IActorRef _jobs;
    private readonly IActorRef _statsRecorder;
    private JobState? _state;
    private FuzzerStats? _stats;
    private readonly Queue<FuzzerStats> _series = new();
    private DateTimeOffset? _lastSample;
    private bool _endAcknowledged;
    private bool _stayInMemory;

    public JobEntity(string entityId, MasterSettings settings, IActorRegistry registry)
        : base(EntityKinds.PersistenceId(EntityKinds.Job, entityId), settings.SnapshotEvery)
    {
        _settings = settings;
        _campaigns = registry.Get<CampaignRegion>();
        _scheduler = registry.Get<SchedulerProxy>();
        _jobs = registry.Get<JobRegion>();
        _statsRecorder = registry.TryGet<StatsRecorder>(out var recorder) ? recorder : ActorRefs.Nobody;

        Recover<SnapshotOffer>(offer => _state = (JobState)offer.Snapshot);
        Recover<JobEvents.JobCreated>(e => _state = JobState.Created(e));
        Recover<IPersistedEvent>(e => _state = _state?.Apply(e));
        Recover<RecoveryCompleted>(_ => AfterRecovery());

        Command<CreateJob>(Create);
        Command<AssignJob>(Assign);
        Command<ConfirmJobStarted>(c => Decide(s => s.ConfirmStarted(c.BotId, Now), onRejected: (sender, reason) => sender.Tell(new AgentCommands.StopJob(c.JobId, reason))));
        Command<RefuseJob>(r => Decide(s => s.Refused(r.BotId, r.Reason, Now)));
        Command<ReportJobStats>(Stats);
        Command<ReportJobFinished>(Finished);
        Command<CancelJob>(Cancel);
        Command<BotLost>(lost => Decide(s => s.BotLost(lost.BotId, lost.Reason, _settings.JobMaxAttempts, Now)));
        Command<JobEndAcknowledged>(_ =>
        {
            _endAcknowledged = true;
            Timers.Cancel(RetryEnd.Instance);
        });
        Command<JobQueries.GetJobStatsSeries>(get => Sender.Tell(_state is null
            ? new CommandRejected($"job {EntityId} not found", RejectionKind.NotFound)
            : new JobQueries.JobStatsSeries(get.JobId, [.. _series])));
        Command<JobQueries.GetJob>(_ =>
            Sender.Tell(_state is null ? new CommandRejected($"job {EntityId} not found", RejectionKind.NotFound) : View(_state)));
        Command<StartTimedOut>(_ => Decide(s => s.Status == JobStatus.Assigned
            ? s.RequeueOrFail($"bot {s.BotId} did not confirm the start within {_settings.JobStartTimeout.TotalSeconds:0} s", _settings.JobMaxAttempts, Now)
            : Decision.Accept()));
        Command<SilenceTimedOut>(_ =>
        {
            // The bot may be alive but stuck: it is told to stop, so the job never runs twice once it moves.
            StopOnBot("no word from the bot for too long: the job moves");
            Decide(s => s.RequeueOrFail($"no word from bot {s.BotId} for {_settings.JobSilenceTimeout.TotalSeconds:0} s", _settings.JobMaxAttempts, Now));
        });
        Command<DeadlinePassed>(_ =>
        {
            if (_state is not { Status: JobStatus.Running } running)
            {
                return;
            }

            Log.Warning("Job {JobId} still runs on bot {BotId} {Grace} past its deadline: the master ends it", running.Id, running.BotId, _settings.JobDeadlineGrace);
            StopOnBot($"past its deadline by {_settings.JobDeadlineGrace.TotalSeconds:0} s");
            Decide(s => s.Overdue(_stats, Now));
        });
        Command<Reannounce>(_ => Announce());
        Command<RetryEnd>(_ => ReportEnd());
        Command<WakeJob>(_ => Announce());
        Command<JobQueued>(queued =>
        {
            if (_state is not { Status: JobStatus.Pending })
            {
                return;
            }

            _stayInMemory = queued.StayInMemory;
            if (!_stayInMemory)
            {
                // Far down a long queue: the journal keeps it until the scheduler wakes it or offers it a bot.
                Timers.Cancel(Reannounce.Instance);
                LeaveMemory();
            }
        });
        Command<Stop>(_ =>
        {
            if (_state is { Status: JobStatus.Assigned or JobStatus.Running })
            {
                // An offer was taken after this entity asked to leave memory: it comes straight back, so its timers run.
                _jobs.Tell(new WakeJob(_state.Id));
            }

            Context.Stop(Self);
        });
        Command<ReceiveTimeout>(_ =>
        {
            if (_state is { Status: JobStatus.Pending } && _stayInMemory)
            {
                return;
            }

            LeaveMemory();
        });
    }

    protected override void PreStart()
    {
        base.PreStart();
        // The shard does not passivate jobs: a queued job the scheduler keeps in memory must stay however long it waits.
        // Timer messages do not count as activity (INotInfluenceReceiveTimeout).
        Context.SetReceiveTimeout(_settings.JobPassivateAfter);
    }

    protected override object? SnapshotState => _state;

    public ITimerScheduler Timers { get; set; } = null!;

    private string EntityId => EntityKinds.EntityId(EntityKinds.Job, PersistenceId);

    private static DateTimeOffset Now => DateTimeOffset.UtcNow;

    /// <summary>Asks the shard to stop this entity. A command, not a PoisonPill, so a write in flight is finished and answered first.</summary>
    private void LeaveMemory()
    {
        Context.SetReceiveTimeout(null);
        Context.Parent.Tell(new Passivate(Stop.Instance));
    }

    private void Create(CreateJob create)
    {
        if (_state is not null)
        {
            Sender.Tell(new JobCommandAccepted(create.JobId));
            return;
        }

        PersistAndApply([new JobEvents.JobCreated(create.JobId, create.CampaignId, create.Index, create.Spec, Now)], sender =>
        {
            Log.Debug("Job {JobId} of campaign {CampaignId} created", create.JobId, create.CampaignId);
            sender.Tell(new JobCommandAccepted(create.JobId));
        });
    }

    private void Assign(AssignJob assign)
    {
        if (_state is null)
        {
            Sender.Tell(new AssignmentRejected(assign.JobId, assign.BotId, "job does not exist"));
            return;
        }

        var decision = _state.Assign(assign.BotId, assign.AgentPath, Now);
        if (decision.Rejected)
        {
            Sender.Tell(new AssignmentRejected(assign.JobId, assign.BotId, decision.Rejection!));
            return;
        }

        PersistAndApply(decision.Events, sender =>
        {
            Log.Info("Job {JobId} assigned to bot {BotId}", assign.JobId, assign.BotId);
            ControlPlaneMetrics.Assignments.Add(1);
            sender.Tell(new AssignmentAccepted(assign.JobId, assign.BotId));
        });
    }

    private void Stats(ReportJobStats report)
    {
        if (_state is not { HoldsBot: true } || _state.BotId != report.BotId)
        {
            Sender.Tell(new AgentCommands.StopJob(report.JobId, $"job {report.JobId} does not run on {report.BotId}"));
            return;
        }

        _stats = report.Stats;
        ControlPlaneMetrics.StatsUpdates.Add(1);
        ControlPlaneMetrics.StatsLag.Record(Math.Max(0, (Now - report.Stats.At).TotalSeconds));
        Sample(report.Stats);
        if (_state.Status == JobStatus.Assigned)
        {
            // Stats before the confirmation: the confirmation was lost, the stats prove the start.
            Decide(s => s.ConfirmStarted(report.BotId, Now));
            return;
        }

        Timers.StartSingleTimer(SilenceTimedOut.Instance, SilenceTimedOut.Instance, _settings.JobSilenceTimeout);
        if (report.CommandLine is { } line && line != _state.CommandLine)
        {
            Decide(s => s.Launched(report.BotId, line, Now));
        }
    }

    /// <summary>
    /// One sample per interval: a bounded number kept here for live plots, every one written to the stats store, where
    /// it outlives the job. A job's last figures are always written (<paramref name="final"/>).
    /// </summary>
    private void Sample(FuzzerStats stats, bool final = false)
    {
        if (!final && _lastSample is { } last && stats.At - last < _settings.StatsSeriesInterval)
        {
            return;
        }

        _lastSample = stats.At;
        _statsRecorder.Tell(new RecordStats(new StatsSample(_state!.Id, _state.CampaignId, _state.Spec.Engine, stats)));
        _series.Enqueue(stats);
        while (_series.Count > _settings.StatsSeriesPoints)
        {
            _series.Dequeue();
        }
    }

    private void Finished(ReportJobFinished finished)
    {
        if (_state is null || _state.IsTerminal || _state.BotId != finished.BotId)
        {
            // Already ended or moved on: acknowledge so the bot stops repeating.
            Sender.Tell(Ack.Instance);
            return;
        }

        if (finished.FinalStats is not null)
        {
            _stats = finished.FinalStats;
        }

        Decide(
            s => s.Finished(finished.BotId, finished.Succeeded, finished.FailureReason, finished.FinalStats, Now, finished.CrashInputs),
            sender => sender.Tell(Ack.Instance),
            (sender, _) => sender.Tell(Ack.Instance));
    }

    private void Cancel(CancelJob cancel)
    {
        if (_state is null)
        {
            Sender.Tell(new CommandRejected($"job {cancel.JobId} not found", RejectionKind.NotFound));
            return;
        }

        Decide(s => s.Cancel(cancel.Reason, Now, _stats), sender => sender.Tell(new JobCommandAccepted(cancel.JobId)));
    }

    private void StopOnBot(string reason)
    {
        if (_state is { HoldsBot: true, AgentPath: { } agent })
        {
            Context.ActorSelection(agent).Tell(new AgentCommands.StopJob(_state.Id, reason));
        }
    }

    /// <summary>Starts the deadline timer of a running job; after a master restart the grace counts from now at the earliest.</summary>
    private void StartDeadlineTimer(JobState state)
    {
        if (state.Deadline(_settings.JobDeadlineGrace) is { } deadline)
        {
            var due = deadline - Now;
            Timers.StartSingleTimer(DeadlinePassed.Instance, DeadlinePassed.Instance, due > _settings.JobDeadlineGrace ? due : _settings.JobDeadlineGrace);
        }
    }

    private void Decide(Func<JobState, Decision> decide, Action<IActorRef>? onAccepted = null, Action<IActorRef, string>? onRejected = null)
    {
        var decision = _state is null ? Decision.Reject($"job {EntityId} does not exist") : decide(_state);
        var previous = _state;
        // A job's refusals are answered by each command (or not at all), never as a conflict.
        Decide(decision, ApplyEvent, sender =>
        {
            if (decision.Events.Count > 0)
            {
                AfterTransition(previous, _state!);
            }

            onAccepted?.Invoke(sender);
        }, onRejected ?? ((_, _) => { }));
    }

    private void ApplyEvent(IPersistedEvent e) => _state = e is JobEvents.JobCreated created ? JobState.Created(created) : _state!.Apply(e);

    /// <summary>Persists the events; the side effects of the whole transition run once, after the last.</summary>
    private void PersistAndApply(IReadOnlyList<IPersistedEvent> events, Action<IActorRef> afterAll)
    {
        var previous = _state;
        PersistThen(
            events,
            ApplyEvent,
            sender =>
            {
                AfterTransition(previous, _state!);
                afterAll(sender);
            });
    }

    private void AfterTransition(JobState? before, JobState after)
    {
        if (before?.HoldsBot == true && (before.BotId != after.BotId || !after.HoldsBot))
        {
            _scheduler.Tell(new JobReleased(after.Id, before.BotId));
            if (after.Status == JobStatus.Cancelled && before.AgentPath is not null)
            {
                Context.ActorSelection(before.AgentPath).Tell(new AgentCommands.StopJob(after.Id, after.FailureReason ?? "cancelled"));
            }
        }

        switch (after.Status)
        {
            case JobStatus.Pending:
                Timers.Cancel(StartTimedOut.Instance);
                Timers.Cancel(SilenceTimedOut.Instance);
                Timers.Cancel(DeadlinePassed.Instance);
                if (before?.Status != JobStatus.Pending && before is not null)
                {
                    Log.Warning("Job {JobId} back to pending", after.Id);
                }

                Announce();
                break;
            case JobStatus.Assigned when before?.Status != JobStatus.Assigned:
                Timers.StartSingleTimer(StartTimedOut.Instance, StartTimedOut.Instance, _settings.JobStartTimeout);
                var blobs = new RootActorPath(Cluster.Get(Context.System).SelfAddress) / "user" / BlobServerActor.MasterName;
                Context.ActorSelection(after.AgentPath!).Tell(new AgentCommands.StartJob(after.Id, after.CampaignId, after.Spec, blobs.ToString(), Now));
                break;
            case JobStatus.Running:
                Timers.Cancel(StartTimedOut.Instance);
                Timers.StartSingleTimer(SilenceTimedOut.Instance, SilenceTimedOut.Instance, _settings.JobSilenceTimeout);
                if (before?.Status != JobStatus.Running)
                {
                    StartDeadlineTimer(after);
                }

                break;
            case JobStatus.Completed or JobStatus.Failed or JobStatus.Cancelled:
                Timers.Cancel(StartTimedOut.Instance);
                Timers.Cancel(SilenceTimedOut.Instance);
                Timers.Cancel(DeadlinePassed.Instance);
                Timers.Cancel(Reannounce.Instance);
                if (before?.Status == JobStatus.Pending)
                {
                    _scheduler.Tell(new JobReleased(after.Id, null));
                }

                Log.Info("Job {JobId} ended {JobStatus} {Reason}", after.Id, after.Status, after.FailureReason ?? "");
                if (before is { IsTerminal: false } && (after.FinalStats ?? _stats) is { } last)
                {
                    Sample(last, final: true);
                }

                ReportEnd();
                break;
        }
    }

    private void AfterRecovery()
    {
        if (_state is null)
        {
            return;
        }

        switch (_state.Status)
        {
            case JobStatus.Pending:
                Announce();
                break;
            case JobStatus.Assigned:
                Timers.StartSingleTimer(StartTimedOut.Instance, StartTimedOut.Instance, _settings.JobStartTimeout);
                break;
            case JobStatus.Running:
                // After a master restart the bot proves it still runs the job by reporting stats; if gone, the silence timer moves it on.
                Timers.StartSingleTimer(SilenceTimedOut.Instance, SilenceTimedOut.Instance, _settings.JobSilenceTimeout);
                StartDeadlineTimer(_state);
                break;
            default:
                ReportEnd();
                break;
        }
    }

    /// <summary>Tells the scheduler the job waits, and again periodically so a restarted scheduler learns it.</summary>
    private void Announce()
    {
        if (_state is not { Status: JobStatus.Pending })
        {
            return;
        }

        _scheduler.Tell(new JobPending(_state.Id, _state.Spec.Engine, _state.CreatedAt, _state.Spec.Task != JobTask.Fuzz));
        Timers.StartSingleTimer(Reannounce.Instance, Reannounce.Instance, _settings.PendingReannounceInterval);
    }

    /// <summary>Tells the campaign the job ended, until it acknowledges.</summary>
    private void ReportEnd()
    {
        if (_state is not { IsTerminal: true } || _endAcknowledged)
        {
            return;
        }

        _campaigns.Tell(new CampaignCommands.ReportJobEnded(_state.CampaignId, _state.Id, _state.Status, _state.FinishedAt ?? Now));
        Timers.StartSingleTimer(RetryEnd.Instance, RetryEnd.Instance, _settings.RetryInterval);
    }

    private JobQueries.JobView View(JobState s) =>
        new(s.Id, s.CampaignId, s.Index, s.Status, s.BotId, s.FailureReason, s.CreatedAt, s.AssignedAt, s.StartedAt, s.FinishedAt, _stats ?? s.FinalStats,
            s.Spec.Engine, s.Spec.Task, s.CrashInputs, s.CommandLine, s.Spec.Options);

    private sealed record StartTimedOut : INotInfluenceReceiveTimeout
    {
        public static readonly StartTimedOut Instance = new();
    }

    private sealed record SilenceTimedOut : INotInfluenceReceiveTimeout
    {
        public static readonly SilenceTimedOut Instance = new();
    }

    private sealed record DeadlinePassed : INotInfluenceReceiveTimeout
    {
        public static readonly DeadlinePassed Instance = new();
    }

    private sealed record Reannounce : INotInfluenceReceiveTimeout
    {
        public static readonly Reannounce Instance = new();
    }

    private sealed record RetryEnd : INotInfluenceReceiveTimeout
    {
        public static readonly RetryEnd Instance = new();
    }

    /// <summary>The shard's stop message when this entity leaves memory (see <see cref="LeaveMemory"/>).</summary>
    private sealed record Stop
    {
        public static readonly Stop Instance = new();
    }
}

/// <summary>Hosting for the job shard region.</summary>
public static class JobEntityHosting
{
    public static AkkaConfigurationBuilder AddJobEntities(this AkkaConfigurationBuilder builder, MasterSettings settings) =>
        builder.WithShardRegion<JobRegion>(
            ShardNames.Job,
            (_, registry, _) => id => ActorProps.Of(() => new JobEntity(id, settings, registry)),
            new JobMessageExtractor(ShardNames.MaxShards),
            ShardNames.MasterEntities(passivatesItself: true));
}
