namespace PandaFuzz.Infrastructure.Files;

/// <summary>Files and folders only the node's own user may read: they hold every campaign's targets, crash inputs and
/// settings. Made so before anything is written to them, so no moment leaves them readable by others.</summary>
public static class PrivateFiles
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Mode 0700: what is made inside later keeps the umask, but no other user can reach it through this folder.</summary>
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

    /// <summary>Mode 0600, made empty when missing (SQLite opens an empty file as a new database), and the same for the
    /// existing <c>-wal</c>, <c>-shm</c>, <c>-journal</c> companions; SQLite makes new ones with the database file's mode.</summary>
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
