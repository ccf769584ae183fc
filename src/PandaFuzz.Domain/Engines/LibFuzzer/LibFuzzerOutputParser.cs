using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace PandaFuzz.Domain.Engines.LibFuzzer;

/// <summary>Line-by-line recognisers for libFuzzer's stderr; span-based because they see every output line.</summary>
public static class LibFuzzerOutputParser
{
    private const string ArtifactMarker = "Test unit written to ";

    /// <summary>Parses a status line such as <c>#2670\tNEW    cov: 4 ft: 4 corp: 3/28b lim: 29 exec/s: 0 rss: 31Mb L: 23/23 MS: ...</c>.</summary>
    public static bool TryParseStatus(string line, [NotNullWhen(true)] out LibFuzzerStatusLine? status)
    {
        status = null;
        var s = line.AsSpan().TrimEnd();
        if (s.Length < 3 || s[0] != '#' || !char.IsAsciiDigit(s[1]))
        {
            return false;
        }

        var pos = 0;
        var execsToken = NextToken(s, ref pos);
        if (execsToken.EndsWith(":"))
        {
            return TryParseForkStatus(s, execsToken, ref pos, out status);
        }

        if (!TryParseCount(execsToken.Slice(1), out var execs))
        {
            return false;
        }

        LibFuzzerStatusKind kind;
        switch (NextToken(s, ref pos))
        {
            case "INITED": kind = LibFuzzerStatusKind.Inited; break;
            case "NEW": kind = LibFuzzerStatusKind.New; break;
            case "REDUCE": kind = LibFuzzerStatusKind.Reduce; break;
            case "pulse": kind = LibFuzzerStatusKind.Pulse; break;
            case "DONE": kind = LibFuzzerStatusKind.Done; break;
            case "RELOAD": kind = LibFuzzerStatusKind.Reload; break;
            case "READ": kind = LibFuzzerStatusKind.ReadUnits; break;
            default: return false;
        }

        long? cov = null, ft = null, corpUnits = null, corpBytes = null, execsPerSec = null, rss = null, units = null;
        while (true)
        {
            var key = NextToken(s, ref pos);
            // "L:" starts the mutation details (MS:, DE:), whose dictionary entries may contain anything.
            if (key.IsEmpty || key.SequenceEqual("L:"))
            {
                break;
            }

            var value = NextToken(s, ref pos);
            var ok = true;
            switch (key)
            {
                case "cov:": ok = TryParseCount(value, out var c); cov = c; break;
                case "ft:": ok = TryParseCount(value, out var f); ft = f; break;
                case "exec/s:": ok = TryParseCount(value, out var e); execsPerSec = e; break;
                case "units:": ok = TryParseCount(value, out var u); units = u; break;
                case "rss:": ok = TryParseRss(value, out var r); rss = r; break;
                case "corp:":
                    ok = TryParseCorpus(value, out var cu, out var cb);
                    corpUnits = cu;
                    corpBytes = cb;
                    break;
                default: break; // lim:, focus: and keys newer versions may add
            }

            if (!ok)
            {
                return false;
            }
        }

        status = new LibFuzzerStatusLine(kind, execs, cov, ft, corpUnits, corpBytes, execsPerSec, rss, units);
        return true;
    }

    /// <summary>A <c>-fork</c> run's line, printed as each child process ends:
    /// <c>#1024: cov: 46 ft: 60 corp: 12 exec/s: 3500 oom/timeout/crash: 0/1/3 time: 12s job: 5 dft_time: 0</c>.</summary>
    private static bool TryParseForkStatus(ReadOnlySpan<char> s, ReadOnlySpan<char> execsToken, ref int pos, [NotNullWhen(true)] out LibFuzzerStatusLine? status)
    {
        status = null;
        if (!TryParseCount(execsToken[1..^1], out var execs))
        {
            return false;
        }

        long? cov = null, ft = null, corpUnits = null, execsPerSec = null, seconds = null;
        (long, long, long)? failures = null;
        while (true)
        {
            var key = NextToken(s, ref pos);
            if (key.IsEmpty)
            {
                break;
            }

            var value = NextToken(s, ref pos);
            var ok = true;
            switch (key)
            {
                case "cov:": ok = TryParseCount(value, out var c); cov = c; break;
                case "ft:": ok = TryParseCount(value, out var f); ft = f; break;
                case "corp:": ok = TryParseCount(value, out var u); corpUnits = u; break;
                // libFuzzer 14 prints "exec/s 0" without its colon.
                case "exec/s:" or "exec/s": ok = TryParseCount(value, out var e); execsPerSec = e; break;
                case "time:":
                {
                    long t = 0;
                    ok = value.EndsWith("s") && TryParseCount(value[..^1], out t);
                    seconds = t;
                    break;
                }

                case "oom/timeout/crash:":
                {
                    var first = value.IndexOf('/');
                    var last = value.LastIndexOf('/');
                    long ooms = 0, timeouts = 0, crashes = 0;
                    ok = first > 0 && last > first
                        && TryParseCount(value[..first], out ooms) && TryParseCount(value[(first + 1)..last], out timeouts)
                        && TryParseCount(value[(last + 1)..], out crashes);
                    failures = (ooms, timeouts, crashes);
                    break;
                }

                default: break; // job:, dft_time: and keys newer versions may add
            }

            if (!ok)
            {
                return false;
            }
        }

        if (cov is null)
        {
            return false;
        }

        // The rate is the last child's, 0 when it crashed before printing it: then the run's average stands for it.
        if (execsPerSec is null or 0 && seconds is > 0)
        {
            execsPerSec = execs / seconds;
        }

        status = new LibFuzzerStatusLine(LibFuzzerStatusKind.Fork, execs, cov, ft, corpUnits, null, execsPerSec, null, null, failures);
        return true;
    }

