using System.Text;
using PandaFuzz.Domain.Engines;
using PandaFuzz.Domain.Targets;
using PandaFuzz.Infrastructure.Archives;
using PandaFuzz.Protocol;

namespace PandaFuzz.Infrastructure.Bundles;

/// <summary>
/// Build bundles (a zip or tar.gz of fuzz targets, shared libraries, <c>.options</c>, seed corpora and dictionaries), read
/// as the hostile archives they may be (<see cref="HostileArchive"/>): the master indexes one before storing it and reads
/// single files of it later; a bot extracts one into a fresh folder. Every refusal is an <see cref="InvalidDataException"/>.
/// </summary>
public static class BundleArchive
{
    /// <summary>At most this many entries (an OSS-Fuzz <c>out/</c> of many targets stays far below).</summary>
    public const int MaxEntries = 10_000;

    /// <summary>An entry may expand to this many times the archive's size, plus <see cref="RatioAllowanceBytes"/>: binaries compress 3-5 times, zeros a thousand.</summary>
    public const int MaxRatio = 100;

    public const long RatioAllowanceBytes = 16L * 1024 * 1024;

    private static readonly byte[] FuzzerEntry = "LLVMFuzzerTestOneInput"u8.ToArray();

    /// <summary>The limits of a bundle whose files may expand to <paramref name="maxTotalBytes"/> in all (<c>pandafuzz.master.max-target-size</c>).</summary>
    public static ArchiveLimits Limits(long maxTotalBytes) => new(MaxEntries, maxTotalBytes, maxTotalBytes, MaxRatio, RatioAllowanceBytes);

    /// <summary>A zip or gzip body is a bundle; anything else (an ELF binary) is a plain binary upload.</summary>
    public static bool IsBundle(string path) => HostileArchive.Detect(path) is ArchiveFormat.Zip or ArchiveFormat.TarGz;

    /// <summary>Reads the whole bundle and says what it holds; refused when hostile, over a limit, without a fuzz target or with two of one name.</summary>
    public static async Task<BundleIndex> IndexAsync(string archivePath, ArchiveLimits limits, CancellationToken ct)
    {
        var files = new List<BundleFile>();
        var paths = new HashSet<string>(StringComparer.Ordinal);
        await HostileArchive.WalkAsync(archivePath, limits, async (file, content) =>
        {
            CheckPath(file.Path, paths);
            files.Add(await ScanAsync(file.Path, content, ct));
        }, ct);

        var (index, problem) = BundleIndexer.Index(files);
        return index ?? throw new InvalidDataException(problem);
    }

