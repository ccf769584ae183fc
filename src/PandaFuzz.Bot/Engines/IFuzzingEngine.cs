using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Engines;

/// <summary>One fuzzing engine, so that the process and runner actors know nothing engine-specific.</summary>
public interface IFuzzingEngine
{
    /// <summary>The engine's name in the API ("libfuzzer", "aflplusplus").</summary>
    string Name { get; }

    /// <summary>The installed version, or null when the engine cannot run on this machine.</summary>
    string? DetectVersion();

    FuzzerLaunch Launch(JobSpec spec, JobWorkDir dir, TimeSpan runFor);

    /// <summary>Runs the target once on the input, printing the sanitizer report.</summary>
    FuzzerLaunch Reproduce(JobSpec spec, JobWorkDir dir, string input);

    /// <summary>Reads one output line; called for every line, so it must be cheap.</summary>
    EngineLine Read(string line);

    /// <summary>Progress kept in files (AFL++'s fuzzer_stats), read by polling; null when the engine reports on its output.</summary>
    FuzzerStats? ReadStatsFiles(JobWorkDir dir);

    /// <summary>True when the output names each finding's file (libFuzzer); false when the finding directories must be polled.</summary>
    bool AnnouncesFindings { get; }

    IReadOnlyList<string> FindingDirectories(JobWorkDir dir);

    /// <summary>The kind of a finding file ("crash", "timeout", "out-of-memory", "leak"), or null if the file is not one.</summary>
    string? FindingKind(string path);

    /// <summary>A report kept in files (libFuzzer -fork's children); empty when this finding has none, null when reports go to the output.</summary>
    string? FindingReport(JobWorkDir dir, string artifact, int maxBytes) => null;

    /// <summary>Figures from files, for output that lags (libFuzzer -fork prints as each child ends, after up to 300 s); null when none newer.</summary>
    FuzzerStats? ReadLiveStats(JobWorkDir dir, FuzzerStats? reported) => null;

    /// <summary>Whether a run takes in inputs added to its import directory while it runs (libFuzzer -fork reads it only at its start).</summary>
    bool ReadsImportsWhileRunning => true;

    string CorpusDirectory(JobWorkDir dir);

    /// <summary>False for the engine's state and temp files.</summary>
    bool IsCorpusEntry(string path);

    string ImportDirectory(JobWorkDir dir);

    string ImportFileName(BlobId input, int sequence);

    FuzzerLaunch MinimizeCorpus(JobSpec spec, JobWorkDir dir, string input, string output);

    FuzzerLaunch MinimizeCrash(JobSpec spec, JobWorkDir dir, string input, string output, TimeSpan timeLimit);

    FuzzerLaunch MeasureCoverage(JobSpec spec, JobWorkDir dir, string corpus);

    /// <summary>libFuzzer: cov and ft; AFL++: tuples.</summary>
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

    /// <summary>The build's CMPLOG binary, for an AFL++ secondary that runs it (<c>-c</c>).</summary>
    public string CmplogTarget => Path.Combine(Root, "target.cmplog");

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

    /// <summary>The job's start message, so a restarted bot knows whose findings the dir holds.</summary>
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

/// <summary>An engine that fuzzes inside the bot as an actor speaking the fuzzer process actor's protocol (the simulated one).</summary>
public interface IInProcessEngine
{
    Akka.Actor.Props Run(JobSpec spec, JobWorkDir dir, TimeSpan runFor);
}
