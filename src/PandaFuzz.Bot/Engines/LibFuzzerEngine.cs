using System.Diagnostics;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Engines;

/// <summary>libFuzzer: the engine is linked into the target, so running it is running the target with flags.</summary>
public sealed class LibFuzzerEngine : IFuzzingEngine
{
    public string Name => EngineNames.LibFuzzer;

    /// <summary>libFuzzer ships inside each target; the clang on the bot (if any) tells the version people will recognise.</summary>
    public string? DetectVersion()
    {
        try
        {
            using var clang = Process.Start(new ProcessStartInfo("clang", "--version") { RedirectStandardOutput = true, RedirectStandardError = true });
            if (clang is null)
            {
                return "linked-in";
            }

            var first = clang.StandardOutput.ReadLine() ?? "";
            clang.WaitForExit(5000);
            var at = first.IndexOf("version ", StringComparison.Ordinal);
            return at < 0 ? "linked-in" : "clang-" + first[(at + 8)..].Split(' ', '-')[0];
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "linked-in";
        }
    }

    public FuzzerLaunch Launch(JobSpec spec, JobWorkDir dir, TimeSpan runFor)
    {
        var args = new List<string>
        {
            $"-max_total_time={Math.Max(1, (int)runFor.TotalSeconds)}",
            $"-rss_limit_mb={spec.MemoryLimitMb}",
            $"-timeout={Math.Max(1, (spec.TimeoutMs + 999) / 1000)}",
            $"-artifact_prefix={dir.Artifacts}/",
            "-print_final_stats=1",
        };
        if (spec.Dictionary is not null)
        {
            args.Add($"-dict={dir.Dictionary}");
        }

        args.Add(dir.Corpus);
        var env = new Dictionary<string, string>
        {
            // Symbolized frames in reports; no core dumps filling the disk.
            ["ASAN_OPTIONS"] = "symbolize=1:disable_coredump=1:detect_leaks=1",
            ["UBSAN_OPTIONS"] = "print_stacktrace=1",
        };
        return new FuzzerLaunch(dir.Target, args, dir.Root, env);
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
                DateTimeOffset.UtcNow));
        }

        if (LibFuzzerOutputParser.TryParseArtifactWritten(line, out var path))
        {
            return new EngineLine.ArtifactWritten(path);
        }

        return LibFuzzerOutputParser.IsCrashReportStart(line) ? new EngineLine.ReportStarted() : EngineLine.Other;
    }

    public string? ArtifactKind(string fileName) => SanitizerReportParser.ArtifactKind(fileName);

    public (string Kind, string Summary, IReadOnlyList<string> Stack) DescribeFinding(string artifactKind, string report)
    {
        var parsed = SanitizerReportParser.Parse(report);
        var kind = parsed.Kind == CrashKinds.Unknown ? artifactKind : parsed.Kind;
        return (kind, parsed.Summary, parsed.Frames);
    }
}
