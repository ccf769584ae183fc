using System.Globalization;

namespace PandaFuzz.Benchmarks;

/// <summary>One scrape of a Prometheus text exposition: series (name with its label text) to value.</summary>
public sealed class PrometheusText
{
    private readonly Dictionary<string, double> _series;

    private PrometheusText(Dictionary<string, double> series) => _series = series;

    public static PrometheusText Parse(string text)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            // The value follows the last space (label values may hold spaces, never after the closing brace).
            var space = line.LastIndexOf(' ');
            if (space > 0 && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                series[line[..space].Trim()] = value;
            }
        }

        return new PrometheusText(series);
    }

    /// <summary>The value of a series without labels (or with exactly the label text given), 0 when absent.</summary>
    public double Value(string series) => _series.GetValueOrDefault(series);

    /// <summary>The sum of every series of metric <paramref name="name"/>, whatever its labels.</summary>
    public double Sum(string name) =>
        _series.Where(s => s.Key == name || s.Key.StartsWith(name + "{", StringComparison.Ordinal)).Sum(s => s.Value);

    /// <summary>A histogram's cumulative buckets: upper bound to count, in order (+Inf last).</summary>
    /// <param name="labels">The series' other labels as exposed before <c>le</c>, e.g. <c>entity="job"</c>; null: none.</param>
    public IReadOnlyList<(double UpperBound, double Count)> Buckets(string histogram, string? labels = null)
    {
        var prefix = histogram + "_bucket{" + (labels is null ? "" : labels + ",") + "le=\"";
        return [.. _series
            .Where(s => s.Key.StartsWith(prefix, StringComparison.Ordinal))
            .Select(s =>
            {
                var bound = s.Key[prefix.Length..s.Key.IndexOf('"', prefix.Length)];
                return (UpperBound: bound == "+Inf" ? double.PositiveInfinity : double.Parse(bound, CultureInfo.InvariantCulture), Count: s.Value);
            })
            .OrderBy(b => b.UpperBound)];
    }

    /// <summary>
    /// The upper bound of the bucket holding quantile <paramref name="q"/> of the observations made between two scrapes
    /// (what Prometheus' histogram_quantile would interpolate within; here the bound, so the figure is never flattering).
    /// </summary>
    public static double Quantile(IReadOnlyList<(double UpperBound, double Count)> before, IReadOnlyList<(double UpperBound, double Count)> after, double q)
    {
        var earlier = before.ToDictionary(b => b.UpperBound, b => b.Count);
        var window = after.Select(b => (b.UpperBound, Count: b.Count - earlier.GetValueOrDefault(b.UpperBound))).ToList();
        var total = window.Count == 0 ? 0 : window[^1].Count;
        if (total <= 0)
        {
            return double.NaN;
        }

        return window.First(b => b.Count >= q * total).UpperBound;
    }
}
