using System.Globalization;

namespace PandaFuzz.Domain.Engines.AflPlusPlus;

/// <summary>Number and line rules shared by the AFL++ file parsers.</summary>
internal static class AflText
{
    /// <summary>AFL++ ends every line with a newline, so text after the last one is a line still being written (or cut off
    /// mid-rewrite): its value may be a prefix of the real one ("14393.51" read as "143"), so it is ignored.</summary>
    public static ReadOnlySpan<char> CompleteLines(string text)
    {
        var lastNewline = text.LastIndexOf('\n');
        return lastNewline < 0 ? ReadOnlySpan<char>.Empty : text.AsSpan(0, lastNewline + 1);
    }

    public static bool TryParseCount(ReadOnlySpan<char> s, out long value) =>
        long.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>A decimal such as "14393.51"; false for AFL++'s "inf"/"nan" (printed when no time has passed yet).</summary>
    public static bool TryParseFinite(ReadOnlySpan<char> s, out double value) =>
        double.TryParse(s.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value)
        && double.IsFinite(value);

    public static bool TryParsePercent(ReadOnlySpan<char> s, out double value)
    {
        s = s.Trim();
        return TryParseFinite(s.EndsWith('%') ? s[..^1] : s, out value);
    }
}
