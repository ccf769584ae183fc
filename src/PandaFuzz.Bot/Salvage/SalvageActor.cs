using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using PandaFuzz.Bot.Agent;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Findings;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Salvage;

/// <summary>
/// Reports the findings a killed predecessor of this bot left in its job dirs. At start-up the agent hands every job dir with
/// a readable <c>job.msg</c> over to the salvage folder (<see cref="HandOver"/>); this actor then takes the dirs one by one
/// and their findings one at a time: each is triaged like a live one (<see cref="CrashTriage"/>, a fresh process, the job's
/// limits), its input copied into the outbox's blob store and its report handed to the outbox; the artifact is deleted only
/// once the outbox has the report on disk, and a dir is removed once nothing in it is left to salvage. A finding that was
/// delivered before the kill is delivered again, which the master ignores (crash reports are idempotent by input hash).
/// The work is bounded: each triage by the reproduction limits, and a finding that cannot be reproduced is reported as such.
/// Tells its parent <see cref="SalvageFinished"/> and stops when all dirs are done.
/// </summary>
public sealed class SalvageActor : ReceiveActor, IWithTimers
{
    public const string Name = "salvage";

    private readonly BotId _botId;
    private readonly IReadOnlyDictionary<string, IFuzzingEngine> _engines;
    private readonly BotSettings _settings;
    private readonly BotStorage _storage;
    private readonly string _outboxPath;
    private readonly IActorRef _outbox;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<JobWorkDir> _dirs = new();
    private Current? _current;
    private Handing? _handing;
    private int _reported;
    private int _removed;
    private int _kept;

