namespace PandaFuzz.Bot.Sandboxing;

/// <summary>
/// Writes of the bot into a job's work dir, where a sandboxed target may have planted symbolic links: a path is cleared
/// of a planted link before the bot writes through it, so a root bot never follows a target's link out of the work dir.
/// Only the link itself is removed, never what it points to. (Hard links to others' files are refused by the kernel's
/// <c>fs.protected_hardlinks</c>, on by default.)
/// </summary>
public static class WorkDirFiles
{
    /// <summary>Removes a symbolic link at <paramref name="path"/> (a file or directory link); anything else stays.</summary>
    public static void RemovePlantedLink(string path)
    {
        var entry = new FileInfo(path);
        if (entry.LinkTarget is not null)
        {
            entry.Delete();
        }
    }

    /// <summary>Makes <paramref name="path"/> a directory, replacing a planted link at it (and at each level below <paramref name="root"/>).</summary>
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

    /// <summary>
    /// Makes <paramref name="path"/> an empty directory (as <see cref="EnsureDirectory"/>), removing what is in it: links
    /// as links, never what they point to.
    /// </summary>
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

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> in a work dir: the old entry (or planted link) is removed, the new file created exclusively.</summary>
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
