using PandaFuzz.Infrastructure.Actors;
using System.Globalization;
using Akka.Actor;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Simulation;

/// <summary>
/// Fuzzing simulated by an actor at the rates its target file sets, so many bots on one machine can drive the control
/// plane; its findings take the real path, and a crash input's reproduction prints a report with a per-bug signature.
/// </summary>
public sealed class SimulatedEngine : IFuzzingEngine, IInProcessEngine
{
    /// <summary>The first line of every crash input the simulated fuzzer writes; the bug's number follows it.</summary>
    public const string CrashMagic = "pandafuzz-simulated-crash";

    private const string ReproduceScript =
        """
        read -r magic bug rest < "$1" || exit 0
        [ "$magic" = "pandafuzz-simulated-crash" ] || exit 0
        case "$bug" in ''|*[!0-9]*) exit 0 ;; esac
        printf '==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000010 at pc 0x1 bp 0x2 sp 0x3\n' >&2
        printf 'READ of size 1 at 0x602000000010 thread T0\n' >&2
        printf '    #0 0x1 in simulated_bug_%s /pandafuzz/simulated/target.c:%s:3\n' "$bug" "$bug" >&2
        printf '    #1 0x2 in LLVMFuzzerTestOneInput /pandafuzz/simulated/target.c:1000000:3\n' >&2
        printf 'SUMMARY: AddressSanitizer: heap-buffer-overflow /pandafuzz/simulated/target.c:%s:3 in simulated_bug_%s\n' "$bug" "$bug" >&2
        exit 1
        """;

    /// <summary>What the reproduction script prints for the bug, line for line.</summary>
    public static string Report(int bug) =>
        $"""
        ==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000010 at pc 0x1 bp 0x2 sp 0x3
        READ of size 1 at 0x602000000010 thread T0
            #0 0x1 in simulated_bug_{bug} /pandafuzz/simulated/target.c:{bug}:3
            #1 0x2 in LLVMFuzzerTestOneInput /pandafuzz/simulated/target.c:1000000:3
        SUMMARY: AddressSanitizer: heap-buffer-overflow /pandafuzz/simulated/target.c:{bug}:3 in simulated_bug_{bug}
        """;

    public string Name => EngineNames.Simulated;

    public bool AnnouncesFindings => true;

    public string? DetectVersion() => "pandafuzz-simulated-1";

    public Props Run(JobSpec spec, JobWorkDir dir, TimeSpan runFor) => ActorProps.Of(() => new SimulatedFuzzerActor(dir, runFor));

    /// <summary>Never started (<see cref="Run"/> takes its place): for logs.</summary>
    public FuzzerLaunch Launch(JobSpec spec, JobWorkDir dir, TimeSpan runFor) =>
        new("simulated", [dir.Target, $"{(int)runFor.TotalSeconds}s"], dir.Root, new Dictionary<string, string>());

    public FuzzerLaunch Reproduce(JobSpec spec, JobWorkDir dir, string input) => Shell(dir, ReproduceScript, input);

    public EngineLine Read(string line) => EngineLine.Other;

    public FuzzerStats? ReadStatsFiles(JobWorkDir dir) => null;

    public IReadOnlyList<string> FindingDirectories(JobWorkDir dir) => [dir.Artifacts];

    public string? FindingKind(string path) => Path.GetFileName(path).StartsWith("crash-", StringComparison.Ordinal) ? CrashKinds.Crash : null;

    public string CorpusDirectory(JobWorkDir dir) => dir.Corpus;

    public bool IsCorpusEntry(string path) => !Path.GetFileName(path).StartsWith('.');

    public string ImportDirectory(JobWorkDir dir) => dir.Corpus;

    public string ImportFileName(BlobId input, int sequence) => input.Sha256;

    public FuzzerLaunch MinimizeCorpus(JobSpec spec, JobWorkDir dir, string input, string output) =>
        Shell(dir, """for f in "$1"/* ; do [ -f "$f" ] && cp -- "$f" "$2"/ ; done ; exit 0""", input, output);

    public FuzzerLaunch MinimizeCrash(JobSpec spec, JobWorkDir dir, string input, string output, TimeSpan timeLimit) =>
        Shell(dir, """cp -- "$1" "$2" """, input, output);

    public FuzzerLaunch MeasureCoverage(JobSpec spec, JobWorkDir dir, string corpus) =>
        Shell(dir, """echo "simulated-coverage $(ls -A "$1" | wc -l)" """, corpus);

    public CorpusCoverage? ReadCoverage(string output)
    {
        foreach (var line in output.Split('\n'))
        {
            var parts = line.Trim().Split(' ');
            if (parts is ["simulated-coverage", var count] && long.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var edges))
            {
                return new CorpusCoverage(edges, 0);
            }
        }

        return null;
    }

    private static FuzzerLaunch Shell(JobWorkDir dir, string script, params string[] arguments) =>
        new("/bin/sh", ["-c", script, "simulated", .. arguments], dir.Root, new Dictionary<string, string>());
}