    public SalvageActor(BotId botId, IReadOnlyDictionary<string, IFuzzingEngine> engines, BotSettings settings, BotStorage storage, string outboxPath, IActorRef outbox)
    {
        _botId = botId;
        _engines = engines;
        _settings = settings;
        _storage = storage;
        _outboxPath = outboxPath;
        _outbox = outbox;

        Receive<NextDir>(_ => StartNextDir());
        Receive<Triaged>(triaged =>
        {
            var finding = triaged.Report.Finding;
            _log.Info("Job {JobId} found {CrashKind} {Input} ({Size} bytes)", triaged.Report.JobId, finding.Kind, finding.Input, finding.InputSize);
            _log.Info("Job {JobId}: salvaged {Artifact} left by an earlier run of bot {BotId} (reproduced {Reproduced}/{Attempts})",
                triaged.Report.JobId, triaged.Artifact, _botId, finding.Reproduced, finding.ReproduceAttempts);
            _handing = new Handing(triaged.Artifact, triaged.Report, OutboxEntry.Of(triaged.Report)!.Key);
            Offer();
        });
        Receive<NotSalvaged>(failed =>
        {
            _log.Error("Could not salvage {Artifact} of job {JobId}: {Reason}; it stays for the next start", failed.Artifact, _current?.Job.JobId, failed.Reason);
            _current = _current! with { KeepDir = true };
            NextFinding();
        });
        Receive<OutboxCommands.Kept>(kept =>
        {
            if (_handing is not { } handing || kept.Key != handing.Key)
            {
                return;
            }

            _handing = null;
            Timers.Cancel(RetryTick.Instance);
            File.Delete(handing.Artifact);
            _reported++;
            NextFinding();
        });
        Receive<OutboxCommands.NotKept>(notKept =>
            _log.Warning("The outbox could not keep salvaged report {Key} yet: {Reason}", notKept.Key, notKept.Reason));
        Receive<RetryTick>(_ => Offer());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Moves every job dir that has a readable <c>job.msg</c> into the salvage folder and leaves any other alone with one
    /// warning; returns how many were moved. It runs before the agent first checks in, so no job can start in a dir being
    /// salvaged: a job started again gets a fresh dir while its old findings are salvaged in the moved one. It reads one
    /// small file and renames one dir per job: 200 dirs without findings took 20–35 ms on a loaded 2-core machine (SalvageTests),
    /// while removing them afterwards (20 corpus files each) took the salvage actor about 1.4 s, off the agent's path.
    /// </summary>
    public static int HandOver(BotStorage storage, Akka.Serialization.Serialization serialization, ILoggingAdapter log)
    {
        var watch = Stopwatch.StartNew();
        var moved = 0;
        foreach (var dir in storage.JobDirs())
        {
            var (job, problem) = JobMessageFile.Read(serialization, dir);
            if (job is null || job.JobId.Value != Path.GetFileName(dir.Root))
            {
                log.Warning("Job dir {WorkDir} left by an earlier run is left alone: {Problem}", dir.Root, problem ?? $"its job.msg is for job {job!.JobId}");
                continue;
            }

            try
            {
                storage.MoveToSalvage(dir);
                moved++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Never fatal to the agent: the dir stays where it is and is tried again at the next start.
                log.Warning("Job dir {WorkDir} left by an earlier run is left alone: it cannot be moved to salvage: {Problem}", dir.Root, e.Message);
            }
        }

        if (moved > 0)
        {
            log.Info("Handed {Count} job dirs left by an earlier run over to salvage in {Elapsed} ms", moved, watch.ElapsedMilliseconds);
        }

        return moved;
    }

    protected override void PreStart()
    {
        foreach (var dir in _storage.SalvageDirs())
        {
            _dirs.Enqueue(dir);
        }

        Self.Tell(NextDir.Instance);
    }

    /// <summary>The findings of the job's engine in <paramref name="dir"/>, as its fuzzer actor would have noticed them.</summary>
    public static IReadOnlyList<ArtifactFound> LeftoverFindings(IFuzzingEngine engine, JobWorkDir dir) =>
    [
        .. engine.FindingDirectories(dir)
            .Where(Directory.Exists)
            .SelectMany(directory => Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
            .Select(file => Path.GetFullPath(file))
            .Select(file => (File: file, Kind: engine.FindingKind(file)))
            // Only regular files of the target's own: links, FIFOs and hard links it planted are no findings.
            .Where(f => f.Kind is not null && UntrustedFiles.IsRegularFile(dir.Root, f.File))
            .Select(f => new ArtifactFound(f.File, f.Kind!,
                $"Salvaged after a restart of the bot: the fuzzer's own report of this {f.Kind} was lost with the bot's earlier run.",
                File.GetLastWriteTimeUtc(f.File))),
    ];

    private void StartNextDir()
    {
        while (_dirs.TryDequeue(out var dir))
        {
            var (job, problem) = JobMessageFile.Read(Context.System.Serialization, dir);
            if (job is null)
            {
                _log.Warning("Salvage leaves {WorkDir} alone: {Problem}", dir.Root, problem);
                _kept++;
                continue;
            }

            if (!_engines.TryGetValue(job.Spec.Engine, out var engine))
            {
                _log.Warning("Salvage leaves {WorkDir} of job {JobId} alone: engine {Engine} is not installed on this bot", dir.Root, job.JobId, job.Spec.Engine);
                _kept++;
                continue;
            }

            var findings = LeftoverFindings(engine, dir);
            if (findings.Count > 0)
            {
                _log.Info("Salvaging {Count} findings of job {JobId} left in {WorkDir}", findings.Count, job.JobId, dir.Root);
            }

            _current = new Current(job, engine, dir, new Queue<ArtifactFound>(findings), KeepDir: false);
            NextFinding();
            return;
        }

        Context.Parent.Tell(new SalvageFinished(_reported, _removed, _kept));
        Context.Stop(Self);
    }

    private void NextFinding()
    {
        var current = _current!;
        if (current.Findings.TryDequeue(out var found))
        {
            CrashTriage.ReportAsync(current.Engine, current.Job, _botId, current.Dir, found, _settings, _storage.Outbox, _outboxPath)
                .PipeTo(Self, success: report => new Triaged(found.Path, report), failure: e => new NotSalvaged(found.Path, e.GetBaseException().Message));
            return;
        }

        if (current.KeepDir)
        {
            _kept++;
        }
        else
        {
            try
            {
                Directory.Delete(current.Dir.Root, recursive: true);
                _removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _log.Warning("Salvage could not remove {WorkDir}: {Reason}", current.Dir.Root, e.Message);
                _kept++;
            }
        }

        _current = null;
        StartNextDir();
    }

    /// <summary>Offers the report until the outbox says it is on disk, as a job runner does.</summary>
    private void Offer()
    {
        if (_handing is { } handing)
        {
            _outbox.Tell(new OutboxCommands.Put(handing.Report));
            Timers.StartSingleTimer(RetryTick.Instance, RetryTick.Instance, _settings.RetryInterval);
        }
    }

    private sealed record Current(AgentCommands.StartJob Job, IFuzzingEngine Engine, JobWorkDir Dir, Queue<ArtifactFound> Findings, bool KeepDir);

    private sealed record Handing(string Artifact, CampaignCommands.ReportCrash Report, string Key);

    private sealed record Triaged(string Artifact, CampaignCommands.ReportCrash Report);

    private sealed record NotSalvaged(string Artifact, string Reason);

    private sealed record NextDir
    {
        public static readonly NextDir Instance = new();
    }

    private sealed record RetryTick
    {
        public static readonly RetryTick Instance = new();
    }
}
