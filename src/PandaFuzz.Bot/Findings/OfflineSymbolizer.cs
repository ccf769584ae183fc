using System.Text;
using System.Text.RegularExpressions;
using PandaFuzz.Bot.Engines;

namespace PandaFuzz.Bot.Findings;

/// <summary>Symbolizes a report written with <c>symbolize=0</c> (AFL++) as the sanitizer would have, for a crash no rerun reproduced.</summary>
public static partial class OfflineSymbolizer
{
    // Far more than the frames a crash state reads.
    private const int MaxFrames = 256;

    public static IReadOnlyList<string> OffsetsIn(string report, string module) =>
        [.. report.Split('\n').Select(l => Frame().Match(l)).Where(m => m.Success && m.Groups["module"].Value == module)
            .Select(m => m.Groups["offset"].Value).Distinct().Take(MaxFrames)];

    /// <summary>llvm-symbolizer prints function and place lines per offset (inlined ones first), then a blank line.</summary>
    public static FuzzerLaunch Launch(string module, IReadOnlyList<string> offsets, string workingDirectory) =>
        new("llvm-symbolizer", ["--obj=" + module, "--inlining", "--demangle", .. offsets], workingDirectory, new Dictionary<string, string>());

    public static string Apply(string report, string module, IReadOnlyList<string> offsets, string output)
    {
        var blocks = output.Replace("\r", "", StringComparison.Ordinal).Split("\n\n");
        var symbols = new Dictionary<string, IReadOnlyList<(string Function, string Place)>>(StringComparer.Ordinal);
        for (var i = 0; i < offsets.Count && i < blocks.Length; i++)
        {
            var lines = blocks[i].Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var frames = new List<(string, string)>();
            for (var l = 0; l + 1 < lines.Length; l += 2)
            {
                if (lines[l] != "??")
                {
                    frames.Add((lines[l], lines[l + 1]));
                }
            }

            if (frames.Count > 0)
            {
                symbols[offsets[i]] = frames;
            }
        }

        var result = new StringBuilder(report.Length + 256);
        var reportLines = report.Split('\n');
        for (var i = 0; i < reportLines.Length; i++)
        {
            var line = reportLines[i];
            var match = Frame().Match(line);
            if (match.Success && match.Groups["module"].Value == module && symbols.TryGetValue(match.Groups["offset"].Value, out var frames))
            {
                var prefix = $"{match.Groups["indent"].Value}#{match.Groups["n"].Value} {match.Groups["pc"].Value} in ";
                result.AppendJoin('\n', frames.Select(f => prefix + f.Function + " " + Place(f.Place, match)));
            }
            else
            {
                result.Append(line);
            }

            if (i < reportLines.Length - 1)
            {
                result.Append('\n');
            }
        }

        return result.ToString();
    }

    // "??:0:0": no line information; the sanitizer then names the module, as it does for a frame without debug info.
    private static string Place(string place, Match frame) =>
        place.StartsWith("??", StringComparison.Ordinal) ? $"({frame.Groups["module"].Value}+{frame.Groups["offset"].Value})" : place;

    // "    #3 0x55809166530f  (/tmp/job/target+0x2d30f) (BuildId: 9e75…)": a frame the sanitizer did not symbolize.
    [GeneratedRegex(@"^(?<indent>\s*)#(?<n>\d+) (?<pc>0x[0-9a-f]+) +\((?<module>[^()]+)\+(?<offset>0x[0-9a-f]+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex Frame();
}
