namespace PandaFuzz.Bot.Sandboxing;

/// <summary>
/// Writes into a work dir where a sandboxed target may have planted symbolic links: a path is cleared of a link (never
/// what it points to) before a root bot writes through it. Hard links are refused by <c>fs.protected_hardlinks</c>.
/// </summary>
public static class WorkDirFiles
{
    public static void RemovePlantedLink(string path)
    {
        var entry = new FileInfo(path);
        if (entry.LinkTarget is not null)
        {
            entry.Delete();
        }
    }

    public static void EnsureDirectory(string root, string path)
    {
        var relative = Path.GetRelativePath(root, path);
        var current = root;
        foreach (var part in relative.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            RemovePlantedLink(current);
            Directory.CreateDirectory(current);
        }
    }

    public static void EnsureEmptyDirectory(string root, string path)
    {
        EnsureDirectory(root, path);
        foreach (var entry in new DirectoryInfo(path).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo { LinkTarget: null } folder)
            {
                // .NET removes the links inside a tree it deletes without following them.
                folder.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }
    }

    public static void CopyIn(string source, string destination)
    {
        RemovePlantedLink(destination);
        File.Delete(destination);
        // CreateNew fails on anything that appeared since (O_EXCL, which also refuses a link), rather than write through it.
        using var from = File.OpenRead(source);
        using var to = new FileStream(destination, FileMode.CreateNew, FileAccess.Write);
        from.CopyTo(to);
    }
}
