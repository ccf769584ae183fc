using Akka.Actor;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Runner;

/// <summary>
/// The binaries a job runs: its target (or a build bundle, unpacked once per build into <see cref="BundleCache"/>) and,
/// for an AFL++ instance that runs it, the build's CMPLOG binary; fetched into the bot's target cache, then copied into
/// the work dir where the sandbox user may run them.
/// </summary>
public sealed class JobBinaries(JobSpec spec, IFuzzingEngine engine, ContentAddressedStore targets)
{
    private const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    /// <summary>Unpacked build bundles, beside the target cache.</summary>
    private string BundleCacheRoot => Path.Combine(Path.GetDirectoryName(targets.Root)!, "bundles");

    /// <summary>The build's CMPLOG binary, when this job's AFL++ instance runs it.</summary>
    private BlobId? Cmplog => engine is AflPlusPlusEngine afl && afl.RunsCmplog(spec) ? spec.CmplogTarget : null;

    public async Task FetchAsync(ActorSelection source, TimeSpan chunkTimeout)
    {
        await BlobFetcher.FetchAsync(source, spec.Target, targets, chunkTimeout);
        if (spec.FuzzTarget is not null)
        {
            await BundleCache.UnpackAsync(targets.PathOf(spec.Target), spec.Target, BundleCacheRoot, CancellationToken.None);
        }

        if (Cmplog is { } cmplog)
        {
            await BlobFetcher.FetchAsync(source, cmplog, targets, chunkTimeout);
        }
    }

    /// <summary>
    /// Copies them into the work dir, which may hold what a sandboxed target of an earlier run of this job left: copied in
    /// without following it. Returns how many shared libraries came with a bundle's fuzz target (null: not a bundle).
    /// </summary>
    public int? CopyIn(JobWorkDir dir)
    {
        int? libraries = null;
        if (spec.FuzzTarget is { } pathInside)
        {
            libraries = BundleCache.CopyInto(BundleCache.PathOf(BundleCacheRoot, spec.Target), pathInside, dir);
        }
        else
        {
            WorkDirFiles.CopyIn(targets.PathOf(spec.Target), dir.Target);
        }

        var cmplog = Cmplog;
        if (cmplog is not null)
        {
            WorkDirFiles.CopyIn(targets.PathOf(cmplog), dir.CmplogTarget);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(dir.Target, Executable);
            if (cmplog is not null)
            {
                File.SetUnixFileMode(dir.CmplogTarget, Executable);
            }
        }

        return libraries;
    }
}
