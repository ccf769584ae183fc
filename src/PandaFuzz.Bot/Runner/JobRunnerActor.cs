using Akka.Actor;
using Akka.Event;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Findings;
using PandaFuzz.Domain.Engines;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Infrastructure.Actors;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;
using PandaFuzz.Bot.Observability;

namespace PandaFuzz.Bot.Runner;

/// <summary>Runs one job and hands its findings and end to the outbox: once they are on disk there, the job is done.</summary>
public sealed class JobRunnerActor : ReceiveActor, IWithTimers
{
    private readonly AgentCommands.StartJob _job;
    private readonly BotId _botId;
    private readonly IFuzzingEngine _engine;
    private readonly BotSettings _settings;
    private readonly JobWorkDir _dir;
    private readonly ContentAddressedStore _targets;
    private readonly JobBinaries _binaries;
    private readonly ContentAddressedStore _outbox;
    private readonly string _outboxPath;
    private readonly IActorRef _jobs;
    private readonly IActorRef _outboxMessages;
    private readonly IActorRef _corpora;
    private CancellationTokenSource _stopping = new();
    // Cancels a minimization's processes when the job is stopped (the sync rounds go on under _stopping).
    private readonly CancellationTokenSource _stopMinimizing = new();
    private bool _minimizing;
    private bool _slotFreed;
    private CorpusSync? _sync;
    private CoverageTools? _coverageTools;
    private bool _syncing;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IProtocolMessage> _handing = [];

    private readonly ArtifactLedger _artifacts = new();

    private readonly Queue<ArtifactFound> _triageQueue = new();
    // Signatures this job reported as reproducible: found again, they are rerun once, not the whole set.
    private readonly HashSet<string> _reportedSignatures = new(StringComparer.Ordinal);
    // The latest crash reports' inputs, for the job's end: the outbox sends oldest first, so those are the ones that may
    // still be on their way when the end arrives; the bound keeps a shallow bug's thousands of reports out of one event.
    private readonly Queue<BlobId> _reportedInputs = new();
    private const int ReportedInputsKept = 256;
    // Timeouts are triaged beside the queue, not in it.
    private string? _triaging;
    private readonly EngineRestartPolicy _restarts;
    private readonly DateTimeOffset _deadline;

    private const int TargetFetchAttempts = 3;
    private int _targetFetches;
    private IActorRef? _fuzzer;
    private FuzzerStats? _latest;
    private long _runExecs;
    private long _execsOfEndedRuns;
    private CampaignJobFinish? _finish;
    private bool _fuzzing = true;
    private int _runs;
    private int _findingsThisRun;
    private long _crashes;
    private long _hangs;
    private int _storing;
    private int _failedRuns;
    private DateTimeOffset _runStarted;

