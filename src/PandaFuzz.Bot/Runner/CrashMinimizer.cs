using Akka.Actor;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Findings;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Domain.Engines.LibFuzzer;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Runner;

/// <summary>A crash minimization job: the smaller input must still crash with the same signature.</summary>
public sealed class CrashMinimizer(
    AgentCommands.StartJob job,
    IFuzzingEngine engine,
    JobWorkDir dir,
    BotSettings settings,
    ContentAddressedStore targets,
    ContentAddressedStore outbox,
    string outboxPath,
    ActorSelection masterBlobs)
{
    public async Task<(bool Succeeded, string Summary, CampaignCommands.ReportCrashMinimized? Report)> RunAsync(CancellationToken ct)
    {
        var spec = job.Spec;
        if (spec.CrashInput is not { } original || spec.CrashSignature is not { } signature)
        {
            return (false, "the job names no crash to minimize", null);
        }

        var (input, size, failure) = await MinimizeAsync(original, signature, ct);
        var report = new CampaignCommands.ReportCrashMinimized(job.CampaignId, job.JobId, signature, input, size, failure, outboxPath);
        return failure is null
            ? (true, $"crash {signature} minimized to {size} bytes", report)
            : (true, $"crash {signature} kept its original input: {failure}", report);
    }

    private async Task<(BlobId? Input, long? Size, string? Failure)> MinimizeAsync(BlobId original, string signature, CancellationToken ct)
    {
        await BlobFetcher.FetchAsync(masterBlobs, original, targets, settings.BlobChunkTimeout, ct);
        var originalPath = Path.Combine(dir.Root, "crash-input");
        var minimizedPath = Path.Combine(dir.Root, "crash-minimized");
        WorkDirFiles.CopyIn(targets.PathOf(original), originalPath);
        File.Delete(minimizedPath);
        var originalSize = new FileInfo(targets.PathOf(original)).Length;

        var limit = TimeSpan.FromSeconds(job.Spec.DurationSeconds);
        var (exitCode, output) = await OneShotRun.RunAsync(engine.MinimizeCrash(job.Spec, dir, originalPath, minimizedPath, limit), limit + settings.ReproduceGrace, settings.MaxReportBytes, ct,
            Sandbox.Of(settings.Sandbox), job.Spec.MemoryLimitMb);
        // The engine ran in the sandbox: the file it left is the target's, taken only as a regular file of its own.
        byte[]? minimized;
        string? refusal;
        using (var file = UntrustedFiles.Open(dir.Root, minimizedPath, long.MaxValue, out refusal))
        {
            if (file is not null && file.Length > originalSize)
            {
                return (null, null, $"the minimized input ({file.Length} bytes) is larger than the original ({originalSize} bytes)");
            }

            minimized = file is null || file.Length == 0 ? null : await file.ReadAllAsync(ct);
        }

        if (minimized is null)
        {
            var last = output.Split('\n').LastOrDefault(l => l.Length > 0) ?? string.Empty;
            var why = refusal is null or UntrustedFiles.NotFound ? "wrote no minimized input" : $"left no minimized input it may read ({refusal})";
            return (null, null, $"{engine.Name} {why} (exit {exitCode?.ToString() ?? "killed at the time limit"}): {last}");
        }

        var triage = await CrashTriage.RunAsync(engine, job.Spec, dir, new ArtifactFound(minimizedPath, CrashKinds.Crash, string.Empty, DateTimeOffset.UtcNow), settings);
        if (triage.Reproduced == 0)
        {
            return (null, null, "the minimized input does not crash");
        }

        if (triage.Analysis.Signature != signature)
        {
            return (null, null, $"the minimized input crashes differently: {triage.Analysis.Kind} in {triage.Analysis.State.Replace('\n', ' ')} (signature {triage.Analysis.Signature})");
        }

        // The bytes read before the triage: the target may have replaced the file since.
        using var stream = new MemoryStream(minimized, writable: false);
        var (id, size) = await outbox.PutAsync(stream, long.MaxValue, ct);
        return (id, size, null);
    }
}
