using PandaFuzz.Domain.Engines;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Engines;

/// <summary>libFuzzer with <c>-fork=1 -ignore_*</c>: a plain run stops at each bug and finds the shallow one again at every restart.</summary>
/// <param name="fork">Off: a plain run, which stops at its first finding (<c>pandafuzz.bot.libfuzzer-fork</c>).</param>
public sealed class LibFuzzerEngine(bool fork = true) : IFuzzingEngine
{
    public string Name => EngineNames.LibFuzzer;

    /// <summary>A -fork run does not print its children's "Test unit written to" lines: the artifact dir is scanned.</summary>
    public bool AnnouncesFindings => !fork;

    /// <summary>A plain run reloads its corpus dir (<c>-reload</c>); a -fork run hands its children what it read at its start.</summary>
    public bool ReadsImportsWhileRunning => !fork;

    public static readonly IReadOnlyList<string> ForkFlags = ["-fork=1", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"];

    /// <summary>libFuzzer ships inside each target; the clang on the bot (if any) tells the version people will recognise.</summary>
    public string? DetectVersion()
    {
        var first = ToolProbe.FirstLine("clang", "--version");
        var at = first?.IndexOf("version ", StringComparison.Ordinal) ?? -1;
        return at < 0 ? "linked-in" : "clang-" + first![(at + 8)..].Split(' ', '-')[0];
    }

    public FuzzerLaunch Launch(JobSpec spec, JobWorkDir dir, TimeSpan runFor)
    {
        var args = new List<string>(fork ? ForkFlags : [])
        {
            $"-max_total_time={Math.Max(1, (int)runFor.TotalSeconds)}",
            $"-rss_limit_mb={spec.MemoryLimitMb}",
            $"-timeout={TimeoutSeconds(spec)}",
            $"-artifact_prefix={dir.Artifacts}/",
            "-print_final_stats=1",
        };
        args.AddRange(EngineOptionRules.LibFuzzerArguments(spec.Options));
        if (spec.Dictionary is not null)
        {
            args.Add($"-dict={dir.Dictionary}");
        }

        args.Add(dir.Corpus);
        var sanitizers = EngineOptionRules.SanitizerEnvironment(SanitizerEnvironment, spec.Options);
        return new FuzzerLaunch(dir.Target, args, dir.Root, fork ? ForkEnvironment(dir, sanitizers) : sanitizers);
    }

    // A -fork run relays only the ERROR line of each child's report: the sanitizers write whole reports to files of their own.
    private static Dictionary<string, string> ForkEnvironment(JobWorkDir dir, IReadOnlyDictionary<string, string> sanitizers)
    {
        var environment = sanitizers.ToDictionary(e => e.Key, e => $"{e.Value}:{SanitizerLogFiles.LogPathOption(dir)}");
        // The children's logs (libFuzzerTemp.FuzzWithFork<pid>.dir/<job>.log) where the bot reads them: ReadLiveStats.
        environment["TMPDIR"] = dir.EngineTemp;
        return environment;
    }

    private const int LiveTailBytes = 8 * 1024;

    /// <summary>A -fork child runs up to 300 s before the run prints; its log (the target's file, read as such) has its last status.</summary>
    public FuzzerStats? ReadLiveStats(JobWorkDir dir, FuzzerStats? reported)
    {
        if (!fork || !Directory.Exists(dir.EngineTemp) || new DirectoryInfo(dir.EngineTemp).LinkTarget is not null)
        {
            return null;
        }

        FileInfo? newest = null;
        foreach (var folder in new DirectoryInfo(dir.EngineTemp).EnumerateDirectories("libFuzzerTemp.FuzzWithFork*.dir"))
        {
            if (folder.LinkTarget is not null)
            {
                continue;
            }

            foreach (var log in folder.EnumerateFiles("*.log"))
            {
                if (newest is null || log.LastWriteTimeUtc > newest.LastWriteTimeUtc)
                {
                    newest = log;
                }
            }
        }

        if (newest is null)
        {
            return null;
        }

        using var file = Sandboxing.UntrustedFiles.Open(dir.Root, newest.FullName, long.MaxValue, out _);
        if (file is null)
        {
            return null;
        }

        var from = Math.Max(0, file.Length - LiveTailBytes);
        file.Stream.Seek(from, SeekOrigin.Begin);
        var buffer = new byte[file.Length - from];
        var read = file.Stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        var lines = System.Text.Encoding.UTF8.GetString(buffer, 0, read).Split('\n');
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            if (LibFuzzerOutputParser.TryParseStatus(lines[i], out var child) && child.Kind != LibFuzzerStatusKind.Fork)
            {
                var before = reported ?? FuzzerStats.Empty(DateTimeOffset.UtcNow);
                return before with
                {
                    Execs = before.Execs + child.Execs,
                    ExecsPerSecond = child.ExecsPerSecond ?? before.ExecsPerSecond,
                    Coverage = Math.Max(before.Coverage, child.Coverage ?? 0),
                    Features = Math.Max(before.Features, child.Features ?? 0),
                    CorpusUnits = Math.Max(before.CorpusUnits, child.CorpusUnits ?? 0),
                    CorpusBytes = Math.Max(before.CorpusBytes, child.CorpusBytes ?? 0),
                    RssMb = child.RssMb ?? before.RssMb,
                    At = DateTimeOffset.UtcNow,
                };
            }
        }

        return null;
    }

