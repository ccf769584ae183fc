using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>The name each target was uploaded under, kept so a campaign can carry it: timeouts' and OOMs' crash state is the target's name.</summary>
public static class TargetNames
{
    public static void Remember(ContentAddressedStore blobs, BlobId target, string name)
    {
        var directory = DirectoryOf(blobs);
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{target.Sha256}.{Guid.NewGuid():N}");
        File.WriteAllText(temp, name);
        File.Move(temp, Path.Combine(directory, target.Sha256), overwrite: true); // whole or not at all
    }

    public static string? Find(ContentAddressedStore blobs, BlobId target)
    {
        var path = Path.Combine(DirectoryOf(blobs), target.Sha256);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    private static string DirectoryOf(ContentAddressedStore blobs) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(blobs.Root).TrimEnd(Path.DirectorySeparatorChar))!, "target-names");
}
