using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Engines;

/// <summary>
/// Everything the actors need to know of one fuzzing engine: how to launch it, how to read its progress,
/// where its findings and new inputs appear, where inputs from other jobs go, how to run one input.
/// The process and runner actors know nothing engine-specific; a new engine is a new implementation.
/// </summary>
public interface IFuzzingEngine
{
    /// <summary>The engine's name in the API ("libfuzzer", "aflplusplus").</summary>
    string Name { get; }

    /// <summary>The installed version, or null when the engine cannot run on this machine.</summary>
    string? DetectVersion();

    /// <summary>The program and arguments of one fuzzing run that must end after <paramref name="runFor"/>.</summary>
    FuzzerLaunch Launch(JobSpec spec, JobWorkDir dir, TimeSpan runFor);

    /// <summary>The program and arguments that run the target once on <paramref name="input"/>, printing the sanitizer report.</summary>
    FuzzerLaunch Reproduce(JobSpec spec, JobWorkDir dir, string input);

    /// <summary>Reads one output line; called for every line, so it must be cheap.</summary>
    EngineLine Read(string line);

    /// <summary>Progress kept in files (AFL++'s fuzzer_stats), read by polling; null when the engine reports on its output.</summary>
    FuzzerStats? ReadStatsFiles(JobWorkDir dir);

    /// <summary>
    /// True when the engine prints each finding's report and names its file on its output (libFuzzer), so
    /// the finding directories only need a look when the process ends; false when they must be polled.
    /// </summary>
    bool AnnouncesFindings { get; }

    /// <summary>Where the engine writes findings.</summary>
    IReadOnlyList<string> FindingDirectories(JobWorkDir dir);

    /// <summary>The kind of a finding file ("crash", "timeout", "out-of-memory", "leak"), or null if the file is not one.</summary>
    string? FindingKind(string path);

    /// <summary>
    /// The report of a finding kept in files beside it (a libFuzzer -fork run's children write theirs to sanitizer log
    /// files), empty when the engine keeps them so but has none for this finding, or null when the engine prints its
    /// reports on its output (the process actor then takes what it captured there).
    /// </summary>
    string? FindingReport(JobWorkDir dir, string artifact, int maxBytes) => null;

    /// <summary>
    /// The run's figures now, for an engine whose output lags them (libFuzzer -fork prints a line only as each child
    /// ends, after up to 300 s): read from its files and added to <paramref name="reported"/>, the last figures it printed.
    /// Null when there is nothing newer.
    /// </summary>
    FuzzerStats? ReadLiveStats(JobWorkDir dir, FuzzerStats? reported) => null;

    /// <summary>Whether a run takes in inputs added to its import directory while it runs (libFuzzer -fork reads it only at its start).</summary>
    bool ReadsImportsWhileRunning => true;

    /// <summary>Where the engine puts the new interesting inputs it finds.</summary>
    string CorpusDirectory(JobWorkDir dir);

    /// <summary>Whether a file in <see cref="CorpusDirectory"/> is an input (not a state or temp file).</summary>
    bool IsCorpusEntry(string path);

    /// <summary>Where inputs found by other jobs are put so that the engine takes them in while it runs.</summary>
    string ImportDirectory(JobWorkDir dir);

    /// <summary>The file name under which the <paramref name="sequence"/>-th imported input is written.</summary>
    string ImportFileName(BlobId input, int sequence);

    /// <summary>The command that writes a smallest subset of <paramref name="input"/> with the same coverage into <paramref name="output"/>.</summary>
    FuzzerLaunch MinimizeCorpus(JobSpec spec, JobWorkDir dir, string input, string output);

    /// <summary>The command that shrinks the crashing <paramref name="input"/> into <paramref name="output"/>, keeping the crash.</summary>
    FuzzerLaunch MinimizeCrash(JobSpec spec, JobWorkDir dir, string input, string output, TimeSpan timeLimit);

    /// <summary>The command that runs every input of <paramref name="corpus"/> once and prints the coverage reached.</summary>
    FuzzerLaunch MeasureCoverage(JobSpec spec, JobWorkDir dir, string corpus);

    /// <summary>The coverage printed by <see cref="MeasureCoverage"/> as comparable numbers (libFuzzer: cov and ft; AFL++: tuples), or null.</summary>
    CorpusCoverage? ReadCoverage(string output);
}

/// <summary>Coverage of a corpus: edges (cov, tuples) and, where the engine has them, features.</summary>
public sealed record CorpusCoverage(long Edges, long Features)
{
    public override string ToString() => Features > 0 ? $"cov {Edges} ft {Features}" : $"{Edges} edges";
}

/// <summary>A process to start: program, arguments, working directory and extra environment.</summary>
public sealed record FuzzerLaunch(string Program, IReadOnlyList<string> Arguments, string WorkingDirectory, IReadOnlyDictionary<string, string> Environment);

/// <summary>What one output line means to the actors.</summary>
public abstract record EngineLine
{
    public static readonly EngineLine Other = new OtherLine();

    public sealed record Stats(FuzzerStats Value) : EngineLine;

    public sealed record ReportStarted : EngineLine;

    public sealed record ArtifactWritten(string Path) : EngineLine;

    public sealed record OtherLine : EngineLine;
}

/// <summary>The folders of one job on the bot's disk.</summary>
public sealed record JobWorkDir(string Root)
{
    public string Target => Path.Combine(Root, "target");

    /// <summary>libFuzzer's corpus; AFL++'s seeds.</summary>
    public string Corpus => Path.Combine(Root, "corpus");

    public string Artifacts => Path.Combine(Root, "artifacts");

    /// <summary>AFL++'s output (sync) directory.</summary>
    public string Output => Path.Combine(Root, "out");

    public string Dictionary => Path.Combine(Root, "dictionary.txt");

    public string PidFile => Path.Combine(Root, "fuzzer.pid");

    /// <summary>Where sanitizers write their reports in runs that keep them in files (<c>log_path</c>).</summary>
    public string SanitizerLogs => Path.Combine(Root, "sanitizer-logs");

    /// <summary>The engine's temporary folder (<c>TMPDIR</c>) where the bot reads it: libFuzzer -fork keeps its children's logs there.</summary>
    public string EngineTemp => Path.Combine(Root, "tmp");

    /// <summary>The job's start message, written when the job starts, so a restarted bot knows whose findings the dir holds.</summary>
    public string JobMessage => Path.Combine(Root, "job.msg");

    public void Create()
    {
        Directory.CreateDirectory(Corpus);
        Directory.CreateDirectory(Artifacts);
        Directory.CreateDirectory(Output);
        Directory.CreateDirectory(SanitizerLogs);
        Directory.CreateDirectory(EngineTemp);
    }
}

/// <summary>
/// An engine whose fuzzing runs inside the bot as an actor rather than as a process (the simulated engine): the actor
/// speaks the fuzzer process actor's protocol to its parent (<see cref="FuzzerStats"/>, <c>ArtifactFound</c>,
/// <c>FuzzerExited</c>, and it takes <c>StopFuzzer</c>). Reproduction and minimization still run as processes.
/// </summary>
public interface IInProcessEngine
{
    Akka.Actor.Props Run(JobSpec spec, JobWorkDir dir, TimeSpan runFor);
}
