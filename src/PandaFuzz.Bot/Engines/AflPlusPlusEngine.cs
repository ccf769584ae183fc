using PandaFuzz.Domain.Engines;
using System.Text;
using System.Text.RegularExpressions;
using PandaFuzz.Domain.Engines.AflPlusPlus;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Engines;

/// <summary>
/// AFL++ headless, as its authors run several instances (docs/fuzzing_in_depth.md, "Using multiple cores"): a campaign's
/// first AFL++ job is the main instance (<c>-M</c>), the others secondaries (<c>-S</c>) with varied power schedules, and
/// some of them run the build's CMPLOG binary (<c>-c</c>). Each job has its own output directory, where other jobs' inputs
/// arrive in a foreign instance's queue.
/// </summary>
/// <param name="cmplogEvery">The first secondary and then every this many run the CMPLOG binary (<c>pandafuzz.bot.aflplusplus.cmplog-every</c>).</param>
public sealed partial class AflPlusPlusEngine(int cmplogEvery = 2) : IFuzzingEngine
{
    public const string InstanceName = "job";

    /// <summary>The schedules secondaries take in turn when the campaign sets none; the main instance keeps afl-fuzz's default (fast).</summary>
    public static readonly IReadOnlyList<string> SecondarySchedules = ["explore", "coe", "lin", "quad", "exploit", "rare"];

    /// <summary>The foreign instance whose queue holds inputs from other jobs.</summary>
    public const string ImportInstanceName = "pandafuzz";

    /// <summary>fuzzer_stats is about 1.5 KiB; a larger one is not AFL++'s.</summary>
    private const long MaxStatsFileBytes = 1 << 20;

    public string Name => EngineNames.AflPlusPlus;

    public bool AnnouncesFindings => false;

    public string? DetectVersion()
    {
        var line = ToolProbe.FirstLine("afl-fuzz", "-h");
        if (line is null)
        {
            return null;
        }

        var match = VersionPattern().Match(line);
        return match.Success ? match.Groups[1].Value : "unknown";
    }

    public FuzzerLaunch Launch(JobSpec spec, JobWorkDir dir, TimeSpan runFor)
    {
        // afl-fuzz needs at least one seed; an empty seed file is the neutral start.
        if (!Directory.EnumerateFiles(dir.Corpus).Any())
        {
            File.WriteAllBytes(Path.Combine(dir.Corpus, "empty-seed"), [0]);
        }

        var args = new List<string>
        {
            "-i", dir.Corpus,
            "-o", dir.Output,
            spec.IsMainInstance ? "-M" : "-S", InstanceName,
            "-V", Math.Max(1, (int)runFor.TotalSeconds).ToString(),
            "-t", Math.Max(5, spec.TimeoutMs).ToString(),
            // ASan reserves terabytes of address space: a memory limit would kill every run.
            "-m", MemoryArgument(spec, dir),
        };
        var cmplog = RunsCmplog(spec);
        args.AddRange(EngineOptionRules.AflArguments(spec.Options, withCmplogLevel: cmplog));
        if (!spec.IsMainInstance && spec.Options?.AflPlusPlus?.ContainsKey("p") != true)
        {
            args.AddRange(["-p", SecondarySchedules[(spec.Instance - 1) % SecondarySchedules.Count]]);
        }

        if (cmplog)
        {
            args.AddRange(["-c", dir.CmplogTarget]);
        }

        if (spec.Dictionary is not null)
        {
            args.AddRange(["-x", dir.Dictionary]);
        }

        // The bundle's own dictionaries, read where the job's runs see the unpacked bundle (read-only).
        if (JobLaunchExtras.ReadOnlyFolderOf(dir.Root) is { } bundle)
        {
            foreach (var path in EngineOptionRules.AflBundleDictionaries(spec.Options))
            {
                args.AddRange(["-x", Path.Combine(bundle, path)]);
            }
        }

        // input=file: afl-fuzz writes each input to a file and passes its path (@@) instead of feeding stdin.
        args.AddRange(EngineOptionRules.AflReadsFile(spec.Options) ? ["--", dir.Target, "@@"] : ["--", dir.Target]);
        var env = new Dictionary<string, string>
        {
            ["AFL_NO_UI"] = "1",
            // A restarted job continues on its output dir instead of wiping earlier findings.
            ["AFL_AUTORESUME"] = "1",
            // The bot pins each job to a core of its own (pandafuzz.bot.cpu-pinning); afl-fuzz's own choice would ignore that
            // and could put several jobs on one core.
            ["AFL_NO_AFFINITY"] = "1",
            ["AFL_SKIP_CPUFREQ"] = "1",
            // Bots are often VMs or containers whose core_pattern afl-fuzz cannot change.
            ["AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES"] = "1",
            // Import the foreign instance's queue often: inputs from other jobs arrive there.
            ["AFL_SYNC_TIME"] = "1",
            // A shared input that crashes this build must not stop the start.
            ["AFL_SKIP_CRASHES"] = "1",
            // afl-fuzz insists on these for ASan targets. Each crash's report goes to a file of its own (afl-fuzz sends the
            // target's output nowhere), unsymbolized: triage symbolizes the one of a finding no rerun reproduces.
            ["ASAN_OPTIONS"] = $"abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1:{SanitizerLogFiles.LogPathOption(dir)}",
            ["UBSAN_OPTIONS"] = $"halt_on_error=1:abort_on_error=1:symbolize=0:{SanitizerLogFiles.LogPathOption(dir)}",
        };
        return new FuzzerLaunch("afl-fuzz", args, dir.Root, EngineOptionRules.SanitizerEnvironment(env, spec.Options));
    }

