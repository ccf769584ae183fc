using System.Formats.Tar;
using System.IO.Compression;

namespace PandaFuzz.Infrastructure.Archives;

/// <summary>
/// What an archive may expand to: entries (directories and empty files count too), bytes of one entry, bytes of all, and
/// the expansion over the archive's own size (<c>total ≤ compressed × MaxRatio + RatioAllowanceBytes</c>).
/// </summary>
public sealed record ArchiveLimits(int MaxEntries, long MaxEntryBytes, long MaxTotalBytes, int MaxRatio, long RatioAllowanceBytes);

public enum ArchiveFormat
{
    Zip,
    Tar,
    TarGz,
}

/// <summary>A regular file of an archive: its <see cref="Path"/> with '/' between parts and no empty or '.' part, and its unix mode.</summary>
public sealed record ArchiveFile(string Path, UnixFileMode Mode)
{
    public bool Executable => (Mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}

/// <summary>
/// Walks a zip, tar or tar.gz archive that came from outside (a corpus upload, a build bundle) as if it were an attack:
/// links, devices and other special entries are refused, and so are names that are absolute, hold <c>..</c>, a NUL or a
/// drive letter; entry count, entry size, total size and compression ratio are bounded on the bytes actually read, not
/// on what the archive declares. Every refusal is an <see cref="InvalidDataException"/> saying why.
/// </summary>
public static class HostileArchive
{
    /// <summary>By magic bytes: <c>PK\3\4</c> a zip, <c>1f 8b</c> a gzip (taken as tar.gz), <c>ustar</c> at 257 a tar; else null.</summary>
    public static ArchiveFormat? Detect(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4 ? ArchiveFormat.Zip
        : head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b ? ArchiveFormat.TarGz
        : head.Length >= 262 && head[257..262].SequenceEqual("ustar"u8) ? ArchiveFormat.Tar
        : null;

    /// <summary>The format of the file at <paramref name="path"/> by its first bytes; null for anything else (an ELF binary).</summary>
    public static ArchiveFormat? Detect(string path)
    {
        using var file = File.OpenRead(path);
        var head = new byte[262];
        var read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return Detect(head.AsSpan(0, read));
    }

    /// <summary>
    /// Calls <paramref name="onFile"/> with each regular file and its content, in archive order; what it leaves unread is
    /// read after it (so the bounds hold whatever it did). A zip's declared sizes are checked before any byte is inflated.
    /// An archive that is not a zip is read as a tar, gzipped or not.
    /// </summary>
    public static async Task WalkAsync(string archivePath, ArchiveLimits limits, Func<ArchiveFile, Stream, Task> onFile, CancellationToken ct)
    {
        var budget = new Budget(limits, new FileInfo(archivePath).Length);
        await using var file = File.OpenRead(archivePath);
        var head = new byte[4];
        var read = await file.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, ct);
        file.Position = 0;
        if (Detect(head.AsSpan(0, read)) == ArchiveFormat.Zip)
        {
            await WalkZipAsync(file, budget, onFile, ct);
        }
        else
        {
            await WalkTarAsync(read >= 2 && head[0] == 0x1f && head[1] == 0x8b ? new GZipStream(file, CompressionMode.Decompress) : file, budget, onFile, ct);
        }
    }

    private static async Task WalkZipAsync(Stream file, Budget budget, Func<ArchiveFile, Stream, Task> onFile, CancellationToken ct)
    {
        using var zip = new ZipArchive(file, ZipArchiveMode.Read);
        // The central directory first: a bomb or a link is refused before anything is inflated.
        var files = new List<(ZipArchiveEntry Entry, ArchiveFile File)>();
        long declared = 0;
        foreach (var entry in zip.Entries)
        {
            budget.Count();
            var path = CheckedPath(entry.FullName);
            // Unix mode bits in the upper half of ExternalAttributes (0 from a zip made elsewhere): 0x8000 a file, 0x4000 a folder.
            var mode = entry.ExternalAttributes >> 16;
            var type = mode & 0xF000;
            var isDirectory = entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\') || type == 0x4000;
            if (type is not (0 or 0x8000 or 0x4000))
            {
                throw new InvalidDataException(type == 0xA000
                    ? $"the archive holds a link ({Shown(entry.FullName)}); only regular files are taken"
                    : $"the archive holds a special file ({Shown(entry.FullName)}); only regular files are taken");
            }

            if (isDirectory)
            {
                continue;
            }

            budget.Declared(entry.Length);
            declared += entry.Length;
            files.Add((entry, new ArchiveFile(path ?? throw Unnamed(entry.FullName), (UnixFileMode)(mode & 0xFFF))));
        }

        budget.CheckTotal(declared);
        foreach (var (entry, archiveFile) in files)
        {
            await using var content = await entry.OpenAsync(ct);
            await Hand(archiveFile, content, budget, onFile, ct);
        }
    }

