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
    private static string BundleCacheRoot(ContentAddressedStore targets) => Path.Combine(Path.GetDirectoryName(targets.Root)!, "bundles");

    /// <summary>
    /// A bundle job's processes (in this life of the bot, or salvaged after a restart) load the libraries under its fuzz
    /// target's folder from the unpacked bundle; returns how many (null: not a bundle, or not unpacked on this bot).
    /// <see cref="JobLaunchExtras.ForgetLibraries"/> ends it.
    /// </summary>
    public static int? UseBundleLibraries(JobSpec spec, ContentAddressedStore targets, JobWorkDir dir) => UseBundle(spec, targets, dir)?.Libraries;

    /// <summary>The bundle's fuzz target and libraries, its libraries registered for the job's runs; null when there is none.</summary>
    private static (string Target, IReadOnlyList<string> LibraryFolders, int Libraries)? UseBundle(JobSpec spec, ContentAddressedStore targets, JobWorkDir dir)
    {
        var unpacked = BundleCache.PathOf(BundleCacheRoot(targets), spec.Target);
        if (spec.FuzzTarget is not { } pathInside || !Directory.Exists(unpacked))
        {
            return null;
        }

        var found = BundleCache.Find(unpacked, pathInside);
        JobLaunchExtras.UseLibraries(dir.Root, unpacked, found.LibraryFolders);
        return found;
    }

    /// <summary>The build's CMPLOG binary, when this job's AFL++ instance runs it.</summary>
    private BlobId? Cmplog => engine is AflPlusPlusEngine afl && afl.RunsCmplog(spec) ? spec.CmplogTarget : null;

    public async Task FetchAsync(ActorSelection source, TimeSpan chunkTimeout)
    {
        await BlobFetcher.FetchAsync(source, spec.Target, targets, chunkTimeout);
        if (spec.FuzzTarget is not null)
        {
            await BundleCache.UnpackAsync(targets.PathOf(spec.Target), spec.Target, BundleCacheRoot(targets), CancellationToken.None);
        }

        if (Cmplog is { } cmplog)
        {
            await BlobFetcher.FetchAsync(source, cmplog, targets, chunkTimeout);
        }
    }

    /// <summary>
    /// Copies them into the work dir, which may hold what a sandboxed target of an earlier run of this job left: copied in
    /// without following it. A bundle's shared libraries stay in the bundle cache, which the job's runs see read-only.
    /// Returns how many came with a bundle's fuzz target (null: not a bundle).
    /// </summary>
    public int? CopyIn(JobWorkDir dir)
    {
        var bundle = UseBundle(spec, targets, dir);
        if (spec.FuzzTarget is not null && bundle is null)
        {
            throw new IOException($"bundle {spec.Target} is not unpacked on this bot");
        }

        WorkDirFiles.CopyIn(bundle?.Target ?? targets.PathOf(spec.Target), dir.Target);

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

        return bundle?.Libraries;
    }
}
