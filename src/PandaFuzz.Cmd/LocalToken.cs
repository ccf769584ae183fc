namespace PandaFuzz.Cmd;

/// <summary>
/// The command host's token when none is given: a node with no configured token keeps the one it made in
/// <c>cmd-token</c> under its data dir (readable by its owner only), so whoever may read that file may command it.
/// </summary>
public static class LocalToken
{
    public const string FileVariable = "PANDAFUZZ_CMD_TOKEN_FILE";
    public const string DataDirVariable = "PANDAFUZZ_DATA_DIR";
    public const string FileName = "cmd-token";

    /// <summary>The first token found in PANDAFUZZ_CMD_TOKEN_FILE, PANDAFUZZ_DATA_DIR/cmd-token or ./data/cmd-token; null when none can be read.</summary>
    public static string? Read(Func<string, string?> env)
    {
        var candidates = new List<string>();
        if (env(FileVariable) is { Length: > 0 } file)
        {
            candidates.Add(file);
        }

        if (env(DataDirVariable) is { Length: > 0 } dataDir)
        {
            candidates.Add(Path.Combine(dataDir, FileName));
        }

        // The node's own default data dir.
        candidates.Add(Path.Combine(Environment.CurrentDirectory, "data", FileName));
        foreach (var candidate in candidates)
        {
            try
            {
                if (File.ReadLines(candidate).Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#')) is { } token)
                {
                    return token;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Not there, or not ours to read: the next place, else no token (the host says what it wants).
            }
        }

        return null;
    }
}
