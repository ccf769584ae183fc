using System.IO.Compression;
using PandaFuzz.Infrastructure.Archives;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>
/// Reads seed corpora from zip or tar(.gz) archives into the blob store, and writes one back. The archive is hostile:
/// entry names are never used as paths, links and devices are refused, and counts, sizes and the compression ratio are
/// bounded against archive bombs.
/// </summary>
public static class CorpusArchive
{
    /// <summary>Many small inputs: 100,000 entries of at most 1 MiB, 1 GiB in all, 200 times the archive's size (plus 1 MiB).</summary>
    public static readonly ArchiveLimits Default = new(100_000, 1024 * 1024, 1024L * 1024 * 1024, 200, RatioAllowanceBytes: 1024 * 1024);

    /// <summary>
    /// Stages every regular file; nothing becomes a blob until the caller commits, so a refused archive (an
    /// <see cref="InvalidDataException"/>) leaves the store as it was. Directories and empty files count against the entry limit too.
    /// </summary>
    public static async Task<StagedCorpus> ImportAsync(string archivePath, ContentAddressedStore blobs, string source, ArchiveLimits limits, CancellationToken ct)
    {
        var staged = new List<StagedBlob>();
        try
        {
            var entries = await ReadAsync(archivePath, blobs, source, limits, staged, ct);
            return new StagedCorpus(blobs, staged, entries);
        }
        catch
        {
            foreach (var blob in staged)
            {
                blob.Dispose();
            }

            throw;
        }
    }

    private static async Task<IReadOnlyList<CorpusEntry>> ReadAsync(
        string archivePath, ContentAddressedStore blobs, string source, ArchiveLimits limits, List<StagedBlob> staged, CancellationToken ct)
    {
        var entries = new List<CorpusEntry>();
        var stored = new HashSet<BlobId>();
        await HostileArchive.WalkAsync(archivePath, limits, async (_, content) =>
        {
            // The walk bounds what is read; the stage's own bound is the same entry limit.
            StagedBlob blob;
            try
            {
                blob = await blobs.StageAsync(content, limits.MaxEntryBytes, flushToDisk: false, ct);
            }
            catch (BlobTooLargeException)
            {
                throw new InvalidDataException($"an archive entry is larger than {limits.MaxEntryBytes} bytes");
            }

            if (blob.Size == 0 || !stored.Add(blob.Id))
            {
                // Empty, or the same bytes as an entry before it: nothing more to keep.
                blob.Dispose();
            }
            else
            {
                staged.Add(blob);
            }

            if (blob.Size > 0)
            {
                entries.Add(new CorpusEntry(blob.Id, blob.Size, source));
            }
        }, ct);

        return NotEmpty(entries);
    }

    /// <summary>Staged inputs: <see cref="Commit"/> makes them blobs before anything refers to them; disposing without it removes them.</summary>
    public sealed class StagedCorpus(ContentAddressedStore blobs, IReadOnlyList<StagedBlob> staged, IReadOnlyList<CorpusEntry> entries) : IDisposable
    {
        public IReadOnlyList<CorpusEntry> Entries { get; } = entries;

        public void Commit()
        {
            if (staged.Count > 0)
            {
                blobs.FlushStaged(staged[0]);
            }

            foreach (var blob in staged)
            {
                blobs.Commit(blob);
            }
        }

        public void Dispose()
        {
            foreach (var blob in staged)
            {
                blob.Dispose();
            }
        }
    }

    // Random bytes after a gzip magic read as an empty tar: an archive without one input is refused, not taken as nothing.
    private static List<CorpusEntry> NotEmpty(List<CorpusEntry> entries) =>
        entries.Count > 0 ? entries : throw new InvalidDataException("the archive holds no input: expected a zip, tar or tar.gz with at least one non-empty regular file");

    /// <summary>Writes the inputs as a zip, each named by its sha256.</summary>
    public static async Task WriteZipAsync(Stream output, IEnumerable<CorpusEntry> entries, ContentAddressedStore blobs, CancellationToken ct)
    {
        await using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var entry in entries)
        {
            if (!blobs.Contains(entry.Input))
            {
                continue;
            }

            var item = zip.CreateEntry(entry.Input.Sha256, CompressionLevel.Fastest);
            await using var target = await item.OpenAsync(ct);
            await using var source = blobs.OpenRead(entry.Input);
            await source.CopyToAsync(target, ct);
        }
    }
}
