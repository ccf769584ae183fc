using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Engines;

/// <summary>
/// What the actors need to know of one fuzzing engine: how to launch it, how to read its output and how to
/// name what it leaves behind. The process and runner actors know nothing engine-specific.
/// </summary>
public interface IFuzzingEngine
{
    /// <summary>The engine's name in the API ("libfuzzer").</summary>
    string Name { get; }

    /// <summary>The installed version, or null when the engine cannot run on this machine.</summary>
    string? DetectVersion();

    /// <summary>The program and arguments of one fuzzing run that must end after <paramref name="runFor"/>.</summary>
    FuzzerLaunch Launch(JobSpec spec, JobWorkDir dir, TimeSpan runFor);

    /// <summary>Reads one output line; called off the fuzzer's hot path, on the reader thread.</summary>
    EngineLine Read(string line);

    /// <summary>Whether a file in the artifact dir is a finding, and of which kind.</summary>
    string? ArtifactKind(string fileName);

    /// <summary>Turns the captured report of a finding into its kind, summary and stack.</summary>
    (string Kind, string Summary, IReadOnlyList<string> Stack) DescribeFinding(string artifactKind, string report);
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

    public string Corpus => Path.Combine(Root, "corpus");

    public string Artifacts => Path.Combine(Root, "artifacts");

    public string Dictionary => Path.Combine(Root, "dictionary.txt");

    public string PidFile => Path.Combine(Root, "fuzzer.pid");

    public void Create()
    {
        Directory.CreateDirectory(Corpus);
        Directory.CreateDirectory(Artifacts);
    }
}