    /// <summary>
    /// Secondaries 1, 1 + every, 1 + 2 × every, … run the CMPLOG binary, when the build has one; so does a campaign's only
    /// AFL++ job (alone, or beside libFuzzer in an ensemble), which would otherwise never get the comparisons CMPLOG solves.
    /// </summary>
    public bool RunsCmplog(JobSpec spec) =>
        spec.CmplogTarget is not null && (spec.Instances == 1 || (!spec.IsMainInstance && (spec.Instance - 1) % cmplogEvery == 0));

    /// <summary>An AFL++ build with the libFuzzer-style driver runs the files it is given once, like libFuzzer.</summary>
    public FuzzerLaunch Reproduce(JobSpec spec, JobWorkDir dir, string input)
    {
        var command = Reproduction.For(spec);
        return new(dir.Target, [.. command.Arguments, input], dir.Root, command.Environment);
    }

    public EngineLine Read(string line) => EngineLine.Other;

    /// <summary>The report the crashing run wrote to its file (<see cref="SanitizerLogFiles"/>); empty for a hang.</summary>
    public string? FindingReport(JobWorkDir dir, string artifact, int maxBytes) =>
        FindingKind(artifact) == CrashKinds.Timeout ? string.Empty : SanitizerLogFiles.ReportFor(dir, artifact, maxBytes);

    /// <summary>
    /// fuzzer_stats is written at start and then about once a minute headless, plot_data every 5 s after the first minute:
    /// the newer gives execs and edges, the queue and crash directories live counts.
    /// </summary>
    public FuzzerStats? ReadStatsFiles(JobWorkDir dir)
    {
        // Polled every second: the reports of crashes afl-fuzz did not keep (a known bug hit again) go once old.
        SanitizerLogFiles.Prune(dir);
        var instance = Path.Combine(dir.Output, InstanceName);
        var statsFile = Path.Combine(instance, "fuzzer_stats");
        // afl-fuzz runs in the sandbox, beside the target: its files are the target's to replace.
        if (ReadShared(dir, statsFile) is not { } statsText || !AflFuzzerStatsParser.TryParse(statsText, out var stats))
        {
            return null;
        }

        var plotFile = Path.Combine(instance, "plot_data");
        var plot = ReadHeaderAndTail(dir, plotFile) is { } plotText ? AflPlotDataParser.ParseLast(plotText) : null;
        var newer = plot is not null && plot.RelativeTimeSeconds > stats.RunTimeSeconds;
        var queue = CountFiles(Path.Combine(instance, AflArtifactNames.QueueDirectory), AflArtifactNames.IsQueueEntry);
        var crashes = CountFiles(Path.Combine(instance, AflArtifactNames.CrashesDirectory), AflArtifactNames.IsCrash);
        var hangs = CountFiles(Path.Combine(instance, AflArtifactNames.HangsDirectory), AflArtifactNames.IsHang);
        return new FuzzerStats(
            newer ? plot!.TotalExecs : stats.ExecsDone,
            (long)(newer ? plot!.ExecsPerSecond : stats.ExecsPerSecond),
            newer ? plot!.EdgesFound : stats.EdgesFound,
            0,
            Math.Max(queue, stats.CorpusCount),
            0,
            stats.PeakRssMb,
            DateTimeOffset.UtcNow,
            stats.TotalEdges,
            stats.Stability,
            Math.Max(crashes, stats.SavedCrashes),
            Math.Max(hangs, stats.SavedHangs),
            stats.CorpusImported,
            stats.LastFind);
    }

    public IReadOnlyList<string> FindingDirectories(JobWorkDir dir) =>
    [
        Path.Combine(dir.Output, InstanceName, AflArtifactNames.CrashesDirectory),
        Path.Combine(dir.Output, InstanceName, AflArtifactNames.HangsDirectory),
    ];

    public string? FindingKind(string path)
    {
        var name = Path.GetFileName(path);
        var directory = Path.GetFileName(Path.GetDirectoryName(path)) ?? "";
        return directory switch
        {
            AflArtifactNames.CrashesDirectory when AflArtifactNames.IsCrash(name) => CrashKinds.Crash,
            AflArtifactNames.HangsDirectory when AflArtifactNames.IsHang(name) => CrashKinds.Timeout,
            _ => null,
        };
    }

    public string CorpusDirectory(JobWorkDir dir) => Path.Combine(dir.Output, InstanceName, AflArtifactNames.QueueDirectory);

    public bool IsCorpusEntry(string path) => AflArtifactNames.IsQueueEntry(Path.GetFileName(path));

