using System.Text.RegularExpressions;

namespace PandaFuzz.Bot.Engines;

/// <summary>The engine's own words for why a run failed: its last line with an error marker, else its last line.</summary>
public static partial class EngineFailure
{
    private const int MaxLength = 500;

    private static readonly string[] Markers =
        ["PROGRAM ABORT", "ERROR:", "error while loading shared libraries", "FATAL", "Fatal error", "No such file or directory"];

    public static string Summarize(string tail)
    {
        var lines = tail.Split('\n')
            .Select(l => Escapes().Replace(l, "").Trim())
            .Where(l => l.Length > 0)
            .ToList();
        if (lines.Count == 0)
        {
            return "(no output)";
        }

        var marked = lines.FindLastIndex(l => Markers.Any(m => l.Contains(m, StringComparison.Ordinal)));
        var text = marked < 0 ? lines[^1] : lines[marked];
        return text.Length <= MaxLength ? text : text[..MaxLength] + "…";
    }

    // ANSI escape sequences and the other control characters afl-fuzz prints.
    [GeneratedRegex(@"\x1B(\[[0-9;?]*[A-Za-z]|\)[0-9A-Za-z]|[()][AB0-9])|[\x00-\x08\x0B-\x1F\x7F]")]
    private static partial Regex Escapes();
}
