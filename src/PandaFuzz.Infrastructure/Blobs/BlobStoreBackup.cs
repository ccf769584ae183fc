using System.Security.Cryptography;
using PandaFuzz.Protocol;

namespace PandaFuzz.Infrastructure.Blobs;

/// <summary>What a blob copy did; <paramref name="Damaged"/>: source files that do not hash to their name, not copied.</summary>
public sealed record BlobCopyResult(int Copied, long CopiedBytes, int AlreadyThere, IReadOnlyList<string> Damaged);

/// <summary>Copies a live store's blobs into another directory with the same layout, usable as a master's blob store.
/// Blobs never change once in place, so one already in the destination is skipped and a repeated backup copies only the
/// new ones. The files are read directly, not through <see cref="ContentAddressedStore"/>, whose constructor deletes
/// unfinished writes in <c>incoming/</c> and would break the running master's uploads.</summary>
public static class BlobStoreBackup
{
    public static BlobCopyResult Copy(string storeRoot, string destinationRoot, CancellationToken ct = default)
    {
        storeRoot = Path.GetFullPath(storeRoot);
        destinationRoot = Path.GetFullPath(destinationRoot);
        if (!Directory.Exists(storeRoot))
        {
            return new BlobCopyResult(0, 0, 0, []);
        }

        Directory.CreateDirectory(destinationRoot);
        int copied = 0, there = 0;
        long bytes = 0;
        var damaged = new List<string>();
        // Only the two-hex-digit folders hold blobs; incoming/ holds writes in progress.
        foreach (var folder in Directory.EnumerateDirectories(storeRoot).Where(d => Path.GetFileName(d) is { Length: 2 } n && n.All(char.IsAsciiHexDigitLower)))
        {
            foreach (var file in Directory.EnumerateFiles(folder))
            {
                ct.ThrowIfCancellationRequested();
                var name = Path.GetFileName(file);
                if (!BlobId.TryParse(name, out _) || !name.StartsWith(Path.GetFileName(folder), StringComparison.Ordinal))
                {
                    continue;
                }

                var target = Path.Combine(destinationRoot, name[..2], name);
                if (File.Exists(target) && new FileInfo(target).Length == new FileInfo(file).Length)
                {
                    there++;
                    continue;
                }

                var size = CopyVerified(file, target, name);
                if (size is null)
                {
                    damaged.Add(file);
                    continue;
                }

                copied++;
                bytes += size.Value;
            }
        }

        return new BlobCopyResult(copied, bytes, there, damaged);
    }

    private static long? CopyVerified(string source, string target, string sha256)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = Path.Combine(Path.GetDirectoryName(target)!, $".{sha256}.{Guid.NewGuid():N}");
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024))
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                var buffer = new byte[64 * 1024];
                int read;
                while ((read = input.Read(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    output.Write(buffer, 0, read);
                    size += read;
                }

                output.Flush(flushToDisk: true);
            }

            if (Convert.ToHexStringLower(hash.GetHashAndReset()) != sha256)
            {
                return null;
            }

            File.Move(temp, target, overwrite: true);
            return size;
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