    private static async Task WalkTarAsync(Stream tarStream, Budget budget, Func<ArchiveFile, Stream, Task> onFile, CancellationToken ct)
    {
        await using (tarStream)
        {
            using var tar = new TarReader(tarStream);
            try
            {
                while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
                {
                    budget.Count();
                    var path = CheckedPath(entry.Name);
                    switch (entry.EntryType)
                    {
                        case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                            budget.Declared(entry.Length);
                            await Hand(new ArchiveFile(path ?? throw Unnamed(entry.Name), entry.Mode), entry.DataStream ?? Stream.Null, budget, onFile, ct);
                            break;
                        case TarEntryType.Directory or TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes:
                            break;
                        default:
                            throw new InvalidDataException($"the archive holds a {entry.EntryType} entry ({Shown(entry.Name)}); only regular files are taken");
                    }
                }
            }
            catch (Exception e) when (e is FormatException or EndOfStreamException)
            {
                throw new InvalidDataException($"the body is not a zip, tar or tar.gz archive: {e.Message}");
            }
        }
    }

    private static async Task Hand(ArchiveFile file, Stream content, Budget budget, Func<ArchiveFile, Stream, Task> onFile, CancellationToken ct)
    {
        await using var bounded = new BoundedStream(content, budget);
        await onFile(file, bounded);
        await bounded.CopyToAsync(Stream.Null, ct);
    }

    /// <summary>
    /// The entry's name as a relative path ('/' between parts, no empty or '.' part; null for the root itself), or an
    /// <see cref="InvalidDataException"/> for a name that is absolute, holds <c>..</c>, a NUL or a drive letter: a
    /// hostile or broken archive, refused whole.
    /// </summary>
    public static string? CheckedPath(string name)
    {
        var normalized = name.Replace('\\', '/');
        var parts = normalized.Split('/');
        if (normalized.StartsWith('/') || parts.Contains("..") || normalized.Contains('\0') || (normalized.Length > 1 && normalized[1] == ':'))
        {
            throw new InvalidDataException($"the archive holds an entry that escapes its root ('{Shown(name)}')");
        }

        var kept = parts.Where(p => p is not ("" or ".")).ToList();
        return kept.Count == 0 ? null : string.Join('/', kept);
    }

    private static InvalidDataException Unnamed(string name) => new($"the archive holds a file without a name ('{Shown(name)}')");

    private static string Shown(string name) => name.Length > 100 ? name[..100] + "…" : name;

    /// <summary>What one walk has used of its limits.</summary>
    private sealed class Budget(ArchiveLimits limits, long compressed)
    {
        private int _entries;
        private long _total;

        public void Count()
        {
            if (++_entries > limits.MaxEntries)
            {
                throw new InvalidDataException($"the archive has more than {limits.MaxEntries} entries");
            }
        }

        public void Declared(long length)
        {
            if (length > limits.MaxEntryBytes)
            {
                throw TooLarge();
            }
        }

        public void CheckTotal(long total)
        {
            if (total > limits.MaxTotalBytes || total > Math.Max(compressed, 1) * limits.MaxRatio + limits.RatioAllowanceBytes)
            {
                throw new InvalidDataException("the archive expands to more than allowed (size or compression ratio)");
            }
        }

        public void Read(long entrySoFar, int read)
        {
            if (entrySoFar > limits.MaxEntryBytes)
            {
                throw TooLarge();
            }

            _total += read;
            CheckTotal(_total);
        }

        private InvalidDataException TooLarge() => new($"an archive entry is larger than {limits.MaxEntryBytes} bytes");
    }

    /// <summary>One entry's content, counted against the walk's budget as it is read.</summary>
    private sealed class BoundedStream(Stream inner, Budget budget) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Counted(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Counted(int read)
        {
            _read += read;
            budget.Read(_read, read);
            return read;
        }
    }
}
