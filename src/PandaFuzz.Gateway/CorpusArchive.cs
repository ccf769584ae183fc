using System.Formats.Tar;
using System.IO.Compression;
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
    public sealed record Limits(int MaxEntries, long MaxEntryBytes, long MaxTotalBytes, int MaxRatio);

    public static readonly Limits Default = new(100_000, 1024 * 1024, 1024L * 1024 * 1024, 200);

    /// <summary>
    /// Stages every regular file; nothing becomes a blob until the caller commits, so a refused archive (an
    /// <see cref="InvalidDataException"/>) leaves the store as it was. Directories and empty files count against the entry limit too.
    /// </summary>
    public static async Task<StagedCorpus> ImportAsync(string archivePath, ContentAddressedStore blobs, string source, Limits limits, CancellationToken ct)
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
        string archivePath, ContentAddressedStore blobs, string source, Limits limits, List<StagedBlob> staged, CancellationToken ct)
    {
        var compressed = new FileInfo(archivePath).Length;
        var entries = new List<CorpusEntry>();
        var stored = new HashSet<BlobId>();
        var seen = 0;
        long total = 0;

        void Count()
        {
            if (++seen > limits.MaxEntries)
            {
                throw new InvalidDataException($"the archive has more than {limits.MaxEntries} entries");
            }
        }

        async Task Add(Stream content, long? declared)
        {
            if (declared > limits.MaxEntryBytes)
            {
                throw new InvalidDataException($"an archive entry is larger than {limits.MaxEntryBytes} bytes");
            }

            if (declared == 0)
            {
                return;
            }

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

            total += blob.Size;
            if (total > limits.MaxTotalBytes || total > Math.Max(compressed, 1) * limits.MaxRatio + limits.MaxEntryBytes)
            {
                throw new InvalidDataException("the archive expands to more than allowed (size or compression ratio)");
            }

            if (blob.Size > 0)
            {
                entries.Add(new CorpusEntry(blob.Id, blob.Size, source));
            }
        }

        await using var file = File.OpenRead(archivePath);
        var magic = new byte[4];
        var read = await file.ReadAsync(magic, ct);
        file.Position = 0;
        if (read >= 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4)
        {
            using var zip = new ZipArchive(file, ZipArchiveMode.Read);
            foreach (var entry in zip.Entries)
            {
                Count();
                var isDirectory = entry.FullName.EndsWith('/');
                // Unix mode bits in the upper half of ExternalAttributes: S_IFLNK entries are links.
                var isLink = (entry.ExternalAttributes >> 16 & 0xF000) == 0xA000;
                RefuseEscapingName(entry.FullName);
                if (isDirectory)
                {
                    continue;
                }

                if (isLink)
                {
                    throw new InvalidDataException($"the archive holds a link ({entry.FullName}); only regular files are taken");
                }

                await using var content = entry.Open();
                await Add(content, entry.Length);
            }

            return NotEmpty(entries);
        }

        Stream tarStream = read >= 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(file, CompressionMode.Decompress) : file;
        await using (tarStream)
        {
            using var tar = new TarReader(tarStream);
            try
            {
                while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
                {
                    Count();
                    RefuseEscapingName(entry.Name);
                    switch (entry.EntryType)
                    {
                        case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                            if (entry.DataStream is { } data)
                            {
                                await Add(data, entry.Length);
                            }

                            break;
                        case TarEntryType.Directory or TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes:
                            break;
                        default:
                            throw new InvalidDataException($"the archive holds a {entry.EntryType} entry ({entry.Name}); only regular files are taken");
                    }
                }
            }
            catch (Exception e) when (e is FormatException or EndOfStreamException)
            {
                throw new InvalidDataException($"the body is not a zip, tar or tar.gz archive: {e.Message}");
            }
        }

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

    /// <summary>Names are never used as paths here, but an absolute or <c>..</c> name marks a hostile or broken archive, refused whole.</summary>
    private static void RefuseEscapingName(string name)
    {
        var normalized = name.Replace('\\', '/');
        if (normalized.StartsWith('/') || normalized.Split('/').Contains("..") || normalized.Contains('\0') || (normalized.Length > 1 && normalized[1] == ':'))
        {
            throw new InvalidDataException($"the archive holds an entry that escapes its root ('{(name.Length > 100 ? name[..100] + "…" : name)}')");
        }
    }

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
