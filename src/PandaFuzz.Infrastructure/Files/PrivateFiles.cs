namespace PandaFuzz.Infrastructure.Files;

/// <summary>
/// Files and folders only the node's own user may read: the journal, the read model and the blob store hold every
/// campaign's targets, crash inputs and settings. Made so before anything is written to them (an existing one is
/// tightened), so no moment leaves them readable by others.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// A folder of mode 0700 (made with it when missing). What is made inside later keeps the process's umask, but no
    /// other user can reach it through this folder.
    /// </summary>
    public static void Folder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path, FolderMode);
        }

        File.SetUnixFileMode(path, FolderMode);
    }

    /// <summary>
    /// A file of mode 0600, made empty when missing (SQLite opens an empty file as a new database), and the same for
    /// its SQLite companions (<c>-wal</c>, <c>-shm</c>, <c>-journal</c>) that already exist; SQLite makes new ones with
    /// the database file's mode.
    /// </summary>
    public static void DatabaseFile(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (!File.Exists(path))
        {
            using var created = new FileStream(path, new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = FileMode });
        }

        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" }.Where(File.Exists))
        {
            File.SetUnixFileMode(file, FileMode);
        }
    }
}
