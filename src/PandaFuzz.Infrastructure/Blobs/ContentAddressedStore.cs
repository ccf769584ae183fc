using System.Security.Cryptography;
using PandaFuzz.Protocol;

namespace PandaFuzz.Infrastructure.Blobs;

/// <summary>Blobs on disk named by their sha256 (<c>root/ab/abcd…</c>). Writes are flushed to a temporary file and renamed
/// into place, so a killed process never leaves a half-written blob under its final name.</summary>
public sealed partial class ContentAddressedStore
{
    private readonly string _root;
    private readonly string _incoming;

    public ContentAddressedStore(string root)
    {
        _root = Path.GetFullPath(root);
        _incoming = Path.Combine(_root, "incoming");
        Directory.CreateDirectory(_incoming);
        // Leftovers of writes interrupted by a crash are never referenced.
        foreach (var stale in Directory.EnumerateFiles(_incoming))
        {
            File.Delete(stale);
        }
    }

    public string Root => _root;

    /// <summary>The file of a blob; the id is validated, so the path never leaves the store.</summary>
    public string PathOf(BlobId id)
    {
        if (!BlobId.TryParse(id.Sha256, out _))
        {
            throw new ArgumentException("Not a sha256 blob id", nameof(id));
        }

        return Path.Combine(_root, id.Sha256[..2], id.Sha256);
    }

    public bool Contains(BlobId id) => File.Exists(PathOf(id));

    public long? SizeOf(BlobId id)
    {
        var info = new FileInfo(PathOf(id));
        return info.Exists ? info.Length : null;
    }

    public FileStream OpenRead(BlobId id) => new(PathOf(id), FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);

    public async Task<(BlobId Id, long Size)> PutAsync(Stream source, long maxBytes, CancellationToken ct = default)
    {
        using var staged = await StageAsync(source, maxBytes, flushToDisk: true, ct);
        Commit(staged);
        return (staged.Id, staged.Size);
    }

    /// <summary>Writes a stream to the incoming folder without making it a blob yet: a batch (an archive's inputs) is staged
    /// whole and committed only when all of it passed, so a refused batch leaves the store as it was. Without
    /// <paramref name="flushToDisk"/>, <see cref="FlushStaged"/> flushes a whole batch at once.</summary>
    public async Task<StagedBlob> StageAsync(Stream source, long maxBytes, bool flushToDisk, CancellationToken ct = default)
    {
        var temp = Path.Combine(_incoming, Guid.NewGuid().ToString("N"));
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                var buffer = new byte[64 * 1024];
                int read;
                while ((read = await source.ReadAsync(buffer, ct)) > 0)
                {
                    size += read;
                    if (size > maxBytes)
                    {
                        throw new BlobTooLargeException(maxBytes);
                    }

                    hash.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), ct);
                }

                await output.FlushAsync(ct);
                if (flushToDisk)
                {
                    output.Flush(flushToDisk: true);
                }
            }

            return new StagedBlob(new BlobId(Convert.ToHexStringLower(hash.GetHashAndReset())), size, temp);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>One <c>syncfs</c> of the store's file system instead of an fsync per file: an archive of many small inputs
    /// commits in a moment.</summary>
    public void FlushStaged(StagedBlob any)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // Any file of the store's file system names it to syncfs.
        using var handle = File.OpenHandle(any.TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.None);
        if (SyncFs(handle.DangerousGetHandle().ToInt32()) != 0)
        {
            throw new IOException($"syncfs of the blob store failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>An fsync of one staged blob: cheaper than a <c>syncfs</c> when it is the only one.</summary>
    public void FlushStagedFile(StagedBlob staged)
    {
        using var file = new FileStream(staged.TempPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        file.Flush(flushToDisk: true);
    }

    public void Commit(StagedBlob staged)
    {
        if (!staged.Committed)
        {
            Commit(staged.TempPath, staged.Id);
            staged.Committed = true;
        }
    }

    /// <summary>On the same file system as the blobs, so the final rename is atomic.</summary>
    public string NewTempFile() => Path.Combine(_incoming, Guid.NewGuid().ToString("N"));

    public bool Delete(BlobId id)
    {
        var path = PathOf(id);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);

    private void Commit(string temp, BlobId id)
    {
        var final = PathOf(id);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        if (File.Exists(final))
        {
            // The same bytes stored again are in use again: young, so a collection running now does not take them.
            File.SetLastWriteTimeUtc(final, DateTime.UtcNow);
            File.Delete(temp);
            return;
        }

        File.Move(temp, final, overwrite: true);
    }
}

/// <summary>A stream written to the store's incoming folder, hashed, not yet a blob (see <see cref="ContentAddressedStore.StageAsync"/>).</summary>
public sealed class StagedBlob(BlobId id, long size, string tempPath) : IDisposable
{
    public BlobId Id { get; } = id;

    public long Size { get; } = size;

    public string TempPath { get; } = tempPath;

    public bool Committed { get; internal set; }

    public void Dispose()
    {
        if (!Committed)
        {
            File.Delete(TempPath);
        }
    }
}

/// <summary>A blob over the configured limit.</summary>
public sealed class BlobTooLargeException(long limit) : Exception($"the body is larger than the limit of {limit} bytes")
{
    public long Limit { get; } = limit;
}
