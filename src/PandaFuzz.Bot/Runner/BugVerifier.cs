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

/// <summary>
/// A bug verification job: the bug's sample input rerun on the job's build with the campaign's limits, as a finding's
/// triage reruns it; the verdict names the signature it crashed with, if any, and the master decides what that means.
/// </summary>
public sealed class BugVerifier(
    AgentCommands.StartJob job,
    IFuzzingEngine engine,
    JobWorkDir dir,
    BotSettings settings,
    ContentAddressedStore targets,
    ActorSelection masterBlobs)
{
    public async Task<(bool Succeeded, string Summary, CampaignCommands.ReportBugVerified? Report)> RunAsync(CancellationToken ct)
    {
        var spec = job.Spec;
        if (spec.CrashInput is not { } input || spec.CrashSignature is not { } signature || spec.Build is not { } build)
        {
            return (false, "the job names no bug input and build to verify", null);
        }

        await BlobFetcher.FetchAsync(masterBlobs, input, targets, settings.BlobChunkTimeout, ct);
        var path = Path.Combine(dir.Root, "bug-input");
        WorkDirFiles.CopyIn(targets.PathOf(input), path);
        // A timeout "crashes" by running past its limit; anything else by a report or a signal.
        var kind = spec.CrashKind?.StartsWith("Timeout", StringComparison.Ordinal) == true ? CrashKinds.Timeout : CrashKinds.Crash;
        var triage = await CrashTriage.RunAsync(engine, spec, dir, new ArtifactFound(path, kind, string.Empty, DateTimeOffset.UtcNow), settings);
        var crashedAs = triage.Reproduced > 0 ? triage.Analysis.Signature : null;
        var report = new CampaignCommands.ReportBugVerified(job.CampaignId, job.JobId, signature, build, triage.Attempts, triage.Reproduced, crashedAs);
        return (true, crashedAs is null
            ? $"bug {signature} did not crash build {build} in {triage.Attempts} reruns"
            : $"bug {signature} crashed build {build} in {triage.Reproduced} of {triage.Attempts} reruns as {crashedAs}", report);
    }
}