    /// <summary>
    /// Writes the bundle's regular files into <paramref name="destination"/>, which must not exist yet: each file created
    /// exclusively (never through a link, never over another), executable (0755) when its archive mode says so, else 0644,
    /// its folders 0755. A refused bundle leaves no folder behind.
    /// </summary>
    public static async Task ExtractAsync(string archivePath, string destination, ArchiveLimits limits, CancellationToken ct)
    {
        var root = Path.GetFullPath(destination);
        if (Directory.Exists(root) || File.Exists(root))
        {
            throw new IOException($"{root} exists already: a bundle is extracted into a fresh folder");
        }

        CreateFolder(root);
        try
        {
            var paths = new HashSet<string>(StringComparer.Ordinal);
            await HostileArchive.WalkAsync(archivePath, limits, async (file, content) =>
            {
                CheckPath(file.Path, paths);
                var target = Path.Combine(root, file.Path);
                CreateFolders(root, file.Path);
                var options = new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    Share = FileShare.None,
                    Options = FileOptions.Asynchronous,
                };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = file.Executable ? ExecutableMode : FileModeOf;
                }

                FileStream output;
                try
                {
                    // O_CREAT | O_EXCL: fails on anything already there, a link included, and never follows one.
                    output = new FileStream(target, options);
                }
                catch (IOException e)
                {
                    throw new InvalidDataException($"the bundle's {Shown(file.Path)} cannot be written: {e.Message}");
                }

                await using (output)
                {
                    await content.CopyToAsync(output, ct);
                }
            }, ct);
        }
        catch
        {
            Directory.Delete(root, recursive: true);
            throw;
        }
    }

    /// <summary>The bytes of one file of the bundle (a dictionary), at most <paramref name="maxBytes"/>; null when the bundle has no such file.</summary>
    public static async Task<byte[]?> ReadFileAsync(string archivePath, string pathInside, long maxBytes, ArchiveLimits limits, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        return await CopyFileAsync(archivePath, pathInside, buffer, maxBytes, limits, ct) ? buffer.ToArray() : null;
    }

    /// <summary>
    /// Copies one file of the bundle (a seed corpus zip, for <c>CorpusArchive.ImportAsync</c>) into <paramref name="output"/>,
    /// at most <paramref name="maxBytes"/>; false when the bundle has no such file.
    /// </summary>
    public static async Task<bool> CopyFileAsync(string archivePath, string pathInside, Stream output, long maxBytes, ArchiveLimits limits, CancellationToken ct)
    {
        var wanted = HostileArchive.CheckedPath(pathInside) ?? throw new ArgumentException("a path inside the bundle names a file", nameof(pathInside));
        var found = false;
        await HostileArchive.WalkAsync(archivePath, limits, async (file, content) =>
        {
            if (found || file.Path != wanted)
            {
                return;
            }

            found = true;
            var buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = await content.ReadAsync(buffer, ct)) > 0)
            {
                total += read;
                if (total > maxBytes)
                {
                    throw new InvalidDataException($"the bundle's {Shown(wanted)} is larger than {maxBytes} bytes");
                }

                await output.WriteAsync(buffer.AsMemory(0, read), ct);
            }
        }, ct);
        return found;
    }

    private const UnixFileMode FileModeOf = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode ExecutableMode = FileModeOf | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>A path taken once, without control characters: a bundle's paths become file names on a bot.</summary>
    private static void CheckPath(string path, HashSet<string> seen)
    {
        if (path.Any(char.IsControl))
        {
            throw new InvalidDataException($"the bundle holds a name with a control character ('{Shown(path)}')");
        }

        if (!seen.Add(path))
        {
            throw new InvalidDataException($"the bundle holds {Shown(path)} twice");
        }
    }

    private static void CreateFolders(string root, string path)
    {
        var folder = root;
        var parts = path.Split('/');
        foreach (var part in parts[..^1])
        {
            folder = Path.Combine(folder, part);
            var info = new DirectoryInfo(folder);
            if (info.Exists && info.LinkTarget is null)
            {
                continue;
            }

            if (info.Exists || File.Exists(folder))
            {
                throw new InvalidDataException($"the bundle's {Shown(path)} is under a file of the bundle");
            }

            CreateFolder(folder);
        }
    }

    private static void CreateFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
    }

    /// <summary>Reads one file through: ELF or not, loadable (executable or shared object), with libFuzzer's entry point; a small <c>.options</c> file's text.</summary>
    private static async Task<BundleFile> ScanAsync(string path, Stream content, CancellationToken ct)
    {
        var isOptions = path.EndsWith(".options", StringComparison.Ordinal);
        var keep = isOptions ? new MemoryStream() : null;
        var window = new byte[64 * 1024 + FuzzerEntry.Length];
        var head = new byte[18];
        var headLength = 0;
        var carry = 0;
        long size = 0;
        var found = false;
        int read;
        while ((read = await content.ReadAsync(window.AsMemory(carry, window.Length - carry), ct)) > 0)
        {
            var chunk = window.AsSpan(carry, read);
            if (headLength < head.Length)
            {
                var take = Math.Min(head.Length - headLength, read);
                chunk[..take].CopyTo(head.AsSpan(headLength));
                headLength += take;
            }

            if (keep is not null)
            {
                if (size + read <= OptionsFile.MaxBytes)
                {
                    keep.Write(chunk);
                }
                else
                {
                    keep = null;
                }
            }

            size += read;
            var span = window.AsSpan(0, carry + read);
            found = found || span.IndexOf(FuzzerEntry) >= 0;
            // The needle may straddle two reads: keep its length less one byte.
            carry = Math.Min(FuzzerEntry.Length - 1, span.Length);
            span[^carry..].CopyTo(window);
        }

        var elf = headLength >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F';
        // e_type at offset 16, in the file's byte order (EI_DATA at 5: 1 little-endian, 2 big-endian): 2 ET_EXEC, 3 ET_DYN.
        var type = headLength >= 18 ? (head[5] == 2 ? head[16] << 8 | head[17] : head[17] << 8 | head[16]) : 0;
        string? text = null;
        if (keep is not null)
        {
            try
            {
                text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(keep.ToArray());
            }
            catch (DecoderFallbackException)
            {
                text = null;
            }
        }

        return new BundleFile(path, size, elf, elf && type is 2 or 3, elf && found) { Text = text };
    }

    private static string Shown(string name) => name.Length > 100 ? name[..100] + "…" : name;
}
