using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PandaFuzz.Benchmarks;

/// <summary>One measure over all successful pairs: medians of each side, the ratio of the medians and the per-pair ratios.</summary>
/// <param name="Goal">The minimum ratio wanted (judged on <see cref="MedianPairRatio"/>), or null for an informational row.</param>
/// <param name="GoalIsMaximum">The goal is a maximum ratio instead (lower is better, e.g. a time).</param>
public sealed record MeasureSummary(
    string Measure,
    string Unit,
    int Pairs,
    double BaselineMedian,
    double PandaFuzzMedian,
    double RatioOfMedians,
    double MedianPairRatio,
    double MinPairRatio,
    double MaxPairRatio,
    IReadOnlyList<double> PairRatios,
    double? Goal,
    bool? GoalMet,
    string Note,
    bool GoalIsMaximum = false)
{
    /// <summary>For a measure judged on its own figure (<see cref="Summary.Bounded"/>): the smallest and largest trial.</summary>
    public double? Min { get; init; }

    public double? Max { get; init; }
}

public static class Summary
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>Summarizes (baseline, pandafuzz) pairs; the goal, if any, is met when the median of per-pair ratios reaches it.</summary>
    public static MeasureSummary Of(string measure, string unit, IReadOnlyList<(double Baseline, double PandaFuzz)> pairs, double? goal, string note, bool goalIsMaximum = false)
    {
        var ratios = pairs.Select(p => p.Baseline > 0 ? p.PandaFuzz / p.Baseline : double.NaN).ToList();
        var baseline = Median([.. pairs.Select(p => p.Baseline)]);
        var pandaFuzz = Median([.. pairs.Select(p => p.PandaFuzz)]);
        var medianRatio = Median(ratios);
        return new MeasureSummary(
            measure,
            unit,
            pairs.Count,
            baseline,
            pandaFuzz,
            baseline > 0 ? pandaFuzz / baseline : double.NaN,
            medianRatio,
            ratios.Count == 0 ? double.NaN : ratios.Min(),
            ratios.Count == 0 ? double.NaN : ratios.Max(),
            [.. ratios.Select(r => Math.Round(r, 4))],
            goal,
            goal is null || pairs.Count == 0 ? null : goalIsMaximum ? medianRatio <= goal : medianRatio >= goal,
            note,
            goalIsMaximum);
    }

    /// <summary>
    /// A measure judged against an absolute goal (the control plane's rates, a restart's or a failover's time: nothing runs
    /// without PandaFuzz to compare with, or the comparison is informational): the median of <paramref name="values"/> in the
    /// PandaFuzz column with their min and max, the median of <paramref name="baseline"/> (measured in the same run) if
    /// any, and the goal as a bound on the median (<paramref name="atMost"/>: at or under it; otherwise at least it).
    /// </summary>
    public static MeasureSummary Bounded(string measure, string unit, IReadOnlyList<double> values, IReadOnlyList<double>? baseline, double? goal, bool atMost, string note)
    {
        var median = Median(values);
        var baselineMedian = baseline is null ? double.NaN : Median(baseline);
        return new MeasureSummary(measure, unit, values.Count, baselineMedian, median, baselineMedian > 0 ? median / baselineMedian : double.NaN,
            double.NaN, double.NaN, double.NaN, [], goal,
            goal is null ? null : !double.IsNaN(median) && (atMost ? median <= goal : median >= goal), note, GoalIsMaximum: atMost)
        {
            Min = values.Count == 0 ? double.NaN : values.Min(),
            Max = values.Count == 0 ? double.NaN : values.Max(),
        };
    }

    /// <summary>A fixed-width table of the summaries.</summary>
    public static string Table(IReadOnlyList<MeasureSummary> rows)
    {
        string[] header = ["measure", "pairs", "baseline median", "pandafuzz median", "ratio of medians", "median pair ratio", "min ratio", "max ratio", "goal"];
        var cells = rows.Select(r => new[]
        {
            r.Measure,
            r.Pairs.ToString(CultureInfo.InvariantCulture),
            Number(r.BaselineMedian) + " " + r.Unit,
            Number(r.PandaFuzzMedian) + " " + r.Unit + (r.Min is { } min && r.Max is { } max && r.Pairs > 1 ? $" ({Number(min)}-{Number(max)})" : ""),
            Ratio(r.RatioOfMedians),
            Ratio(r.MedianPairRatio),
            Ratio(r.MinPairRatio),
            Ratio(r.MaxPairRatio),
            r.Goal is { } goal ? $"{(r.GoalIsMaximum ? "<=" : ">=")} {Number(goal)} {(r.GoalMet == true ? "MET" : "MISSED")}" : "-",
        }).ToList();
        return FixedWidth(header, cells);
    }

    /// <summary>Any table as fixed-width text: the first column left-aligned, the others right-aligned, a rule under the header.</summary>
    public static string FixedWidth(IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> values) =>
            text.AppendLine(string.Join(" | ", values.Select((v, i) => i == 0 ? v.PadRight(widths[i]) : v.PadLeft(widths[i]))).TrimEnd());
        Line(header);
        text.AppendLine(string.Join("-+-", widths.Select(w => new string('-', w))));
        foreach (var row in rows)
        {
            Line(row);
        }

        return text.ToString();
    }

    /// <summary>Writes <paramref name="report"/> as indented JSON to DIR/NAME-yyyyMMdd-HHmmss.json and returns the path.</summary>
    public static string WriteJson(object report, string directory, string name, DateTimeOffset startedAt)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{name}-{startedAt.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, Json));
        return path;
    }

    public static string Number(double value) =>
        double.IsNaN(value) ? "n/a" : value >= 100 ? value.ToString("N0", CultureInfo.InvariantCulture) : value.ToString("0.##", CultureInfo.InvariantCulture);

    public static string Ratio(double value) => double.IsNaN(value) ? "n/a" : value.ToString("0.000", CultureInfo.InvariantCulture);
}
