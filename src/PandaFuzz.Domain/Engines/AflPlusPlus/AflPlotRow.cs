using System.Diagnostics.CodeAnalysis;

namespace PandaFuzz.Domain.Engines.AflPlusPlus;

/// <summary>One row of AFL++'s <c>plot_data</c>, written about every 5 s once the fuzzer has run for a minute.</summary>
/// <param name="RelativeTimeSeconds">Seconds since the first start of the campaign (a resumed run continues it).</param>
/// <param name="BitmapCoverage">The <c>map_size</c> column: <c>bitmap_cvg</c> in percent.</param>
/// <param name="ExecsPerSecond">AFL++'s smoothed recent speed; 0 when it printed inf/nan.</param>
public sealed record AflPlotRow(
    long RelativeTimeSeconds,
    long CyclesDone,
    long CurrentItem,
    long CorpusCount,
    long PendingTotal,
    long PendingFavs,
    double BitmapCoverage,
    long SavedCrashes,
    long SavedHangs,
    long MaxDepth,
    double ExecsPerSecond,
    long TotalExecs,
    long EdgesFound);

/// <summary>Reads AFL++'s <c>plot_data</c>: a <c># relative_time, cycles_done, ...</c> header, then comma-separated rows.
/// Columns are found by name, so another order or extra columns in other AFL++ versions still parse.</summary>
public static class AflPlotDataParser
{
    // The AFL++ 4.x column names this parser needs; a header without all of them yields no rows.
    private static readonly string[] Columns =
    [
        "relative_time", "cycles_done", "cur_item", "corpus_count", "pending_total", "pending_favs", "map_size",
        "saved_crashes", "saved_hangs", "max_depth", "execs_per_sec", "total_execs", "edges_found",
    ];

    /// <summary>Never throws. No header on the first line (AFL++ writes it once; a resumed run appends below it) or a missing
    /// column gives no rows; malformed lines and a row still being written (after the last newline) are skipped.</summary>
    public static IReadOnlyList<AflPlotRow> Parse(string text)
    {
        var rows = new List<AflPlotRow>();
        Header? header = null;
        foreach (var line in AflText.CompleteLines(text).EnumerateLines())
        {
            if (header is null)
            {
                if (!TryReadHeader(line, out header))
                {
                    return rows;
                }
            }
            else if (!line.StartsWith('#') && TryParseRow(line, header, out var row))
            {
                rows.Add(row);
            }
        }

        return rows;
    }

    /// <summary>Null when there is no row yet (the first minute of a run). Reads backwards from the end, so a long campaign's
    /// earlier rows cost only a scan.</summary>
    public static AflPlotRow? ParseLast(string text)
    {
        var complete = AflText.CompleteLines(text);
        var headerEnd = complete.IndexOf('\n');
        if (headerEnd < 0 || !TryReadHeader(complete[..headerEnd].TrimEnd('\r'), out var header))
        {
            return null;
        }

        var rest = complete[(headerEnd + 1)..];
        while (!rest.IsEmpty)
        {
            // rest ends with '\n': its last line runs from after the newline before that one.
            var lineStart = rest[..^1].LastIndexOf('\n') + 1;
            var line = rest[lineStart..^1].TrimEnd('\r');
            if (!line.StartsWith('#') && TryParseRow(line, header, out var row))
            {
                return row;
            }

            rest = rest[..lineStart];
        }

        return null;
    }

    // "# relative_time, cycles_done, ..." -> the position of each needed column, and how many fields a row has.
    private static bool TryReadHeader(ReadOnlySpan<char> line, [NotNullWhen(true)] out Header? header)
    {
        header = null;
        if (!line.StartsWith('#'))
        {
            return false;
        }

        var names = line[1..];
        var columnIndex = new int[Columns.Length];
        Array.Fill(columnIndex, -1);
        var fieldCount = 0;
        foreach (var range in names.Split(','))
        {
            var index = Array.IndexOf(Columns, names[range].Trim().ToString());
            if (index >= 0 && columnIndex[index] < 0)
            {
                columnIndex[index] = fieldCount;
            }

            fieldCount++;
        }

        if (Array.IndexOf(columnIndex, -1) >= 0)
        {
            return false;
        }

        header = new Header(columnIndex, fieldCount);
        return true;
    }

    private static bool TryParseRow(ReadOnlySpan<char> line, Header header, [NotNullWhen(true)] out AflPlotRow? row)
    {
        row = null;
        if (line.Count(',') + 1 != header.FieldCount)
        {
            return false;
        }

        var text = line.ToString();
        var fields = new Range[header.FieldCount];
        text.AsSpan().Split(fields, ',');
        ReadOnlySpan<char> Field(int column) => text.AsSpan()[fields[header.ColumnIndex[column]]];

        if (!AflText.TryParseCount(Field(0), out var relativeTime)
            || !AflText.TryParseCount(Field(1), out var cyclesDone)
            || !AflText.TryParseCount(Field(2), out var currentItem)
            || !AflText.TryParseCount(Field(3), out var corpusCount)
            || !AflText.TryParseCount(Field(4), out var pendingTotal)
            || !AflText.TryParseCount(Field(5), out var pendingFavs)
            || !AflText.TryParsePercent(Field(6), out var bitmapCoverage)
            || !AflText.TryParseCount(Field(7), out var savedCrashes)
            || !AflText.TryParseCount(Field(8), out var savedHangs)
            || !AflText.TryParseCount(Field(9), out var maxDepth)
            || !TryParseRate(Field(10), out var execsPerSecond)
            || !AflText.TryParseCount(Field(11), out var totalExecs)
            || !AflText.TryParseCount(Field(12), out var edgesFound))
        {
            return false;
        }

        row = new AflPlotRow(
            relativeTime, cyclesDone, currentItem, corpusCount, pendingTotal, pendingFavs, bitmapCoverage,
            savedCrashes, savedHangs, maxDepth, execsPerSecond, totalExecs, edgesFound);
        return true;
    }

    // A well-formed row may carry "inf" or "nan" as its speed; keep the row and report 0.
    private static bool TryParseRate(ReadOnlySpan<char> s, out double value)
    {
        if (AflText.TryParseFinite(s, out value))
        {
            return true;
        }

        var t = s.Trim();
        value = 0;
        return t.Equals("inf", StringComparison.OrdinalIgnoreCase)
            || t.Equals("nan", StringComparison.OrdinalIgnoreCase)
            || t.Equals("-nan", StringComparison.OrdinalIgnoreCase);
    }

    private sealed record Header(int[] ColumnIndex, int FieldCount);
}
