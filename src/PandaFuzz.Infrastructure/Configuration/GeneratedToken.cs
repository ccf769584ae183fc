using System.Security.Cryptography;
using System.Text;

namespace PandaFuzz.Infrastructure.Configuration;

/// <summary>A secret a node makes for itself when the operator configured none: kept in its data dir, readable by its owner
/// only, the same at every start.</summary>
public static class GeneratedToken
{
    /// <summary>Null when the file holds something that is not one token.</summary>
    public static string? ReadOrCreate(string path, Func<string, bool> isToken)
    {
        if (File.Exists(path))
        {
            var kept = File.ReadAllText(path).Trim();
            return isToken(kept) ? kept : null;
        }

        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        {
            stream.Write(Encoding.ASCII.GetBytes(token + "\n"));
            stream.Flush(flushToDisk: true);
        }

        // Two nodes starting on one data dir: the first file stands, and both read it.
        try
        {
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temp);
            return ReadOrCreate(path, isToken);
        }

        return token;
    }
}
