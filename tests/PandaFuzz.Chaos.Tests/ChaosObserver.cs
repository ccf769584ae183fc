using System.Security.Cryptography;

namespace PandaFuzz.Chaos.Tests;

/// <summary>
/// Watches the bots' job dirs while chaos runs: every crash input a fuzzer writes (libFuzzer's <c>artifacts/crash-*</c>
/// and its leak, timeout and OOM files) by content hash, and which bots run a fuzzer for which job, to measure how long
/// any job ran on two bots at once. Sampling is bounded: every <see cref="Interval"/> until disposed.
/// </summary>
public sealed class ChaosObserver : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private static readonly string[] ArtifactPrefixes = ["crash-", "leak-", "timeout-", "oom-"];

    private readonly IReadOnlyDictionary<string, string> _botDataDirs;
    private readonly IReadOnlySet<string> _jobs;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _gate = new();
    private readonly HashSet<string> _inputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _doubleSince = [];
    private TimeSpan _longestDouble;
    private int _samples;

    /// <param name="botDataDirs">Bot name → its data dir.</param>
    /// <param name="jobs">The fuzzing jobs to watch (minimization jobs write other files).</param>
    public ChaosObserver(IReadOnlyDictionary<string, string> botDataDirs, IReadOnlySet<string> jobs)
    {
        _botDataDirs = botDataDirs;
        _jobs = jobs;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The sha256 of every crash input seen in a fuzzing job's artifact dir.</summary>
    public IReadOnlySet<string> CrashInputs
    {
        get
        {
            lock (_gate)
            {
                return _inputs.ToHashSet(StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The longest time any job had fuzzer processes on two bots at once.</summary>
    public TimeSpan LongestDoubleRun
    {
        get
        {
            lock (_gate)
            {
                var open = _doubleSince.Values.Select(since => DateTime.UtcNow - since).DefaultIfEmpty(TimeSpan.Zero).Max();
                return open > _longestDouble ? open : _longestDouble;
            }
        }
    }

    public int Samples => Volatile.Read(ref _samples);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        var tick = 0;
        while (!_stop.IsCancellationRequested)
        {
            ScanArtifacts();
            // pgrep costs a process start: the overlap is sampled every 5th tick (0.5 s).
            if (tick++ % 5 == 0)
            {
                SampleRunningCopies();
            }

            Interlocked.Increment(ref _samples);
            try
            {
                await Task.Delay(Interval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void ScanArtifacts()
    {
        foreach (var dataDir in _botDataDirs.Values)
        {
            foreach (var job in _jobs)
            {
                var artifacts = Path.Combine(dataDir, "bot", "jobs", job, "artifacts");
                if (!Directory.Exists(artifacts))
                {
                    continue;
                }

                try
                {
                    foreach (var file in Directory.EnumerateFiles(artifacts))
                    {
                        var name = Path.GetFileName(file);
                        if (ArtifactPrefixes.FirstOrDefault(p => name.StartsWith(p, StringComparison.Ordinal)) is not { } prefix)
                        {
                            continue;
                        }

                        // libFuzzer names an artifact after the SHA-1 of its bytes: a file still being written does not match yet.
                        var bytes = File.ReadAllBytes(file);
#pragma warning disable CA5350 // SHA-1 only checks libFuzzer's own naming, it protects nothing.
                        if (!string.Equals(Convert.ToHexStringLower(SHA1.HashData(bytes)), name[prefix.Length..], StringComparison.Ordinal))
#pragma warning restore CA5350
                        {
                            continue;
                        }

                        lock (_gate)
                        {
                            _inputs.Add(Convert.ToHexStringLower(SHA256.HashData(bytes)));
                        }
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The runner moved the file away while we looked: it was seen on an earlier tick or its report is in the log.
                }
            }
        }
    }

    private void SampleRunningCopies()
    {
        var now = DateTime.UtcNow;
        var copies = _jobs.ToDictionary(j => j, _ => 0);
        foreach (var dataDir in _botDataDirs.Values)
        {
            IReadOnlyList<string> processes;
            try
            {
                processes = Testing.ProcessTools.FindByCommandLine(Path.Combine(dataDir, "bot", "jobs"));
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                continue;
            }

            foreach (var job in _jobs)
            {
                if (processes.Any(p => p.Contains($"/jobs/{job}/", StringComparison.Ordinal)))
                {
                    copies[job]++;
                }
            }
        }

        lock (_gate)
        {
            foreach (var (job, count) in copies)
            {
                if (count > 1)
                {
                    _doubleSince.TryAdd(job, now);
                }
                else if (_doubleSince.Remove(job, out var since) && now - since > _longestDouble)
                {
                    _longestDouble = now - since;
                }
            }
        }
    }
}
