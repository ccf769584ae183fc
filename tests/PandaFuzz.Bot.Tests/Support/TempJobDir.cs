using PandaFuzz.Bot.Engines;

namespace PandaFuzz.Bot.Tests.Support;

/// <summary>A job work dir (corpus, artifacts, out) under a fresh temp folder, deleted on dispose.</summary>
internal sealed class TempJobDir : IDisposable
{
    public TempJobDir()
    {
        Dir = new JobWorkDir(Path.Combine(Path.GetTempPath(), "pandafuzz-bot-tests-" + Guid.NewGuid().ToString("N")[..12]));
        Dir.Create();
    }

    public JobWorkDir Dir { get; }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="relativePath"/> under the root, creating its folders.</summary>
    public string Write(string relativePath, byte[] bytes)
    {
        var path = Path.Combine(Dir.Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string Write(string relativePath, string text) => Write(relativePath, System.Text.Encoding.UTF8.GetBytes(text));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir.Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
