using System.Diagnostics;
using System.Text;
using Akka.Actor;
using Akka.Event;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Processes;

/// <summary>Runs one fuzzer process in its own group, and kills the group when the actor stops or the fuzzer makes no CPU progress.</summary>
public sealed class FuzzerProcessActor : ReceiveActor, IWithTimers
{
    private const int TailLines = 200;

    // A crash report arrives this much later; its artifact is in a file anyway.
    private static readonly TimeSpan OutputInterval = TimeSpan.FromMilliseconds(250);

    private readonly IFuzzingEngine _engine;
    private readonly JobWorkDir _dir;
    private readonly SandboxedRun _run;
    private readonly int _maxReportBytes;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<string> _tail = new();
    private readonly HashSet<string> _reported = [];
    private readonly StringBuilder _report = new();
    private readonly TimeSpan _pollInterval;
    private readonly TimeSpan _stallTimeout;
    private Process? _process;
    private DeadMansSwitch? _deadMansSwitch;
    private long _cpuTicks = -1;
    private DateTimeOffset _lastProgress;
    private DateTimeOffset _lastCpuLook;
    private bool _stalled;
    private bool _capturing;
    private long _imported;
    private FuzzerStats? _printed;
    private long _sentExecs;

    public ITimerScheduler Timers { get; set; } = null!;

    public FuzzerProcessActor(IFuzzingEngine engine, JobWorkDir dir, SandboxedRun run, int maxReportBytes, TimeSpan pollInterval, TimeSpan stallTimeout)
    {
        _engine = engine;
        _dir = dir;
        _run = run;
        _maxReportBytes = maxReportBytes;
        _pollInterval = pollInterval;
        _stallTimeout = stallTimeout;

        Receive<OutputLines>(output =>
        {
            foreach (var line in output.Lines)
            {
                Read(line);
            }
        });
        Receive<Poll>(_ =>
        {
            PollFiles();
            Watch();
        });
        Receive<StopFuzzer>(stop =>
        {
            // SIGTERM lets the engine write its final state (AFL++ saves fuzzer_stats); the group dies after the grace.
            if (_process is { } running)
            {
                ProcessGroups.Terminate(running.Id);
            }

            Timers.StartSingleTimer(ForceKill.Instance, ForceKill.Instance, stop.Grace);
        });
        Receive<ForceKill>(_ => Context.Stop(Self));
        Receive<Exited>(exited =>
        {
            // Findings whose "written to" line was missed, or written since the last poll, are still findings.
            ScanFindings();
            if (_engine.ReadStatsFiles(_dir) is { } stats)
            {
                Context.Parent.Tell(stats);
            }

            File.Delete(_dir.PidFile);
            var sandboxKill = _run.Explain(exited.Code);
            if (sandboxKill is not null)
            {
                _log.Warning("{Engine} in {WorkDir} was {SandboxKill}", _engine.Name, _dir.Root, sandboxKill);
            }

            // The group was killed as its leader ended (PreStart): nothing of the job runs, so its dead man's switch stands down.
            _deadMansSwitch?.Release();
            Context.Parent.Tell(new FuzzerExited(exited.Code, string.Join('\n', _tail), _stalled, sandboxKill));
            _process = null;
            Context.Stop(Self);
        });
    }

    protected override void PreStart()
    {
        var info = ProcessGroups.StartInfo(_run.Launch);

        var self = Self;
        var process = new Process { StartInfo = info };
        process.Start();
        process.StandardInput.Close();
        File.WriteAllText(_dir.PidFile, process.Id.ToString());
        _deadMansSwitch = DeadMansSwitch.Arm(process.Id);
        var output = OutputPump.RunAsync(process.StandardOutput.BaseStream, lines => self.Tell(new OutputLines(lines)), OutputInterval);
        var errors = OutputPump.RunAsync(process.StandardError.BaseStream, lines => self.Tell(new OutputLines(lines)), OutputInterval);
        _process = process;
        _log.Info("Started {Engine} pid {Pid} in {WorkDir}: {Arguments}", _engine.Name, process.Id, _dir.Root, string.Join(' ', _run.Launch.Arguments));

        // Exited after both output streams reached their end, so every line arrives first. What the engine leaves in its
        // group when it ends (a target's forked children) would hold those streams open: it is killed as the engine ends.
        var ended = process.WaitForExitAsync().ContinueWith(_ => ProcessGroups.KillGroup(process.Id), TaskScheduler.Default);
        Task.WhenAll(ended, output, errors).PipeTo(self, success: () => new Exited(process.ExitCode));
        _lastProgress = DateTimeOffset.UtcNow;
        Timers.StartPeriodicTimer(Poll.Instance, Poll.Instance, _pollInterval);
    }

