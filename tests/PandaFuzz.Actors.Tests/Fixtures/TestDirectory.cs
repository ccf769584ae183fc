using PandaFuzz.Master.Persistence;
using Microsoft.Data.Sqlite;

namespace PandaFuzz.Actors.Tests.Fixtures;

/// <summary>A fresh folder under the system temp dir for one test: the SQLite journal and the blob stores live here.</summary>
public sealed class TestDirectory : IDisposable
{
    public TestDirectory()
    {
        Root = Path.Combine(Path.GetTempPath(), "pandafuzz-actors-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        DatabasePath = Path.Combine(Root, "pandafuzz.db");
        SqliteJournal.EnableWriteAheadLog(DatabasePath);
    }

    public string Root { get; }

    public string DatabasePath { get; }

    public string PathOf(string name) => Path.Combine(Root, name);

    public void Dispose()
    {
        // Pooled connections keep the file open; release them before deleting it.
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A straggling handle must not fail the test; the OS temp cleanup takes the rest.
        }
    }
}
