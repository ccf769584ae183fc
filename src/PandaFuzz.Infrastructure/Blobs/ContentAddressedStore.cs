using System.Security.Cryptography;
using PandaFuzz.Protocol;

namespace PandaFuzz.Infrastructure.Blobs;

/// <summary>
/// Blobs on disk named by their sha256 (<c>root/ab/abcd…</c>). Writes go to a temporary file that is flushed
/// and then renamed into place, so a killed process never leaves a half-written blob under its final name.
/// </summary>
public sealed class ContentAddressedStore
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

    /// <summary>Stores a stream, refusing more than <paramref name="maxBytes"/>; returns its address and size.</summary>
    public async Task<(BlobId Id, long Size)> PutAsync(Stream source, long maxBytes, CancellationToken ct = default)
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
                output.Flush(flushToDisk: true);
            }

            var id = new BlobId(Convert.ToHexStringLower(hash.GetHashAndReset()));
            Commit(temp, id);
            return (id, size);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Stores bytes that must hash to <paramref name="expected"/>.</summary>
    public async Task PutVerifiedAsync(BlobId expected, string tempFile, CancellationToken ct = default)
    {
        await using (var input = File.OpenRead(tempFile))
        {
            var actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(input, ct));
            if (actual != expected.Sha256)
            {
                throw new InvalidDataException($"blob {expected} arrived with sha256 {actual}");
            }
        }

        Commit(tempFile, expected);
    }

    /// <summary>A fresh temporary file inside the store, on the same file system as the blobs.</summary>
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

    private void Commit(string temp, BlobId id)
    {
        var final = PathOf(id);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        if (File.Exists(final))
        {
            File.Delete(temp);
            return;
        }

        File.Move(temp, final, overwrite: true);
    }
}

/// <summary>A blob over the configured limit.</summary>
public sealed class BlobTooLargeException(long limit) : Exception($"the body is larger than the limit of {limit} bytes")
{
    public long Limit { get; } = limit;
}
