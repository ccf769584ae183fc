using System.Collections.Concurrent;
using System.Globalization;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>
/// The zip of a campaign's corpus, built once per corpus state (version and entry count; a version only grows) and
/// kept, so repeated GETs do not make the master build a zip each time. Requests for a state being built wait for
/// that one build.
/// </summary>
public sealed class CorpusArchiveCache
{
    public const string Folder = "corpus-archives";

    private readonly ContentAddressedStore _blobs;
    private readonly string _dir;
    private readonly ConcurrentDictionary<string, Lazy<Task<(string Path, int Version)>>> _building = new(StringComparer.Ordinal);

    public CorpusArchiveCache(ContentAddressedStore blobs)
    {
        _blobs = blobs;
        _dir = Path.Combine(blobs.Root, Folder);
    }

    /// <summary>
    /// The kept file for this corpus state, or one built from what <paramref name="read"/> gives (the corpus as it is
    /// when read, which names the file). The stream is the caller's to dispose.
    /// </summary>
    public async Task<(FileStream Archive, int Version)> OpenAsync(
        CampaignId campaign, int version, int count, Func<Task<(int Version, IReadOnlyList<CorpusEntry> Entries)?>> read)
    {
        var kept = PathOf(campaign, version, count);
        if (TryOpen(kept) is { } cached)
        {
            return (cached, version);
        }

        var build = _building.GetOrAdd(kept, _ => new Lazy<Task<(string, int)>>(() => BuildAsync(campaign, read)));
        try
        {
            var (path, built) = await build.Value;
            return (TryOpen(path) ?? throw new IOException($"the corpus archive {path} vanished as it was made"), built);
        }
        finally
        {
            _building.TryRemove(new KeyValuePair<string, Lazy<Task<(string, int)>>>(kept, build));
        }
    }

    private async Task<(string Path, int Version)> BuildAsync(CampaignId campaign, Func<Task<(int Version, IReadOnlyList<CorpusEntry> Entries)?>> read)
    {
        var corpus = await read() ?? throw new InvalidOperationException($"the corpus of campaign {campaign} could not be read");
        var path = PathOf(campaign, corpus.Version, corpus.Entries.Count);
        if (File.Exists(path))
        {
            return (path, corpus.Version);
        }

        Directory.CreateDirectory(_dir);
        // Written in the incoming folder, then renamed into place: a reader never sees a part of one.
        var temp = _blobs.NewTempFile();
        try
        {
            await using (var zip = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                // Not the request's token: other requests wait for this build too.
                await CorpusArchive.WriteZipAsync(zip, corpus.Entries, _blobs, CancellationToken.None);
                await zip.FlushAsync();
                zip.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }

        // The campaign's older archives go: a download streaming one keeps reading its open file.
        foreach (var older in Directory.EnumerateFiles(_dir, $"{campaign.Value}-*.zip").Where(f => f != path))
        {
            File.Delete(older);
        }

        return (path, corpus.Version);
    }

    private string PathOf(CampaignId campaign, int version, int count) =>
        Path.Combine(_dir, $"{campaign.Value}-v{version.ToString(CultureInfo.InvariantCulture)}-n{count.ToString(CultureInfo.InvariantCulture)}.zip");

    private static FileStream? TryOpen(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, useAsync: true);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }
}
