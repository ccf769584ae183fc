using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using PandaFuzz.Bot.Agent;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Runner;
using PandaFuzz.Bot.Findings;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Salvage;

/// <summary>
/// Reports the findings a killed predecessor of this bot left in its job dirs, one at a time, triaged like live ones; an
/// artifact goes once the outbox has its report on disk. One delivered before the kill is delivered again, which the
/// master ignores (crash reports are idempotent by input hash).
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
    /// Moves every job dir with a readable <c>job.msg</c> to the salvage folder. It runs before the agent first checks in,
    /// so no job can start in a dir being salvaged; one small read and one rename per dir keep it quick.
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

            if (findings.Count > 0)
            {
                // A bundle's fuzz target reruns with its libraries, which stayed unpacked in the bundle cache.
                try
                {
                    JobBinaries.UseBundleLibraries(job.Spec, _storage.Targets, dir);
                }
                catch (IOException e)
                {
                    _log.Warning("Salvage reruns the findings of job {JobId} without its bundle's libraries: {Reason}", job.JobId, e.Message);
                }
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

        JobLaunchExtras.ForgetLibraries(current.Dir.Root);
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