    /// <summary>A -fork run's findings are paired with their children's report files (<see cref="SanitizerLogFiles"/>).</summary>
    public string? FindingReport(JobWorkDir dir, string artifact, int maxBytes) =>
        fork ? SanitizerLogFiles.ReportFor(dir, artifact, maxBytes) : null;

    public FuzzerLaunch Reproduce(JobSpec spec, JobWorkDir dir, string input)
    {
        var command = Reproduction.For(spec);
        return new(dir.Target, [.. command.Arguments, input], dir.Root, command.Environment);
    }

    public EngineLine Read(string line)
    {
        if (LibFuzzerOutputParser.TryParseStatus(line, out var status))
        {
            return new EngineLine.Stats(new FuzzerStats(
                status.Execs,
                status.ExecsPerSecond ?? 0,
                status.Coverage ?? 0,
                status.Features ?? 0,
                status.CorpusUnits ?? 0,
                status.CorpusBytes ?? 0,
                status.RssMb ?? 0,
                DateTimeOffset.UtcNow,
                // A -fork run counts its children that crashed (an OOM is a crash too) and timed out.
                Crashes: status.Failures is { } failed ? failed.Crashes + failed.Ooms : 0,
                Hangs: status.Failures?.Timeouts ?? 0,
                // A RELOAD line means inputs other jobs put in the corpus dir added coverage: one import event.
                Imported: status.Kind == LibFuzzerStatusKind.Reload ? 1 : 0));
        }

        if (LibFuzzerOutputParser.TryParseArtifactWritten(line, out var path))
        {
            return new EngineLine.ArtifactWritten(path);
        }

        return LibFuzzerOutputParser.IsCrashReportStart(line) ? new EngineLine.ReportStarted() : EngineLine.Other;
    }

    public FuzzerStats? ReadStatsFiles(JobWorkDir dir) => null;

    public IReadOnlyList<string> FindingDirectories(JobWorkDir dir) => [dir.Artifacts];

    /// <summary>Slow units (over -report_slow_units) are written like findings but crashed nothing.</summary>
    public string? FindingKind(string path) =>
        SanitizerReportParser.ArtifactKind(path) is { } kind && kind != CrashKinds.SlowUnit ? kind : null;

    public string CorpusDirectory(JobWorkDir dir) => dir.Corpus;

    public bool IsCorpusEntry(string path) => !Path.GetFileName(path).StartsWith('.');

    /// <summary>libFuzzer reloads its corpus dir every second by default (-reload), so imports go straight in.</summary>
    public string ImportDirectory(JobWorkDir dir) => dir.Corpus;

    public string ImportFileName(BlobId input, int sequence) => input.Sha256;

    public FuzzerLaunch MinimizeCorpus(JobSpec spec, JobWorkDir dir, string input, string output) =>
        new(dir.Target, [$"-rss_limit_mb={spec.MemoryLimitMb}", $"-timeout={TimeoutSeconds(spec)}", "-merge=1", output, input], dir.Root, SanitizerEnvironment);

    // Each step of -minimize_crash fuzzes until it finds a smaller crash; -runs ends a step that cannot, else the last
    // step alone takes the whole time limit.
    public const int MinimizeCrashRunsPerStep = 100_000;

    public FuzzerLaunch MinimizeCrash(JobSpec spec, JobWorkDir dir, string input, string output, TimeSpan timeLimit) =>
        new(dir.Target,
            [$"-rss_limit_mb={spec.MemoryLimitMb}", $"-timeout={TimeoutSeconds(spec)}", "-minimize_crash=1", $"-runs={MinimizeCrashRunsPerStep}", $"-exact_artifact_path={output}",
                $"-max_total_time={Math.Max(1, (int)timeLimit.TotalSeconds)}", input],
            dir.Root, SanitizerEnvironment);

    public FuzzerLaunch MeasureCoverage(JobSpec spec, JobWorkDir dir, string corpus) =>
        new(dir.Target, [$"-rss_limit_mb={spec.MemoryLimitMb}", $"-timeout={TimeoutSeconds(spec)}", "-runs=0", corpus], dir.Root, SanitizerEnvironment);

    /// <summary>The INITED line (or the last status line) of a -runs=0 pass carries cov and ft.</summary>
    public CorpusCoverage? ReadCoverage(string output)
    {
        CorpusCoverage? last = null;
        foreach (var line in output.Split('\n'))
        {
            if (LibFuzzerOutputParser.TryParseStatus(line, out var status) && status.Coverage is { } cov)
            {
                last = new CorpusCoverage(cov, status.Features ?? 0);
                if (status.Kind == LibFuzzerStatusKind.Inited)
                {
                    return last;
                }
            }
        }

        return last;
    }


    private static readonly IReadOnlyDictionary<string, string> SanitizerEnvironment = Reproduction.Sanitizers;

    private static int TimeoutSeconds(JobSpec spec) => Reproduction.TimeoutSeconds(spec.TimeoutMs);
}
