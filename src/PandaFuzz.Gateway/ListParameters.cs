using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>The list routes' query parameters, checked here so a bad value is a 400 naming it, never a query that silently matches nothing.</summary>
public static class ListParameters
{
    /// <summary><c>limit</c> (1-1000) and <c>offset</c> (0 or more).</summary>
    /// <param name="limitName">Another list in the same answer names its own.</param>
    public static ProblemHttpResult? TryPage(string? limit, string? offset, out Page page,
        int defaultLimit = Page.DefaultLimit, string limitName = "limit", string offsetName = "offset")
    {
        page = new Page();
        var size = defaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is < 1 or > Page.MaxLimit))
        {
            return Problems.Invalid(limitName, $"{limitName} must be a whole number from 1 to {Page.MaxLimit}");
        }

        var skip = 0;
        if (offset is not null && !int.TryParse(offset, NumberStyles.None, CultureInfo.InvariantCulture, out skip))
        {
            return Problems.Invalid(offsetName, $"{offsetName} must be a whole number, 0 or more");
        }

        page = new Page(size, skip);
        return null;
    }

    /// <summary>A status by its name as the API writes it (<c>running</c>); numbers are refused.</summary>
    public static ProblemHttpResult? TryStatus<TEnum>(string? text, out TEnum? status) where TEnum : struct, Enum
    {
        status = null;
        if (text is null)
        {
            return null;
        }

        if (text.Length == 0 || !char.IsLetter(text[0]) || !Enum.TryParse<TEnum>(text, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
        {
            return Problems.Invalid("status", $"status must be one of {string.Join(", ", Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}");
        }

        status = parsed;
        return null;
    }

    /// <summary>An engine this build knows.</summary>
    public static ProblemHttpResult? TryEngine(string? text, out string? engine)
    {
        engine = null;
        if (text is null)
        {
            return null;
        }

        engine = EngineNames.Known.FirstOrDefault(e => string.Equals(e, text, StringComparison.OrdinalIgnoreCase));
        return engine is null ? Problems.Invalid("engine", $"engine must be one of {string.Join(", ", EngineNames.Known)}") : null;
    }

    /// <summary>An ISO-8601 time with a date; one without an offset is UTC.</summary>
    /// <summary>
    /// A stats range: <paramref name="from"/> and <paramref name="to"/> as ISO-8601 times (default: the given ones), and
    /// <paramref name="step"/> in seconds (default: the sampling interval for a range within a day, the coarse step beyond),
    /// at most <see cref="MaxStatsPoints"/> steps.
    /// </summary>
    public static ProblemHttpResult? TryStatsRange(string? from, string? to, int? step, DateTimeOffset defaultFrom, DateTimeOffset defaultTo,
        Master.Configuration.MasterSettings settings, out (DateTimeOffset From, DateTimeOffset To, TimeSpan Step) range)
    {
        range = default;
        if (TryTime("from", from, out var start) is { } badFrom)
        {
            return badFrom;
        }

        if (TryTime("to", to, out var end) is { } badTo)
        {
            return badTo;
        }

        var (first, last) = (start ?? defaultFrom, end ?? defaultTo);
        if (last < first)
        {
            return Problems.Invalid("to", "to must not be before from");
        }

        if (step is < 1 or > 86_400)
        {
            return Problems.Invalid("step", "step must be a whole number of seconds from 1 to 86400");
        }

        var every = step is { } seconds ? TimeSpan.FromSeconds(seconds)
            : last - first <= settings.StatsHistory.FineFor ? settings.StatsSeriesInterval : settings.StatsHistory.CoarseStep;
        if ((last - first) / every > MaxStatsPoints)
        {
            return Problems.Invalid("step", $"from {first:O} to {last:O} in steps of {every.TotalSeconds} s is more than {MaxStatsPoints} points: take a longer step");
        }

        range = (first, last, every);
        return null;
    }

    public const int MaxStatsPoints = 10_000;

    /// <summary>An ISO-8601 time in the query parameter <paramref name="name"/>; one without an offset is UTC.</summary>
    internal static ProblemHttpResult? TryTime(string name, string? text, out DateTimeOffset? at)
    {
        at = null;
        if (text is null)
        {
            return null;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return Problems.Invalid(name, $"{name} must be an ISO-8601 time, e.g. 2026-11-26T10:00:00Z");
        }

        at = parsed;
        return null;
    }

    public static ProblemHttpResult? TrySince(string? text, out DateTimeOffset? since) => TryTime("since", text, out since);

    public static ProblemHttpResult? TryFlag(string name, string? text, out bool? flag)
    {
        flag = null;
        if (text is null)
        {
            return null;
        }

        if (!bool.TryParse(text, out var parsed))
        {
            return Problems.Invalid(name, $"{name} must be true or false");
        }

        flag = parsed;
        return null;
    }

    /// <summary>A crash kind as the crash shows it (<c>heap-buffer-overflow</c>), matched whole in any case.</summary>
    public static ProblemHttpResult? TryKind(string? text, out string? kind)
    {
        kind = text;
        return text is { Length: 0 or > 200 } ? Problems.Invalid("kind", "kind must be 1-200 characters, e.g. heap-buffer-overflow") : null;
    }

    public static ProblemHttpResult? TryId<TId>(string name, string? text, TryParseId<TId> parse, out TId? id) where TId : class
    {
        id = null;
        if (text is null)
        {
            return null;
        }

        if (!parse(text, out var parsed))
        {
            return Problems.Invalid(name, $"{name} is not a valid {name} id");
        }

        id = parsed;
        return null;
    }

    /// <summary>The first problem, or null; every parameter is parsed before, so each one's value is assigned.</summary>
    public static ProblemHttpResult? First(params ProblemHttpResult?[] problems) => problems.FirstOrDefault(p => p is not null);

    public delegate bool TryParseId<TId>(string? text, out TId id);
}