    protected override void PostStop()
    {
        if (_process is { } process)
        {
            // Stopped without a StopFuzzer (the node shuts down): still give the engine a moment to end its
            // children (AFL++'s forkserver leaves its own group), then kill whatever is left.
            ProcessGroups.Terminate(process.Id);
            process.WaitForExit(TimeSpan.FromSeconds(2));
            ProcessGroups.KillGroup(process.Id);
            _log.Info("Killed the process group {Pid} of {Engine}", process.Id, _engine.Name);
            File.Delete(_dir.PidFile);
        }

        _deadMansSwitch?.Release();
        _run.Dispose();
    }

    private void Read(string line)
    {
        if (_tail.Count == TailLines)
        {
            _tail.Dequeue();
        }

        _tail.Enqueue(line);
        switch (_engine.Read(line))
        {
            case EngineLine.Stats stats:
                // Output lines carry one event each; the parent wants the running total of imports.
                _imported += stats.Value.Imported;
                _printed = stats.Value;
                Send(stats.Value with { Imported = _imported });
                break;
            case EngineLine.ReportStarted:
                // A report has several marker lines (ERROR, SUMMARY); the first one starts the capture.
                if (!_capturing)
                {
                    _capturing = true;
                    _report.Clear();
                }

                Append(line);
                break;
            case EngineLine.ArtifactWritten written:
                Append(line);
                ReportArtifact(written.Path);
                _capturing = false;
                _report.Clear();
                break;
            default:
                if (_capturing)
                {
                    Append(line);
                }

                break;
        }
    }

    // A child that ended just before its run printed may be counted twice: the executions sent never go back.
    private void Send(FuzzerStats stats)
    {
        _sentExecs = Math.Max(_sentExecs, stats.Execs);
        Context.Parent.Tell(stats with { Execs = _sentExecs });
    }

    private void PollFiles()
    {
        if (_engine.ReadStatsFiles(_dir) is { } stats)
        {
            Context.Parent.Tell(stats);
        }

        if (_engine.ReadLiveStats(_dir, _printed) is { } live)
        {
            Send(live with { Imported = _imported });
        }

        if (!_engine.AnnouncesFindings)
        {
            ScanFindings();
        }
    }

    // A fuzzer always computes: one whose CPU time stands still is stopped, deadlocked or stuck in the kernel.
    private void Watch()
    {
        if (_process is not { } process || _stalled)
        {
            return;
        }

        // Reading every /proc/*/stat costs the cores the fuzzers run on: a look per sixth of the timeout is enough.
        var now = DateTimeOffset.UtcNow;
        if (now - _lastCpuLook < _stallTimeout / 6)
        {
            return;
        }

        _lastCpuLook = now;
        var ticks = ProcessGroups.CpuTicks(process.Id);
        if (ticks != _cpuTicks)
        {
            _cpuTicks = ticks;
            _lastProgress = now;
            return;
        }

        if (now - _lastProgress >= _stallTimeout)
        {
            _stalled = true;
            _log.Warning("{Engine} pid {Pid} used no CPU for {Stalled}: killing its process group", _engine.Name, process.Id, now - _lastProgress);
            ProcessGroups.KillGroup(process.Id);
        }
    }

    private void ScanFindings()
    {
        foreach (var directory in _engine.FindingDirectories(_dir))
        {
            if (Directory.Exists(directory))
            {
                foreach (var file in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
                {
                    ReportArtifact(file);
                }
            }
        }
    }

    private void Append(string line)
    {
        if (_report.Length + line.Length + 1 <= _maxReportBytes)
        {
            _report.Append(line).Append('\n');
        }
    }

    private void ReportArtifact(string path)
    {
        var full = Path.GetFullPath(path, _dir.Root);
        var kind = _engine.FindingKind(full);
        if (kind is null || _reported.Contains(full))
        {
            return;
        }

        // The target can plant links, FIFOs and hard links among its findings: only a regular file of its own is one.
        using (var file = UntrustedFiles.Open(_dir.Root, full, long.MaxValue, out var refusal))
        {
            if (file is null)
            {
                if (refusal != UntrustedFiles.NotFound)
                {
                    _reported.Add(full);
                    _log.Warning("{Engine} in {WorkDir}: {Artifact} is not taken as a finding: {Refusal}", _engine.Name, _dir.Root, full, refusal);
                }

                return;
            }
        }

        _reported.Add(full);

        // An engine that keeps reports in files gives this finding's own; the lines captured from the output may be another's.
        var report = _engine.FindingReport(_dir, full, _maxReportBytes) ?? (_report.Length > 0 ? _report.ToString() : string.Join('\n', _tail));
        Context.Parent.Tell(new ArtifactFound(full, kind, report, DateTimeOffset.UtcNow));
    }

    private sealed record OutputLines(IReadOnlyList<string> Lines);

    private sealed record Exited(int Code);

    private sealed record Poll
    {
        public static readonly Poll Instance = new();
    }

    private sealed record ForceKill
    {
        public static readonly ForceKill Instance = new();
    }
}
