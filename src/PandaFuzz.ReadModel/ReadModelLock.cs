namespace PandaFuzz.ReadModel;

/// <summary>
/// The one writer of a read model: the master's projection, or an offline rebuild. An exclusive lock on
/// <c>readmodel.db.lock</c> (flock on Linux) marks it; the OS drops the lock when its process dies.
/// </summary>
public sealed class ReadModelLock : IDisposable
{
    private readonly FileStream _file;

    private ReadModelLock(FileStream file) => _file = file;

    /// <summary>The lock, or null when another process (or another projection in this one) holds it.</summary>
    public static ReadModelLock? TryAcquire(ReadModelDatabase database)
    {
        var path = database.Path + ".lock";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try
        {
            return new ReadModelLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose() => _file.Dispose();
}