    public string ImportDirectory(JobWorkDir dir) => Path.Combine(dir.Output, ImportInstanceName, AflArtifactNames.QueueDirectory);

    /// <summary>afl-fuzz imports only files named like queue entries, in id order.</summary>
    public string ImportFileName(BlobId input, int sequence) => $"id:{sequence:D6},sync:pandafuzz,sha:{input.Sha256[..16]}";

    public FuzzerLaunch MinimizeCorpus(JobSpec spec, JobWorkDir dir, string input, string output) =>
        new("afl-cmin", ["-i", input, "-o", output, "-m", MemoryArgument(spec, dir), "-t", Math.Max(5, spec.TimeoutMs).ToString(), "--", dir.Target],
            dir.Root, ToolEnvironment);

    /// <summary>afl-tmin keeps the input's crash while removing bytes; the caller bounds its time.</summary>
    public FuzzerLaunch MinimizeCrash(JobSpec spec, JobWorkDir dir, string input, string output, TimeSpan timeLimit) =>
        new("afl-tmin", ["-i", input, "-o", output, "-m", MemoryArgument(spec, dir), "-t", Math.Max(5, spec.TimeoutMs).ToString(), "--", dir.Target],
            dir.Root, ToolEnvironment);

    public FuzzerLaunch MeasureCoverage(JobSpec spec, JobWorkDir dir, string corpus) =>
        new("afl-showmap", ["-C", "-i", corpus, "-o", "/dev/null", "-m", MemoryArgument(spec, dir), "-t", Math.Max(5, spec.TimeoutMs).ToString(), "--", dir.Target],
            dir.Root, ToolEnvironment);

    /// <summary>afl-showmap -C prints "Captured N tuples …" for the whole corpus.</summary>
    public CorpusCoverage? ReadCoverage(string output)
    {
        var match = TuplesPattern().Match(output);
        return match.Success ? new CorpusCoverage(long.Parse(match.Groups[1].Value), 0) : null;
    }


    /// <summary>Whether the target links AddressSanitizer (its runtime's entry symbol is in the binary).</summary>
    public static bool UsesAddressSanitizer(string binary)
    {
        var marker = "__asan_init"u8;
        using var file = File.OpenRead(binary);
        var buffer = new byte[1 << 20];
        var carry = 0;
        int read;
        while ((read = file.Read(buffer, carry, buffer.Length - carry)) > 0)
        {
            var span = buffer.AsSpan(0, carry + read);
            if (span.IndexOf(marker) >= 0)
            {
                return true;
            }

            // Keep the tail so a marker split across two reads is still seen.
            carry = Math.Min(marker.Length - 1, span.Length);
            span[^carry..].CopyTo(buffer);
        }

        return false;
    }

    private static string MemoryArgument(JobSpec spec, JobWorkDir dir) => UsesAddressSanitizer(dir.Target) ? "none" : spec.MemoryLimitMb.ToString();

    private static readonly IReadOnlyDictionary<string, string> ToolEnvironment = new Dictionary<string, string>
    {
        // afl-cmin refuses /tmp for fear of other users' symlinks; job dirs are private to the bot, wherever they are.
        ["AFL_ALLOW_TMP"] = "1",
        ["AFL_SKIP_CPUFREQ"] = "1",
        ["AFL_NO_AFFINITY"] = "1",
        ["ASAN_OPTIONS"] = "abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1",
    };

    [GeneratedRegex(@"Captured (\d+) tuples")]
    private static partial Regex TuplesPattern();

    private static long CountFiles(string directory, Func<string, bool> isEntry) =>
        Directory.Exists(directory) ? Directory.EnumerateFiles(directory).Count(f => isEntry(Path.GetFileName(f))) : 0;

    private static string? ReadHeaderAndTail(JobWorkDir dir, string path, int tailBytes = 4096)
    {
        // plot_data grows by a row every 5 s for the whole job: only its header and tail are read, whatever its size.
        using var file = UntrustedFiles.Open(dir.Root, path, long.MaxValue, out _);
        if (file is null)
        {
            return null;
        }

        var stream = file.Stream;
        if (file.Length <= 2 * tailBytes)
        {
            using var whole = new StreamReader(stream, Encoding.UTF8);
            return whole.ReadToEnd();
        }

        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 1024, leaveOpen: true);
        var header = reader.ReadLine() ?? "";
        stream.Seek(-tailBytes, SeekOrigin.End);
        reader.DiscardBufferedData();
        var tail = reader.ReadToEnd();
        // The tail starts inside a row: keep only the whole rows after its first newline.
        var firstNewline = tail.IndexOf('\n');
        return firstNewline < 0 ? header + "\n" : header + "\n" + tail[(firstNewline + 1)..];
    }

    // afl-fuzz rewrites these files while we read them: the parser skips a torn read.
    private static string? ReadShared(JobWorkDir dir, string path)
    {
        using var file = UntrustedFiles.Open(dir.Root, path, MaxStatsFileBytes, out _);
        if (file is null)
        {
            return null;
        }

        using var reader = new StreamReader(file.Stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"\+\+(\d[\w.]*)")]
    private static partial Regex VersionPattern();
}
