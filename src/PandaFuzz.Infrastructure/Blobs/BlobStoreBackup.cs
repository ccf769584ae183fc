using System.Security.Cryptography;
using PandaFuzz.Protocol;

namespace PandaFuzz.Infrastructure.Blobs;

/// <summary>What a blob copy did: blobs copied (and their bytes), already there, and found damaged at the source.</summary>
/// <param name="Damaged">Source files whose content does not hash to their name: not copied, listed for the operator.</param>
public sealed record BlobCopyResult(int Copied, long CopiedBytes, int AlreadyThere, IReadOnlyList<string> Damaged);

/// <summary>
/// Copies a live <see cref="ContentAddressedStore"/>'s blobs into another directory with the same layout
/// (<c>ab/abcd…</c>), which a master can use as its blob store. Blobs are named by their content and never change
/// once in place (written to a temporary file and renamed), so a blob already in the destination under its name is
/// skipped: a repeated backup into the same directory copies only the new ones. The store's own files are read, not
/// opened through <see cref="ContentAddressedStore"/>, whose constructor deletes unfinished writes in
/// <c>incoming/</c>: that would break the running master's uploads.
/// </summary>
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

    /// <summary>Copies through a temporary file, checking the sha256 on the way; null when the content does not match its name.</summary>
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
