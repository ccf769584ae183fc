using System.Text.RegularExpressions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Infrastructure.Bundles;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Runner;

/// <summary>
/// Build bundles on a bot: each unpacked once per build (its blob) into the bot's bundle cache, beside the target cache;
/// a job copies its fuzz target into its work dir as the target, with the shared libraries under the target's folder at
/// the same places relative to it, so a target linked with <c>-rpath '$ORIGIN/lib'</c> (OSS-Fuzz's way) finds them
/// inside the sandbox, whose view is the work dir.
/// </summary>
public static partial class BundleCache
{
    /// <summary>The master checked the bundle against its own limits; these only keep a bot's disk from a broken blob.</summary>
    private static readonly Infrastructure.Archives.ArchiveLimits Limits = BundleArchive.Limits(8L << 30);

    public static string PathOf(string cacheRoot, BlobId bundle) => Path.Combine(cacheRoot, bundle.Sha256);

    /// <summary>Unpacks the bundle unless done already; two jobs of one build unpacking at once end with one copy.</summary>
    public static async Task<string> UnpackAsync(string bundlePath, BlobId bundle, string cacheRoot, CancellationToken ct)
    {
        var unpacked = PathOf(cacheRoot, bundle);
        if (Directory.Exists(unpacked))
        {
            return unpacked;
        }

        Directory.CreateDirectory(cacheRoot);
        var staging = Path.Combine(cacheRoot, $".{bundle.Sha256}-{Guid.NewGuid():N}");
        try
        {
            await BundleArchive.ExtractAsync(bundlePath, staging, Limits, ct);
            Directory.Move(staging, unpacked);
        }
        catch (IOException) when (Directory.Exists(unpacked))
        {
            // Another job of the same build moved its copy in first.
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }

        return unpacked;
    }

    /// <summary>
    /// The fuzz target at <paramref name="pathInside"/> becomes the job's target, and every shared library under its
    /// folder is copied to the same place relative to the work dir. Paths that leave the bundle are refused.
    /// </summary>
    public static int CopyInto(string unpacked, string pathInside, JobWorkDir dir)
    {
        var root = Path.GetFullPath(unpacked) + Path.DirectorySeparatorChar;
        var target = Path.GetFullPath(Path.Combine(unpacked, pathInside));
        if (!target.StartsWith(root, StringComparison.Ordinal) || !File.Exists(target) || new FileInfo(target).LinkTarget is not null)
        {
            throw new IOException($"the bundle has no fuzz target at '{pathInside}'");
        }

        WorkDirFiles.CopyIn(target, dir.Target);
        var folder = Path.GetDirectoryName(target)!;
        var copied = 0;
        foreach (var library in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Where(f => SharedLibrary().IsMatch(Path.GetFileName(f))))
        {
            if (new FileInfo(library).LinkTarget is not null)
            {
                continue;
            }

            var destination = Path.Combine(dir.Root, Path.GetRelativePath(folder, library));
            WorkDirFiles.EnsureDirectory(dir.Root, Path.GetDirectoryName(destination)!);
            WorkDirFiles.CopyIn(library, destination);
            copied++;
        }

        return copied;
    }

    [GeneratedRegex(@"\.so(\.[0-9]+)*\z")]
    private static partial Regex SharedLibrary();
}