    public JobRunnerActor(
        AgentCommands.StartJob job,
        BotId botId,
        IFuzzingEngine engine,
        BotSettings settings,
        JobWorkDir dir,
        ContentAddressedStore targets,
        ContentAddressedStore outbox,
        string outboxPath,
        IActorRef jobs,
        IActorRef outboxMessages,
        IActorRef corpora)
    {
        _job = job;
        _botId = botId;
        _engine = engine;
        _settings = settings;
        _dir = dir;
        _targets = targets;
        _binaries = new JobBinaries(job.Spec, engine, targets);
        _outbox = outbox;
        _outboxPath = outboxPath;
        _jobs = jobs;
        _outboxMessages = outboxMessages;
        _corpora = corpora;
        _deadline = DateTimeOffset.UtcNow.AddSeconds(job.Spec.DurationSeconds);
        _restarts = new EngineRestartPolicy(settings.RestartDelay, settings.Engine.MaxRestartDelay, settings.Engine.MaxFailures, settings.Engine.HealthyRun);

        Receive<TargetReady>(_ => Prepare());
        Receive<TargetFailed>(failed =>
        {
            // The master that started the job may die mid-fetch: the fetch is tried again, from a master up by then.
            if (++_targetFetches < TargetFetchAttempts && DateTimeOffset.UtcNow < _deadline)
            {
                _log.Warning("Job {JobId} could not fetch target {Target} (attempt {Attempt} of {Attempts}): {Reason}; trying again",
                    job.JobId, job.Spec.Target, _targetFetches, TargetFetchAttempts, failed.Reason);
                Timers.StartSingleTimer(FetchTarget.Instance, FetchTarget.Instance, settings.RetryInterval);
                return;
            }

            EndFuzzing(false, $"could not fetch target {job.Spec.Target}: {failed.Reason}");
        });
        Receive<FetchTarget>(_ => StartTargetFetch());
        Receive<RunAgain>(_ => StartRun());
        Receive<DeadlineReached>(_ => StopAtDeadline());
        Receive<InitialSyncDone>(done =>
        {
            // The time limit was for the first pull only; later rounds stop when the job does.
            _stopping.Dispose();
            _stopping = new CancellationTokenSource();
            if (done.Error is not null)
            {
                _log.Warning("Job {JobId} starts without the campaign corpus: {Reason}", _job.JobId, done.Error);
            }
            else
            {
                _log.Info("Job {JobId} starts from {Count} inputs of the campaign corpus", _job.JobId, _sync!.Imported);
            }

            if (_job.Spec.Task == JobTask.MinimizeCorpus)
            {
                var minimizer = new CorpusMinimizer(_job, _engine, _dir, _settings, _sync!, _corpora);
                RunOneShot(async ct => await minimizer.RunAsync(ct) switch { var (succeeded, summary) => new Minimized(succeeded, summary) }, afterPull: true);
                return;
            }

            if (_job.Spec.Task == JobTask.Coverage && _coverageTools is { } tools)
            {
                // Part of the corpus would be measured as if it were all of it.
                if (done.Error is not null)
                {
                    EndFuzzing(false, $"the campaign corpus could not be pulled: {done.Error}");
                    return;
                }

                var measurer = new CoverageRunner(_job, _dir, _settings, new CoverageCorpus(_sync!.Version, _sync.Pulled.Count), tools, _outbox, _outboxPath);
                RunOneShot(async ct => await measurer.RunAsync(ct) switch { var (succeeded, summary, report) => new Minimized(succeeded, summary, report) }, afterPull: true);
                return;
            }

            Timers.StartPeriodicTimer(SyncTick.Instance, SyncTick.Instance, _settings.SyncInterval);
            StartRun();
        });
        Receive<Minimized>(done =>
        {
            _minimizing = false;
            if (done.Succeeded && _job.Spec.Task == JobTask.Coverage)
            {
                _log.Info("Job {JobId} measured the coverage of {Summary}", _job.JobId, done.Summary);
            }

            if (done.Report is { } report)
            {
                HandOver(report);
            }

            EndFuzzing(done.Succeeded, done.Succeeded ? null : done.Summary);
        });
        Receive<SyncTick>(_ => SyncRound());
        Receive<SyncRoundDone>(done =>
        {
            _syncing = false;
            if (done.Error is not null)
            {
                _log.Warning("Corpus sync of job {JobId} failed: {Reason}", _job.JobId, done.Error);
            }

            HandOverFinish();
            ReloadForImports();
            StopWhenDone();
        });
        Receive<FuzzerStats>(stats =>
        {
            _latest = stats;
            _runExecs = stats.Execs;
        });
        Receive<ArtifactFound>(Found);
        Receive<FindingStored>(Stored);
        Receive<FindingLost>(lost =>
        {
            _storing--;
            if (_triaging == lost.Path)
            {
                _triaging = null;
                TriageNext();
            }

            FreeSlotWhenIdle();

            _log.Error("Job {JobId} could not keep the finding {Artifact}: {Reason}", _job.JobId, lost.Path, lost.Reason);
            HandOverFinish();
            StopWhenDone();
        });
        Receive<FuzzerExited>(Exited);
        Receive<StatsTick>(_ => SendStats());
        Receive<RetryTick>(_ => OfferAgain());
        Receive<OutboxCommands.Kept>(kept =>
        {
            _handing.Remove(kept.Key);
            ForgetArtifact(kept.Key);
            if (_finish is { Kept: false } finish && kept.Key == OutboxEntry.Of(FinishReport(finish))!.Key)
            {
                _finish = finish with { Kept = true };
            }

            StopWhenDone();
        });
        Receive<OutboxCommands.NotKept>(notKept =>
            _log.Warning("The outbox could not keep {Key} of job {JobId} yet: {Reason}", notKept.Key, _job.JobId, notKept.Reason));
        Receive<AgentCommands.StopJob>(stop =>
        {
            _log.Info("Stopping job {JobId}: {Reason}", _job.JobId, stop.Reason);
            StopFuzzing();
            // The master ended the job already; only the findings are still owed.
            _finish = new CampaignJobFinish(true, null, Kept: true);
            StopWhenDone();
        });
        Receive<Terminated>(terminated =>
        {
            if (!terminated.ActorRef.Equals(_fuzzer))
            {
                return;
            }

            if (_fuzzing)
            {
                // Gone without reporting the engine's end: killed after the stop grace ran out, or failed. The run is over.
                Exited(new FuzzerExited(-1, "the engine did not end within its stop grace and its process group was killed"));
                return;
            }

            _fuzzer = null;
            FreeSlotWhenIdle();
            StopWhenDone();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        _dir.Create();
        try
        {
            // Before any finding can appear: a bot killed from here on leaves a dir its next start can salvage.
            JobMessageFile.Write(Context.System.Serialization, _dir, _job);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error(e, "Job {JobId} could not write {File}: findings left by a killed bot cannot be salvaged", _job.JobId, _dir.JobMessage);
        }

        Timers.StartPeriodicTimer(StatsTick.Instance, StatsTick.Instance, _settings.StatsInterval);
        StartTargetFetch();
    }

    private void StartTargetFetch() =>
        _binaries.FetchAsync(MasterBlobSource.Resolve(Context.System, _job.BlobSourcePath), _settings.BlobChunkTimeout)
            .PipeTo(Self, success: () => TargetReady.Instance, failure: e => new TargetFailed(e.Message));

    private void Prepare()
    {
        if (_binaries.CopyIn(_dir) is { } libraries)
        {
            _log.Info("Job {JobId} runs {FuzzTarget} of bundle {Bundle} with {Libraries} shared libraries", _job.JobId, _job.Spec.FuzzTarget, _job.Spec.Target, libraries);
        }

        if (_job.Spec.Dictionary is { } dictionary)
        {
            WorkDirFiles.RemovePlantedLink(_dir.Dictionary);
            File.WriteAllText(_dir.Dictionary, dictionary);
        }

        // Checked before the corpus is pulled: a bot without LLVM's tools fails the job at once, saying which it lacks.
        if (_job.Spec.Task == JobTask.Coverage && (_coverageTools = CoverageTools.Find(out var missing)) is null)
        {
            EndFuzzing(false, missing);
            return;
        }

        if (_job.Spec.Task == JobTask.VerifyBug)
        {
            var verifier = new BugVerifier(_job, _engine, _dir, _settings, _targets, MasterBlobSource.Resolve(Context.System, _job.BlobSourcePath));
            RunOneShot(async ct => await verifier.RunAsync(ct) switch { var (succeeded, summary, report) => new Minimized(succeeded, summary, report) }, afterPull: false);
            return;
        }

        if (_job.Spec.Task == JobTask.MinimizeCrash)
        {
            var minimizer = new CrashMinimizer(_job, _engine, _dir, _settings, _targets, _outbox, _outboxPath,
                MasterBlobSource.Resolve(Context.System, _job.BlobSourcePath));
            RunOneShot(async ct => await minimizer.RunAsync(ct) switch { var (succeeded, summary, report) => new Minimized(succeeded, summary, report) }, afterPull: false);
            return;
        }

        // The campaign's corpus first: a job that starts, restarts or moves resumes from it, not from nothing.
        var system = Context.System;
        var blobSource = _job.BlobSourcePath;
        _sync = new CorpusSync(_job, _engine, _dir, _targets, _outbox, _outboxPath, _corpora,
            () => MasterBlobSource.Resolve(system, blobSource), _settings.SyncLimits, _log);
        _stopping.CancelAfter(_settings.InitialSyncTimeout);
        _sync.InitialAsync(_stopping.Token).PipeTo(Self,
            success: () => new InitialSyncDone(null),
            failure: e => new InitialSyncDone(e is OperationCanceledException ? "timed out" : e.GetBaseException().Message));
    }

    private void SyncRound()
    {
        if (_sync is null || _syncing)
        {
            return;
        }

        _syncing = true;
        _sync.RoundAsync(_stopping.Token).PipeTo(Self,
            success: () => new SyncRoundDone(null),
            failure: e => new SyncRoundDone(e.GetBaseException().Message));
    }

    private void StartRun()
    {
        var remaining = _deadline - DateTimeOffset.UtcNow;
        if (!_fuzzing)
        {
            return;
        }

        if (remaining < _settings.MinimumRun)
        {
            EndFuzzing(true, null);
            return;
        }

        _runs++;
        _findingsThisRun = 0;
        _runStarted = DateTimeOffset.UtcNow;
        Props props;
        if (_engine is IInProcessEngine inProcess)
        {
            props = inProcess.Run(_job.Spec, _dir, remaining);
        }
        else
        {
            // A run stopped by a kill leaves its engine's temporary files: the next one's live figures must not read them.
            WorkDirFiles.EnsureEmptyDirectory(_dir.Root, _dir.EngineTemp);
            // The bundle's library path shows in the command line as the run gets it.
            var launch = JobLaunchExtras.WithLibraries(_engine.Launch(_job.Spec, _dir, remaining));
            _commandLine = Reproduction.CommandLine(launch.Program, launch.Arguments, launch.Environment);
            var run = Sandbox.Of(_settings.Sandbox).Prepare(launch, _job.Spec.MemoryLimitMb, remaining, engineRun: true);
            props = ActorProps.Of(() => new FuzzerProcessActor(_engine, _dir, run, _settings.MaxReportBytes, _settings.PollInterval, _settings.Engine.StallTimeout));
        }

        _fuzzer = Context.ActorOf(props, $"fuzzer-{_runs}");
        Context.Watch(_fuzzer);
        _stoppedAtDeadline = false;
        _reloading = false;
        _importedAtRunStart = _sync?.Imported ?? 0;

        // libFuzzer -fork ends at -max_total_time only once its child ends, up to 300 s later: the runner keeps the deadline.
        Timers.StartSingleTimer(DeadlineReached.Instance, DeadlineReached.Instance, remaining + DeadlineSlack);
    }

    private static readonly TimeSpan DeadlineSlack = TimeSpan.FromSeconds(1);

    private bool _stoppedAtDeadline;

    /// <summary>How the engine runs now (sandbox aside), reported with the stats.</summary>
    private string? _commandLine;

    private bool _reloading;
    private int _importedAtRunStart;

    // libFuzzer -fork reads its corpus only as it starts: restarted so a long job takes in other jobs' inputs.
    private void ReloadForImports()
    {
        if (_fuzzing && !_reloading && !_stoppedAtDeadline && _fuzzer is { } fuzzer && !_engine.ReadsImportsWhileRunning
            && _sync is { } sync && sync.Imported > _importedAtRunStart && DateTimeOffset.UtcNow - _runStarted >= _settings.LibFuzzerForkReload)
        {
            _log.Info("Job {JobId}: restarting {Engine} to take in {Count} inputs of other jobs", _job.JobId, _engine.Name, sync.Imported - _importedAtRunStart);
            _reloading = true;
            fuzzer.Tell(new StopFuzzer(_settings.StopGrace));
        }
    }

    private void StopAtDeadline()
    {
        if (_fuzzing && _fuzzer is { } fuzzer)
        {
            _log.Info("Job {JobId} reached its deadline with its engine still running: stopping it", _job.JobId);
            _stoppedAtDeadline = true;
            fuzzer.Tell(new StopFuzzer(_settings.StopGrace));
        }
    }

    private void Found(ArtifactFound found)
    {
        var onDisk = UntrustedFiles.IsRegularFile(_dir.Root, found.Path);
        var (sighting, ofThisRun) = _artifacts.Sight(found.Path, onDisk, onDisk && WrittenDuringThisRun(found.Path));

        // A run that finds nothing counts as failed: a shallow bug found again at every start must not fail the job.
        if (ofThisRun)
        {
            _findingsThisRun++;
        }

        if (sighting == ArtifactSighting.AlreadyKept)
        {
            // Written again and then deleted, before this message came, with the kept report of the same input.
            _log.Info("Job {JobId} found {Artifact} again; the report of that input is kept already", _job.JobId, found.Path);
            return;
        }

        if (sighting == ArtifactSighting.Pending)
        {
            return;
        }

        if (found.Kind == CrashKinds.Timeout)
        {
            _hangs++;
        }
        else
        {
            _crashes++;
        }

        _storing++;
        if (found.Kind == CrashKinds.Timeout)
        {
            // A hang's reruns each wait out the time limit: in the queue, they would hold back every crash found after it.
            Triage(found);
            return;
        }

        _triageQueue.Enqueue(found);
        TriageNext();
    }

    // One at a time: reproductions side by side would take the cores the fuzzing needs.
    private void TriageNext()
    {
        if (_triaging is not null || !_triageQueue.TryDequeue(out var found))
        {
            return;
        }

        _triaging = found.Path;
        Triage(found);
    }

    private void Triage(ArtifactFound found) =>
        StoreFindingAsync(found).PipeTo(Self, failure: e => new FindingLost(found.Path, e.Message));

    // Less a little: file times come from the kernel's coarse clock.
    private bool WrittenDuringThisRun(string path) =>
        File.GetLastWriteTimeUtc(path) >= _runStarted.UtcDateTime - TimeSpan.FromMilliseconds(10);

    private async Task<FindingStored> StoreFindingAsync(ArtifactFound found) =>
        new(await CrashTriage.ReportAsync(_engine, _job, _botId, _dir, found, _settings, _outbox, _outboxPath, _reportedSignatures.ToHashSet()), found.Path);

    private void Stored(FindingStored stored)
    {
        _storing--;
        var finding = stored.Report.Finding;
        if (finding.Signature is { } signature && finding.Reproduced > 0)
        {
            _reportedSignatures.Add(signature);
        }

        if (_triaging == stored.Artifact)
        {
            _triaging = null;
            TriageNext();
        }

        FreeSlotWhenIdle();

        _log.Info("Job {JobId} found {CrashKind} {Input} ({Size} bytes)", _job.JobId, finding.Kind, finding.Input, finding.InputSize);
        _artifacts.Reported(OutboxEntry.Of(stored.Report)!.Key, stored.Artifact);
        _reportedInputs.Enqueue(finding.Input);
        if (_reportedInputs.Count > ReportedInputsKept)
        {
            _reportedInputs.Dequeue();
        }

        HandOver(stored.Report);
        HandOverFinish();
    }

    // The report is on disk in the outbox: the artifact has served its purpose.
    private void ForgetArtifact(string key)
    {
        if (_artifacts.Kept(key) is not { } artifact)
        {
            return;
        }

        try
        {
            File.Delete(artifact);
        }
        catch (IOException e)
        {
            _log.Warning("Job {JobId} could not delete the reported artifact {Artifact}: {Reason}", _job.JobId, artifact, e.Message);
        }
    }

    // A run that found something restarts at once (libFuzzer stops at each finding); any other run before the end failed
    // (bad binary, missing library, killed, hung) and restarts with a growing delay until MaxFailures in a row fail the job.
    private void Exited(FuzzerExited exited)
    {
        // Each run counts executions from zero; the job's count goes on.
        _execsOfEndedRuns += _runExecs;
        _runExecs = 0;
        _fuzzer = null;
        if (!_fuzzing)
        {
            FreeSlotWhenIdle();
            return;
        }

        var ranFor = DateTimeOffset.UtcNow - _runStarted;
        var atTheEnd = _deadline - DateTimeOffset.UtcNow <= _settings.MinimumRun + _settings.MinimumRun;

        // An engine that goes on past crashes (libFuzzer -fork) ends its run at the job's end with the exit code of its last
        // child, a crash it reported like the others: that is the end of the run too, not a failure.
        if (_stoppedAtDeadline || !exited.Stalled && atTheEnd && (exited.ExitCode == 0 || _findingsThisRun > 0))
        {
            EndFuzzing(true, null);
            return;
        }

        if (_reloading)
        {
            EngineMetrics.Restarts.Add(1, new KeyValuePair<string, object?>("engine", _engine.Name), new KeyValuePair<string, object?>("reason", "reload"));
            StartRun();
            return;
        }

        var decision = _restarts.After(_failedRuns, new EngineRun(_findingsThisRun > 0, exited.Stalled, ranFor));
        _failedRuns = decision.ConsecutiveFailures;
        if (decision.RestartAfter is { } delay)
        {
            EngineMetrics.Restarts.Add(1, new KeyValuePair<string, object?>("engine", _engine.Name), new KeyValuePair<string, object?>("reason", decision.ConsecutiveFailures > 0 ? "failure" : "finding"));
            if (decision.ConsecutiveFailures > 0)
            {
                _log.Warning("Job {JobId}: run {Run} failed ({Failures} in a row, {How}); restarting in {Delay}: {Error}",
                    new object[] { _job.JobId, _runs, decision.ConsecutiveFailures, How(exited, ranFor), delay, EngineFailure.Summarize(exited.Tail) });
            }

            Timers.StartSingleTimer(RunAgain.Instance, RunAgain.Instance, delay);
            return;
        }

        var hint = exited.ExitCode == 0 && !exited.Stalled ? $" (is the target a {_engine.Name} build?)" : "";
        EndFuzzing(false, $"{_engine.Name} failed {decision.ConsecutiveFailures} runs in a row, the last {How(exited, ranFor)}{hint}: {EngineFailure.Summarize(exited.Tail)}");
    }

    private static string How(FuzzerExited exited, TimeSpan ranFor) => exited switch
    {
        { Stalled: true } => $"hung (no CPU progress) and killed after {ranFor.TotalSeconds:0.#} s",
        { SandboxKill: { } kill } => $"{kill} after {ranFor.TotalSeconds:0.#} s (exit code {exited.ExitCode})",
        _ => $"exited with code {exited.ExitCode} after {ranFor.TotalSeconds:0.#} s",
    };

    private void EndFuzzing(bool succeeded, string? reason)
    {
        if (!_fuzzing)
        {
            return;
        }

        StopFuzzing();
        if (!succeeded)
        {
            _log.Warning("Job {JobId} failed: {Reason}", _job.JobId, reason);
        }

        _finish = new CampaignJobFinish(succeeded, reason, Kept: false);
        // A last round offers what the fuzzer found since the previous one.
        Timers.Cancel(SyncTick.Instance);
        SyncRound();
        HandOverFinish();
    }

    private void StopFuzzing()
    {
        _fuzzing = false;
        _stopMinimizing.Cancel();

        // The fuzzer actor stops itself once the process is gone, so the engine gets SIGTERM and time to clean up.
        _fuzzer?.Tell(new StopFuzzer(_settings.StopGrace));
        FreeSlotWhenIdle();
    }

    // Free once no process of this job runs: triage reruns take the cores a next job would get.
    private void FreeSlotWhenIdle()
    {
        if (!_slotFreed && !_fuzzing && _fuzzer is null && _storing == 0 && !_minimizing)
        {
            _slotFreed = true;
            Context.Parent.Tell(new FuzzingEnded(_job.JobId));
        }
    }

    // Sent even when unchanged: the stats are also the job's proof of life to the master.
    private void SendStats()
    {
        if (_fuzzing)
        {
            _jobs.Tell(new JobCommands.ReportJobStats(_job.JobId, _botId, WithFindings(_latest ?? FuzzerStats.Empty(DateTimeOffset.UtcNow)), _commandLine));
        }
    }

    // The engine's own crash and hang counts lag (AFL++ rewrites fuzzer_stats once a minute; libFuzzer restarts at each
    // finding), so the runner's count of reported findings is the floor.
    private FuzzerStats WithFindings(FuzzerStats stats) =>
        stats with
        {
            Execs = _execsOfEndedRuns + _runExecs,
            Crashes = Math.Max(stats.Crashes, _crashes),
            Hangs = Math.Max(stats.Hangs, _hangs),
        };

    // Owed until the outbox says it is on disk.
    private void HandOver(IProtocolMessage message)
    {
        _handing[OutboxEntry.Of(message)!.Key] = message;
        _outboxMessages.Tell(new OutboxCommands.Put(message));
        Timers.StartSingleTimer(RetryTick.Instance, RetryTick.Instance, _settings.RetryInterval);
    }

    // After the last sync round (so the job's finds are in the campaign corpus) and after the findings in triage, so the
    // master hears of them before it hears that the job ended.
    private void HandOverFinish()
    {
        if (_finish is { Kept: false } finish && !_syncing && _storing == 0 && !_handing.ContainsKey(OutboxEntry.Of(FinishReport(finish))!.Key))
        {
            HandOver(FinishReport(finish));
        }
    }

    /// <summary>
    /// A one-shot job (corpus or crash minimization, a bug's verification, coverage): its outcome ends the job and its
    /// report is handed over. One that runs after the corpus pull also stops with the job's later rounds.
    /// </summary>
    private void RunOneShot(Func<CancellationToken, Task<Minimized>> run, bool afterPull)
    {
        _minimizing = true;
        var stop = afterPull ? CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, _stopMinimizing.Token) : null;
        run(stop?.Token ?? _stopMinimizing.Token).PipeTo(Self,
            success: done => { stop?.Dispose(); return done; },
            failure: e => { stop?.Dispose(); return new Minimized(false, e.GetBaseException().Message); });
    }

    private JobCommands.ReportJobFinished FinishReport(CampaignJobFinish finish) =>
        new(_job.JobId, _botId, finish.Succeeded, finish.Reason, _latest is null ? null : WithFindings(_latest), [.. _reportedInputs]);

    // The outbox did not confirm in time (a disk error, or it restarted).
    private void OfferAgain()
    {
        foreach (var message in _handing.Values)
        {
            _outboxMessages.Tell(new OutboxCommands.Put(message));
        }

        if (_handing.Count > 0)
        {
            Timers.StartSingleTimer(RetryTick.Instance, RetryTick.Instance, _settings.RetryInterval);
        }
    }

    private void StopWhenDone()
    {
        if (!_fuzzing && _fuzzer is null && !_syncing && _storing == 0 && _handing.Count == 0 && _finish is { Kept: true })
        {
            Context.Stop(Self);
        }
    }

    protected override void PostStop()
    {
        JobLaunchExtras.ForgetLibraries(_dir.Root);
        _stopping.Cancel();
        _stopping.Dispose();
        _stopMinimizing.Cancel();
        _stopMinimizing.Dispose();
        if (_sync is not null)
        {
            _log.Info("Job {JobId} shared {Offered} inputs and took in {Imported}", _job.JobId, _sync.Offered, _sync.Imported);
        }
    }

    private sealed record CampaignJobFinish(bool Succeeded, string? Reason, bool Kept);

    private sealed record FindingStored(CampaignCommands.ReportCrash Report, string Artifact);

    private sealed record InitialSyncDone(string? Error);

    private sealed record Minimized(bool Succeeded, string Summary, IProtocolMessage? Report = null);

    private sealed record SyncRoundDone(string? Error);

    private sealed record SyncTick
    {
        public static readonly SyncTick Instance = new();
    }

    private sealed record TargetReady
    {
        public static readonly TargetReady Instance = new();
    }

    private sealed record TargetFailed(string Reason);

    private sealed record FetchTarget
    {
        public static readonly FetchTarget Instance = new();
    }

    private sealed record FindingLost(string Path, string Reason);

    private sealed record RunAgain
    {
        public static readonly RunAgain Instance = new();
    }

    private sealed record DeadlineReached
    {
        public static readonly DeadlineReached Instance = new();
    }

    private sealed record StatsTick
    {
        public static readonly StatsTick Instance = new();
    }

    private sealed record RetryTick
    {
        public static readonly RetryTick Instance = new();
    }
}
