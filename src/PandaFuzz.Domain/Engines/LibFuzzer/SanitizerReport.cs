namespace PandaFuzz.Domain.Engines.LibFuzzer;

/// <summary>What a crash report says: the sanitizer's kind word, its summary line, the first stack, and the artifact libFuzzer wrote.</summary>
/// <param name="Kind">E.g. "heap-buffer-overflow", "SEGV", "timeout", "leak", "deadly signal"; <see cref="CrashKinds.Unknown"/> if none.</param>
/// <param name="ArtifactPath">Null when the output names none (e.g. a reproduction run).</param>
public sealed record SanitizerReport(string Kind, string Summary, IReadOnlyList<string> Frames, string? ArtifactPath);

/// <summary>Kind words that do not come verbatim from a sanitizer, plus the common libFuzzer ones.</summary>
public static class CrashKinds
{
    public const string Unknown = "unknown";
    public const string Crash = "crash";
    public const string Timeout = "timeout";
    public const string OutOfMemory = "out-of-memory";
    public const string Leak = "leak";
    public const string SlowUnit = "slow-unit";
    public const string DeadlySignal = "deadly signal";
    public const string UndefinedBehavior = "undefined-behavior";
}

/// <summary>Reads a captured sanitizer/libFuzzer crash output into a <see cref="SanitizerReport"/>.</summary>
public static class SanitizerReportParser
{
    // Kind phrases longer than one word; anything else is the first word of the description.
    private static readonly string[] MultiWordKinds =
    [
        CrashKinds.DeadlySignal,
        "data race",
        "thread leak",
        "fuzz target exited",
        "fuzz target overwrites its const input",
        "file size exceeded",
    ];

    public static SanitizerReport Parse(string output)
    {
        string? errorLine = null;
        string? errorDescription = null;
        string? summaryLine = null;
        string? artifactPath = null;
        var errorLineNumber = -1;

        var lineNumber = 0;
        foreach (var raw in output.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (artifactPath is null && line.StartsWith("artifact_prefix=", StringComparison.Ordinal)
                && LibFuzzerOutputParser.TryParseArtifactWritten(line.ToString(), out var path))
            {
                artifactPath = path;
            }
            else if (errorLine is null && TryGetErrorDescription(line, out var description))
            {
                errorLine = line.ToString();
                errorDescription = description.ToString();
                errorLineNumber = lineNumber;
            }
            else if (summaryLine is null && line.StartsWith("SUMMARY: ", StringComparison.Ordinal))
            {
                summaryLine = line.ToString();
            }

            lineNumber++;
        }

        var kind = summaryLine is null ? CrashKinds.Unknown : KindFromSummary(summaryLine);
        if (kind == CrashKinds.Unknown && errorDescription is not null)
        {
            kind = KindFromDescription(errorDescription);
        }

        var frames = FirstStack(output, errorLineNumber + 1);
        return new SanitizerReport(kind, summaryLine ?? errorLine ?? string.Empty, frames, artifactPath);
    }

    public static string? ArtifactKind(string pathOrFileName)
    {
        var name = Path.GetFileName(pathOrFileName.AsSpan());
        if (name.StartsWith("crash-", StringComparison.Ordinal))
        {
            return CrashKinds.Crash;
        }

        if (name.StartsWith("timeout-", StringComparison.Ordinal))
        {
            return CrashKinds.Timeout;
        }

        if (name.StartsWith("oom-", StringComparison.Ordinal))
        {
            return CrashKinds.OutOfMemory;
        }

        if (name.StartsWith("leak-", StringComparison.Ordinal))
        {
            return CrashKinds.Leak;
        }

        return name.StartsWith("slow-unit-", StringComparison.Ordinal) ? CrashKinds.SlowUnit : null;
    }

    // "==PID==ERROR: AddressSanitizer: heap-buffer-overflow on ..." -> "heap-buffer-overflow on ...";
    // "t.c:12:16: runtime error: shift exponent ..." -> "runtime error: shift exponent ...".
    private static bool TryGetErrorDescription(ReadOnlySpan<char> line, out ReadOnlySpan<char> description)
    {
        description = default;
        if (LibFuzzerOutputParser.TryStripPidPrefix(line, out var afterPid))
        {
            if (!LibFuzzerOutputParser.IsErrorOrSanitizerWarning(afterPid))
            {
                return false;
            }

            description = StripTool(afterPid.Slice(afterPid.IndexOf(':') + 1).TrimStart());
            return true;
        }

        if (line.StartsWith("WARNING: ThreadSanitizer:", StringComparison.Ordinal))
        {
            description = StripTool(line.Slice("WARNING: ".Length));
            return true;
        }

        var runtimeError = line.IndexOf("runtime error: ", StringComparison.Ordinal);
        if (runtimeError > 0 && line[runtimeError - 1] == ' ')
        {
            description = line.Slice(runtimeError);
            return true;
        }

        return false;
    }

    // "AddressSanitizer: heap-buffer-overflow ..." -> "heap-buffer-overflow ..."; "AddressSanitizer failed to ..." -> "failed to ...".
    private static ReadOnlySpan<char> StripTool(ReadOnlySpan<char> s)
    {
        var space = s.IndexOf(' ');
        return space < 0 ? s : s.Slice(space + 1).TrimStart();
    }

    private static string KindFromSummary(string summaryLine) =>
        KindFromDescription(StripTool(summaryLine.AsSpan("SUMMARY: ".Length)));

    private static string KindFromDescription(ReadOnlySpan<char> description)
    {
        if (description.StartsWith("runtime error:", StringComparison.Ordinal))
        {
            return CrashKinds.UndefinedBehavior;
        }

        // LSan: "detected memory leaks"; its summary: "64 byte(s) leaked in 1 allocation(s)."
        if (description.StartsWith("detected memory leaks", StringComparison.Ordinal)
            || description.Contains(" leaked in ", StringComparison.Ordinal))
        {
            return CrashKinds.Leak;
        }

        foreach (var phrase in MultiWordKinds)
        {
            if (description.StartsWith(phrase, StringComparison.Ordinal))
            {
                return phrase;
            }
        }

        // "heap-buffer-overflow /t.c:21:12 in f", "out-of-memory (malloc(2097152))", "timeout after 1 seconds".
        var end = description.IndexOfAny(' ', '(', ':');
        var word = (end < 0 ? description : description[..end]).TrimEnd('.');
        return word.IsEmpty ? CrashKinds.Unknown : word.ToString();
    }

    // The first run of consecutive frame lines at or after fromLine.
    private static List<string> FirstStack(string output, int fromLine)
    {
        var frames = new List<string>();
        var lineNumber = 0;
        foreach (var raw in output.AsSpan().EnumerateLines())
        {
            if (lineNumber++ < fromLine)
            {
                continue;
            }

            var line = raw.Trim();
            if (IsFrame(line))
            {
                frames.Add(line.ToString());
            }
            else if (frames.Count > 0)
            {
                break;
            }
        }

        return frames;
    }

    // "#12 0x55d67e54ca89 in f /t.c:21:12" or "#3 0x7f96b025a04f  (/lib/libc.so.6+0x3c04f)".
    private static bool IsFrame(ReadOnlySpan<char> line)
    {
        if (line.Length < 5 || line[0] != '#')
        {
            return false;
        }

        var i = 1;
        while (i < line.Length && char.IsAsciiDigit(line[i]))
        {
            i++;
        }

        return i > 1 && line.Slice(i).StartsWith(" 0x", StringComparison.Ordinal);
    }
}
