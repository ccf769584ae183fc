using System.Text.RegularExpressions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Infrastructure.Bundles;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Runner;

/// <summary>
/// Build bundles on a bot: each unpacked once per build (its blob) into the bot's bundle cache, beside the target cache;
/// a job copies its fuzz target into its work dir as the target, and its processes see the unpacked bundle read-only in
/// the sandbox and load the shared libraries under the target's folder through <c>LD_LIBRARY_PATH</c>
/// (<see cref="JobLaunchExtras"/>): a target cannot rewrite the libraries the job's later runs load.
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
    /// The fuzz target at <paramref name="pathInside"/>, and the folders under its folder that hold shared libraries (what
    /// a target linked with <c>-rpath '$ORIGIN/lib'</c>, OSS-Fuzz's way, loads). Paths that leave the bundle are refused.
    /// </summary>
    public static (string Target, IReadOnlyList<string> LibraryFolders, int Libraries) Find(string unpacked, string pathInside)
    {
        var root = Path.GetFullPath(unpacked) + Path.DirectorySeparatorChar;
        var target = Path.GetFullPath(Path.Combine(unpacked, pathInside));
        if (!target.StartsWith(root, StringComparison.Ordinal) || !File.Exists(target) || new FileInfo(target).LinkTarget is not null)
        {
            throw new IOException($"the bundle has no fuzz target at '{pathInside}'");
        }

        var libraries = Directory.EnumerateFiles(Path.GetDirectoryName(target)!, "*", SearchOption.AllDirectories)
            .Where(f => SharedLibrary().IsMatch(Path.GetFileName(f)) && new FileInfo(f).LinkTarget is null)
            .ToList();
        var folders = libraries.Select(f => Path.GetDirectoryName(f)!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return (target, folders, libraries.Count);
    }

    [GeneratedRegex(@"\.so(\.[0-9]+)*\z")]
    private static partial Regex SharedLibrary();
}
