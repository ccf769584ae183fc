using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Runner;

/// <summary>
/// A finding after triage on the bot: reproduced alone several times, analyzed into kind, state and signature.
/// </summary>
/// <param name="Report">The report the analysis was made from (a reproduction's, else the fuzzer's own).</param>
public sealed record CrashTriage(CrashAnalysis Analysis, string Summary, string Report, int Attempts, int Reproduced)
{
    /// <summary>
    /// Runs <paramref name="found"/>'s input <see cref="BotSettings.ReproduceAttempts"/> times, each in a fresh process with the
    /// job's limits, and analyzes the first report that names a bug (the fuzzer's own report when no run crashed).
    /// </summary>
    public static async Task<CrashTriage> RunAsync(IFuzzingEngine engine, JobSpec spec, JobWorkDir dir, ArtifactFound found, BotSettings settings)
    {
        var limit = TimeSpan.FromMilliseconds(spec.TimeoutMs) + settings.ReproduceGrace;
        var reproduced = 0;
        string? reproducedReport = null;
        for (var attempt = 0; attempt < settings.ReproduceAttempts; attempt++)
        {
            var (exitCode, output) = await OneShotRun.RunAsync(engine.Reproduce(spec, dir, found.Path), limit, settings.MaxReportBytes);

            // A hang that outlives the limit reproduced; anything else did when the target failed.
            var crashed = exitCode is null ? found.Kind == CrashKinds.Timeout : exitCode != 0;
            if (crashed)
            {
                reproduced++;
                reproducedReport ??= output;
            }
        }

        // The fuzzer's report (libFuzzer prints one with each finding) stands when no run crashed again.
        var report = reproducedReport ?? found.Report;
        var analysis = CrashAnalyzer.Analyze(report, found.Kind, spec.TargetLabel);
        var summary = SanitizerReportParser.Parse(report).Summary;
        return new CrashTriage(analysis, summary, report, settings.ReproduceAttempts, reproduced);
    }

    public CrashFinding ToFinding(BlobId input, long size, string artifactName, DateTimeOffset foundAt) =>
        new(input, size, artifactName, Analysis.Kind, Summary, [.. Analysis.Frames.Select(Describe)], Report, foundAt,
            Analysis.Signature, Analysis.State, Analysis.Security, Attempts, Reproduced);

    private static string Describe(StackFrame frame)
    {
        var place = frame.File is { } file ? $" {file}:{frame.Line}" : frame.Module is { } module ? $" ({module})" : string.Empty;
        return $"#{frame.Index} {frame.Name}{place}";
    }
}