    /// <summary>Extracts the path from <c>artifact_prefix='./'; Test unit written to ./crash-&lt;sha1&gt;</c> (also timeout-, oom-, leak-, slow-unit-).</summary>
    public static bool TryParseArtifactWritten(string line, [NotNullWhen(true)] out string? path)
    {
        path = null;
        var s = line.AsSpan();
        var at = s.IndexOf(ArtifactMarker, StringComparison.Ordinal);
        if (at < 0)
        {
            return false;
        }

        var rest = s.Slice(at + ArtifactMarker.Length).Trim();
        if (rest.IsEmpty)
        {
            return false;
        }

        path = rest.ToString();
        return true;
    }

    /// <summary>A line that opens (or, for SUMMARY, closes) a crash report: <c>==PID==ERROR: ...</c>, MSan/TSan warnings,
    /// UBSan <c>runtime error:</c>, <c>...Sanitizer:DEADLYSIGNAL</c>, <c>SUMMARY: ...</c>.</summary>
    public static bool IsCrashReportStart(string line)
    {
        var s = line.AsSpan().Trim();
        if (s.IsEmpty)
        {
            return false;
        }

        if (s.StartsWith("SUMMARY: ", StringComparison.Ordinal)
            || s.StartsWith("WARNING: ThreadSanitizer:", StringComparison.Ordinal)
            || s.EndsWith("Sanitizer:DEADLYSIGNAL", StringComparison.Ordinal))
        {
            return true;
        }

        if (TryStripPidPrefix(s, out var afterPid))
        {
            return IsErrorOrSanitizerWarning(afterPid);
        }

        return s.Contains(": runtime error: ", StringComparison.Ordinal);
    }

    internal static bool TryStripPidPrefix(ReadOnlySpan<char> s, out ReadOnlySpan<char> rest)
    {
        rest = default;
        if (!s.StartsWith("==", StringComparison.Ordinal))
        {
            return false;
        }

        var pidEnd = 2;
        while (pidEnd < s.Length && char.IsAsciiDigit(s[pidEnd]))
        {
            pidEnd++;
        }

        if (pidEnd == 2 || !s.Slice(pidEnd).StartsWith("==", StringComparison.Ordinal))
        {
            return false;
        }

        rest = s.Slice(pidEnd + 2).TrimStart(' ');
        return true;
    }

    /// <summary>WARNING counts only for MSan and TSan, whose reports are warnings; ASan's allocator warnings are not crashes.</summary>
    internal static bool IsErrorOrSanitizerWarning(ReadOnlySpan<char> afterPid) =>
        afterPid.StartsWith("ERROR: ", StringComparison.Ordinal)
        || afterPid.StartsWith("WARNING: MemorySanitizer:", StringComparison.Ordinal)
        || afterPid.StartsWith("WARNING: ThreadSanitizer:", StringComparison.Ordinal);

    private static ReadOnlySpan<char> NextToken(ReadOnlySpan<char> s, ref int pos)
    {
        while (pos < s.Length && (s[pos] == ' ' || s[pos] == '\t'))
        {
            pos++;
        }

        var start = pos;
        while (pos < s.Length && s[pos] != ' ' && s[pos] != '\t')
        {
            pos++;
        }

        return s.Slice(start, pos - start);
    }

    private static bool TryParseCount(ReadOnlySpan<char> s, out long value) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static bool TryParseRss(ReadOnlySpan<char> s, out long megabytes)
    {
        megabytes = 0;
        return s.EndsWith("Mb", StringComparison.Ordinal) && TryParseCount(s[..^2], out megabytes);
    }

    // "K/Sb", "K/SKb", "K/SMb", or just "K" when the corpus holds zero bytes.
    private static bool TryParseCorpus(ReadOnlySpan<char> s, out long units, out long bytes)
    {
        bytes = 0;
        var slash = s.IndexOf('/');
        if (slash < 0)
        {
            return TryParseCount(s, out units);
        }

        if (!TryParseCount(s[..slash], out units))
        {
            return false;
        }

        var size = s[(slash + 1)..];
        long multiplier;
        if (size.EndsWith("Mb", StringComparison.Ordinal))
        {
            multiplier = 1L << 20;
            size = size[..^2];
        }
        else if (size.EndsWith("Kb", StringComparison.Ordinal))
        {
            multiplier = 1L << 10;
            size = size[..^2];
        }
        else if (size.EndsWith('b'))
        {
            multiplier = 1;
            size = size[..^1];
        }
        else
        {
            return false;
        }

        if (!TryParseCount(size, out var n))
        {
            return false;
        }

        bytes = n * multiplier;
        return true;
    }
}
