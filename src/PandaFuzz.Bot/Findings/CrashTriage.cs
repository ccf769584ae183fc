using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Findings;

/// <summary>A finding after triage on the bot: reproduced alone several times, analyzed into kind, state and signature.</summary>
/// <param name="Report">A reproduction's report, else the fuzzer's own.</param>
public sealed record CrashTriage(CrashAnalysis Analysis, string Summary, string Report, int Attempts, int Reproduced)
{
    /// <summary>Far above what the engines write (AFL++ caps a test case at 1 MiB), and a bound on what a target can make the bot copy.</summary>
    public const long MaxInputBytes = 16L << 20;

    /// <summary>
    /// Reruns the input in fresh processes with the job's limits and analyzes the first report that names a bug. A first
    /// run with a signature in <paramref name="known"/> (already reported by this job) ends the triage: its reproducibility is known.
    /// </summary>
    public static async Task<CrashTriage> RunAsync(IFuzzingEngine engine, JobSpec spec, JobWorkDir dir, ArtifactFound found, BotSettings settings,
        IReadOnlySet<string>? known = null)
    {
        var limit = RerunLimit(spec, found.Kind, settings);
        var launch = engine.Reproduce(spec, dir, found.Path);
        // setsid would start, fail to run a missing program and exit non-zero: that must not count as a crash.
        var attempts = Path.IsPathRooted(launch.Program) && !File.Exists(launch.Program) ? 0 : settings.ReproduceAttempts;
        var reproduced = 0;
        string? reproducedReport = null;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var (exitCode, output) = await OneShotRun.RunAsync(launch, limit, settings.MaxReportBytes, default, Sandbox.Of(settings.Sandbox), spec.MemoryLimitMb);

            if (Crashed(exitCode, output, found.Kind))
            {
                reproduced++;
                reproducedReport ??= output;
                if (attempt == 0 && known is { Count: > 0 } && known.Contains(CrashAnalyzer.Analyze(output, found.Kind, spec.TargetLabel).Signature))
                {
                    attempts = 1;
                    break;
                }
            }
        }

        // The fuzzer's report (libFuzzer prints one with each finding) stands when no run crashed again.
        var report = reproducedReport ?? await SymbolizedAsync(found.Report, spec, dir, settings);
        var analysis = CrashAnalyzer.Analyze(report, found.Kind, spec.TargetLabel);
        var summary = SanitizerReportParser.Parse(report).Summary;
        return new CrashTriage(analysis, summary, report, attempts, reproduced);
    }

    /// <summary>
    /// The per-input timeout plus the grace for start-up and symbolizing. A hang's rerun is cut at twice the timeout: an
    /// engine without its own timeout (AFL++'s driver) would otherwise hold each rerun for the whole grace.
    /// </summary>
    public static TimeSpan RerunLimit(JobSpec spec, string findingKind, BotSettings settings)
    {
        var timeout = TimeSpan.FromMilliseconds(spec.TimeoutMs);
        var crash = timeout + settings.ReproduceGrace;
        return findingKind == CrashKinds.Timeout ? TimeSpan.FromTicks(Math.Min(crash.Ticks, (timeout * 2 + TimeSpan.FromSeconds(1)).Ticks)) : crash;
    }

    // For a report written without symbols (AFL++'s). The symbolizer reads the target's binary: it runs sandboxed.
    private static async Task<string> SymbolizedAsync(string report, JobSpec spec, JobWorkDir dir, BotSettings settings)
    {
        var offsets = OfflineSymbolizer.OffsetsIn(report, dir.Target);
        if (offsets.Count == 0)
        {
            return report;
        }

        var (exitCode, output) = await OneShotRun.RunAsync(OfflineSymbolizer.Launch(dir.Target, offsets, dir.Root), settings.ReproduceGrace,
            settings.MaxReportBytes * 4, default, Sandbox.Of(settings.Sandbox), spec.MemoryLimitMb);
        return exitCode == 0 ? OfflineSymbolizer.Apply(report, dir.Target, offsets, output) : report;
    }

    /// <summary>
    /// A crash report, a memory-cgroup kill or a signal death counts; a run that merely failed (usage error, missing
    /// library, a sandbox that would not start: exit 1 and no report) reproduced nothing.
    /// </summary>
    public static bool Crashed(int? exitCode, string output, string findingKind)
    {
        if (exitCode is not { } code)
        {
            return findingKind == CrashKinds.Timeout;
        }

        if (code == 0)
        {
            return false;
        }

        // 128 + the signal: a shell's (the sandbox runs the target under one) and .NET's way to tell a signal death.
        const int SignalDeath = 128;
        return code > SignalDeath
            || output.Contains(CrashAnalyzer.SandboxMemoryKill, StringComparison.Ordinal)
            || output.Split('\n').Any(LibFuzzerOutputParser.IsCrashReportStart);
    }

    /// <summary>
    /// Stores the input in the outbox, triages it and builds the report, for live and salvaged findings alike. The target
    /// wrote the input: it is taken only as a regular file of its own (<see cref="UntrustedFiles"/>), else this throws.
    /// </summary>
    public static async Task<CampaignCommands.ReportCrash> ReportAsync(IFuzzingEngine engine, AgentCommands.StartJob job, BotId botId, JobWorkDir dir,
        ArtifactFound found, BotSettings settings, ContentAddressedStore outbox, string outboxPath, IReadOnlySet<string>? known = null)
    {
        BlobId input;
        long size;
        using (var file = UntrustedFiles.Open(dir.Root, found.Path, MaxInputBytes, out var refusal))
        {
            if (file is null)
            {
                throw new InvalidDataException($"{Path.GetFileName(found.Path)} is no finding: {refusal}");
            }

            (input, size) = await outbox.PutAsync(file.Stream, MaxInputBytes);
        }

        var triage = await RunAsync(engine, job.Spec, dir, found, settings, known);

        var finding = triage.ToFinding(input, size, Path.GetFileName(found.Path), found.At);
        return new CampaignCommands.ReportCrash(job.CampaignId, job.JobId, botId, finding, outboxPath);
    }

    public CrashFinding ToFinding(BlobId input, long size, string artifactName, DateTimeOffset foundAt) =>
        new(input, size, artifactName, Analysis.Kind, Summary, [.. Analysis.Frames.Select(f => f.Describe())], Report, foundAt,
            Analysis.Signature, Analysis.State, Analysis.Security, Attempts, Reproduced, Analysis.Location);
}
