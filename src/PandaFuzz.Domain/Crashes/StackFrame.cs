using System.Globalization;

namespace PandaFuzz.Domain.Crashes;

/// <summary>One frame of a sanitizer stack: <c>#3 0x55d1 in parse_record(char const*) /src/p.c:21:12</c> or
/// <c>#7 0x7f96 (/lib/x86_64-linux-gnu/libc.so.6+0x29d90) (BuildId: 4f7b…)</c>.</summary>
public sealed record StackFrame(int Index, string? Function, string? File, int? Line, string? Module)
{
    public string Name => Function ?? (Module is null ? "<unknown>" : Path.GetFileName(Module));

    // What Describe writes: "#3 parse_record /src/p.c:21", "#1 f aflpp_driver.o:", "#7 libc.so.6 (/lib/libc.so.6)".
    private static readonly System.Text.RegularExpressions.Regex Described = new(
        @"^#(?<index>[0-9]+) (?<name>.+?)(?: (?<file>\S+):(?<line>[0-9]*)| \((?<module>[^()]+)\))?$",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    public string Describe()
    {
        var place = File is { } file ? $" {file}:{Line}" : Module is { } module ? $" ({module})" : string.Empty;
        return $"#{Index} {Name}{place}";
    }

    /// <summary>Reads back a frame <see cref="Describe"/> wrote (a crash's stack).</summary>
    public static bool TryParseDescribed(string line, out StackFrame frame)
    {
        frame = null!;
        var match = Described.Match(line.Trim());
        if (!match.Success)
        {
            return false;
        }

        var index = int.Parse(match.Groups["index"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture);
        var name = match.Groups["name"].Value;
        if (match.Groups["module"].Success)
        {
            var module = match.Groups["module"].Value;
            frame = new StackFrame(index, name == Path.GetFileName(module) ? null : name, null, null, module);
            return true;
        }

        var lineText = match.Groups["line"].Value;
        frame = new StackFrame(index, name == "<unknown>" ? null : name, match.Groups["file"].Success ? match.Groups["file"].Value : null,
            lineText.Length > 0 ? int.Parse(lineText, NumberStyles.None, CultureInfo.InvariantCulture) : null, null);
        return true;
    }

    public static bool TryParse(string line, out StackFrame frame)
    {
        frame = null!;
        var text = line.Trim();
        if (text.Length < 5 || text[0] != '#')
        {
            return false;
        }

        var i = 1;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }

        if (i == 1 || !text.AsSpan(i).StartsWith(" 0x", StringComparison.Ordinal))
        {
            return false;
        }

        var index = int.Parse(text.AsSpan(1, i - 1), NumberStyles.None, CultureInfo.InvariantCulture);
        var rest = text[(i + 1)..];
        var space = rest.IndexOf(' ');
        rest = space < 0 ? string.Empty : rest[(space + 1)..].Trim();

        // "(BuildId: …)" follows module locations; it names the build, not the place.
        var buildId = rest.LastIndexOf(" (BuildId: ", StringComparison.Ordinal);
        if (buildId >= 0)
        {
            rest = rest[..buildId].TrimEnd();
        }

        if (!rest.StartsWith("in ", StringComparison.Ordinal))
        {
            // "(/lib/libc.so.6+0x29d90)": no function at all.
            frame = new StackFrame(index, null, null, null, ParseModule(rest));
            return true;
        }

        rest = rest[3..].Trim();
        string? file = null;
        int? lineNumber = null;
        string? module = null;
        var lastSpace = rest.LastIndexOf(' ');
        if (lastSpace > 0)
        {
            var location = rest[(lastSpace + 1)..];
            if (location.StartsWith('(') && location.EndsWith(')') && location.Contains("+0x", StringComparison.Ordinal))
            {
                module = ParseModule(location);
                rest = rest[..lastSpace];
            }
            else if (TryParseSourceLocation(location, out var parsedFile, out var parsedLine))
            {
                file = parsedFile;
                lineNumber = parsedLine;
                rest = rest[..lastSpace];
            }
            else if (IsObjectOrSourceFile(location))
            {
                // "in ExecuteFilesOnyByOne aflpp_driver.o": symbolized without line information.
                file = location;
                rest = rest[..lastSpace];
            }
        }

        frame = new StackFrame(index, CleanFunction(rest), file, lineNumber, module);
        return true;
    }

    /// <summary>Strips what changes between builds and call sites: the argument list (<c>f(int, char*) const</c>) and an
    /// offset (<c>f+0x1c</c>).</summary>
    public static string CleanFunction(string function)
    {
        var name = function.Trim();
        var plus = name.LastIndexOf("+0x", StringComparison.Ordinal);
        if (plus > 0)
        {
            name = name[..plus];
        }

        if (name.EndsWith(" const", StringComparison.Ordinal))
        {
            name = name[..^" const".Length];
        }

        // Drop one trailing balanced "(…)" (the arguments), but not a name that is only parentheses.
        if (name.EndsWith(')'))
        {
            var depth = 0;
            for (var k = name.Length - 1; k >= 0; k--)
            {
                depth += name[k] switch { ')' => 1, '(' => -1, _ => 0 };
                if (depth == 0)
                {
                    // "operator()(int)" keeps "operator()"; "(anonymous namespace)::f" never ends in ')'.
                    if (k > 0)
                    {
                        name = name[..k];
                    }

                    break;
                }
            }
        }

        return name.Trim();
    }

    private static string? ParseModule(string text)
    {
        var inner = text.Trim().TrimStart('(').TrimEnd(')');
        var plus = inner.LastIndexOf("+0x", StringComparison.Ordinal);
        var module = plus >= 0 ? inner[..plus] : inner;
        return module.Length == 0 ? null : module;
    }

    // "/src/p.c:21:12", "/src/p.c:21", "csu/../csu/libc-start.c:360:3".
    private static bool TryParseSourceLocation(string text, out string? file, out int? line)
    {
        file = null;
        line = null;
        var parts = text.Split(':');
        if (parts.Length < 2 || parts[0].Length == 0)
        {
            return false;
        }

        var lineIndex = parts.Length >= 3 && IsNumber(parts[^1]) && IsNumber(parts[^2]) ? parts.Length - 2 : parts.Length - 1;
        if (!IsNumber(parts[lineIndex]))
        {
            return false;
        }

        file = string.Join(':', parts[..lineIndex]);
        line = int.Parse(parts[lineIndex], NumberStyles.None, CultureInfo.InvariantCulture);
        return true;
    }

    private static bool IsObjectOrSourceFile(string text) =>
        !text.Contains('(') && !text.Contains(')')
        && (text.Contains('/') || System.Text.RegularExpressions.Regex.IsMatch(text, @"\.(o|a|so(\.[0-9]+)*|c|cc|cpp|cxx|h|hh|hpp)\z"));

    private static bool IsNumber(string s) => s.Length > 0 && s.All(char.IsAsciiDigit);
}
