using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Simulation;

/// <summary>One run of the simulated engine: each tick reports stats and writes the inputs due, so findings take the real path.</summary>
public sealed class SimulatedFuzzerActor : ReceiveActor, IWithTimers
{
    private readonly JobWorkDir _dir;
    private readonly TimeSpan _runFor;
    private SimulatedTarget _target = SimulatedTarget.Default;
    private DateTimeOffset _started;
    private double _crashesDue;
    private double _inputsDue;
    private long _crashes;
    private long _inputs;
    private DateTimeOffset? _lastFind;

    public SimulatedFuzzerActor(JobWorkDir dir, TimeSpan runFor)
    {
        _dir = dir;
        _runFor = runFor;
        Receive<Tick>(_ => OnTick());
        Receive<TimeUp>(_ => Exit(0, $"simulated fuzzing ended after {_runFor.TotalSeconds:0} s"));
        Receive<StopFuzzer>(_ => Exit(0, "simulated fuzzing stopped"));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        var (target, error) = File.Exists(_dir.Target)
            ? SimulatedTarget.Parse(File.ReadAllText(_dir.Target))
            : (null, "the target file is missing");
        if (target is null)
        {
            Exit(1, $"simulated: {error}");
            return;
        }

        _target = target;
        _started = DateTimeOffset.UtcNow;
        // A random phase, so jobs started together do not all find their first crash in the same tick.
        _crashesDue = Random.Shared.NextDouble();
        _inputsDue = Random.Shared.NextDouble();
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, target.Tick);
        Timers.StartSingleTimer(TimeUp.Instance, TimeUp.Instance, _runFor);
    }

    private void OnTick()
    {
        var now = DateTimeOffset.UtcNow;
        var seconds = _target.Tick.TotalSeconds;
        _crashesDue += _target.CrashesPerMinute * seconds / 60;
        _inputsDue += _target.InputsPerMinute * seconds / 60;
        for (; _inputsDue >= 1; _inputsDue--)
        {
            var input = Encoding.UTF8.GetBytes($"simulated input {Guid.NewGuid():N}\n");
            File.WriteAllBytes(Path.Combine(_dir.Corpus, Convert.ToHexStringLower(SHA1.HashData(input))), input);
            _inputs++;
        }

        for (; _crashesDue >= 1; _crashesDue--)
        {
            Crash(now);
        }

        var elapsed = (now - _started).TotalSeconds;
        Context.Parent.Tell(new FuzzerStats(
            (long)(_target.ExecsPerSecond * elapsed),
            _target.ExecsPerSecond,
            Coverage: 10 + (long)(20 * Math.Log(1 + elapsed)) + _inputs,
            Features: 20 + (long)(40 * Math.Log(1 + elapsed)) + _inputs,
            CorpusUnits: 1 + _inputs,
            CorpusBytes: 1 + 50 * _inputs,
            RssMb: 0,
            now,
            Crashes: _crashes,
            LastFindAt: _lastFind));
    }

    private void Crash(DateTimeOffset now)
    {
        var bug = Random.Shared.Next(_target.Signatures);
        var input = Encoding.UTF8.GetBytes($"{SimulatedEngine.CrashMagic} {bug} {Guid.NewGuid():N}\n");
        var path = Path.Combine(_dir.Artifacts, "crash-" + Convert.ToHexStringLower(SHA1.HashData(input)));
        File.WriteAllBytes(path, input);
        _crashes++;
        _lastFind = now;
        var report = SimulatedEngine.Report(bug);
        Context.Parent.Tell(new ArtifactFound(path, CrashKinds.Crash, report, now));
    }

    private void Exit(int code, string tail)
    {
        Context.Parent.Tell(new FuzzerExited(code, tail));
        Context.Stop(Self);
    }

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record TimeUp
    {
        public static readonly TimeUp Instance = new();
    }
}
