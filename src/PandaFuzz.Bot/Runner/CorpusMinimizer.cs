using Akka.Actor;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Runner;

/// <summary>A corpus minimization job: only a result that keeps the original's coverage becomes the new corpus version.</summary>
public sealed class CorpusMinimizer(
    AgentCommands.StartJob job,
    IFuzzingEngine engine,
    JobWorkDir dir,
    BotSettings settings,
    CorpusSync sync,
    IActorRef corpora)
{
    public async Task<(bool Succeeded, string Summary)> RunAsync(CancellationToken ct)
    {
        var limit = TimeSpan.FromSeconds(job.Spec.DurationSeconds);
        var sandbox = Sandbox.Of(settings.Sandbox);
        var original = dir.Corpus;
        var minimized = Path.Combine(dir.Root, Sandbox.MinimizedFolder);
        WorkDirFiles.RemovePlantedLink(minimized);
        if (Directory.Exists(minimized))
        {
            Directory.Delete(minimized, recursive: true);
        }

        Directory.CreateDirectory(minimized);
        var before = sync.Pulled.Values.ToList();
        if (before.Count == 0)
        {
            return (false, "the campaign corpus is empty: nothing to minimize");
        }

        var (code, output) = await OneShotRun.RunAsync(engine.MinimizeCorpus(job.Spec, dir, original, minimized), limit, settings.MaxReportBytes, ct, sandbox, job.Spec.MemoryLimitMb);
        if (code is null)
        {
            return (false, $"minimization did not finish within {limit.TotalSeconds:0} s");
        }

        var coverageBefore = engine.ReadCoverage((await OneShotRun.RunAsync(engine.MeasureCoverage(job.Spec, dir, original), limit, 1 << 20, ct, sandbox, job.Spec.MemoryLimitMb)).Output);
        var coverageAfter = engine.ReadCoverage((await OneShotRun.RunAsync(engine.MeasureCoverage(job.Spec, dir, minimized), limit, 1 << 20, ct, sandbox, job.Spec.MemoryLimitMb)).Output);
        if (coverageBefore is null || coverageAfter is null || coverageAfter != coverageBefore)
        {
            return (false, $"the minimized corpus reaches {coverageAfter?.ToString() ?? "unknown coverage"}, the original {coverageBefore?.ToString() ?? "unknown coverage"}: corpus kept ({code}: {output.Split('\n').LastOrDefault(l => l.Length > 0)})");
        }

        var after = new List<CorpusEntry>();
        foreach (var file in Directory.EnumerateFiles(minimized))
        {
            // The merge ran in the sandbox: what it left is the target's, and only a regular file of its own is read.
            if (await UntrustedFiles.ReadAllBytesAsync(dir.Root, file, settings.SyncLimits.MaxEntryBytes, ct) is not { } bytes)
            {
                continue;
            }

            var input = BlobId.Of(bytes);
            if (sync.Pulled.TryGetValue(input, out var entry))
            {
                after.Add(entry);
            }
        }

        var reason = $"minimized by job {job.JobId}: {before.Count} → {after.Count} inputs, {before.Sum(e => e.Size)} → {after.Sum(e => e.Size)} bytes, coverage {coverageAfter}";
        var reply = await corpora.Ask<object>(new CorpusCommands.ReplaceCorpus(job.CampaignId, sync.Version, after, reason), settings.SyncLimits.AskTimeout, ct);
        return reply is CorpusCommands.CorpusChanged
            ? (true, reason)
            : (false, $"the master kept the corpus: {(reply as CommandRejected)?.Reason ?? reply.GetType().Name}");
    }
}
