using Akka.Configuration;

namespace PandaFuzz.Infrastructure.Configuration;

/// <summary>Typed values from a HOCON section; every failure names the full key and the expected form:
/// <c>pandafuzz.bot.stats-interval='soon' is invalid: expected a positive duration such as 5s</c>.</summary>
public sealed class HoconReader
{
    public const string DurationForm = "a positive duration such as 5s, 500ms or 2m";

    private readonly Config _section;
    private readonly string _name;

    public HoconReader(Config root, string section)
    {
        _name = section;
        _section = root.HasPath(section) && root.GetConfig(section) is { } found
            ? found
            : throw new ConfigurationException($"{section} is missing: expected the configuration section {section} {{ … }} (the shipped hocon files hold it)");
    }

    public static ConfigurationException Invalid(string fullKey, string? value, string expected) =>
        new(value is null
            ? $"{fullKey} is missing: expected {expected}"
            : $"{fullKey}='{value}' is invalid: expected {expected}");

    public TimeSpan PositiveDuration(string key)
    {
        var text = Raw(key, DurationForm);
        TimeSpan value;
        try
        {
            value = _section.GetTimeSpan(key, TimeSpan.Zero, allowInfinite: false);
        }
        catch (Exception)
        {
            throw Invalid(Key(key), text, DurationForm);
        }

        return value > TimeSpan.Zero ? value : throw Invalid(Key(key), text, DurationForm);
    }

    /// <summary>A positive duration, or <c>off</c> (null): something done every so often that may not be done at all.</summary>
    public TimeSpan? DurationOrOff(string key)
    {
        var text = Raw(key, DurationForm + ", or off");
        return text.Trim().ToLowerInvariant() is "off" or "false" or "no" ? null : PositiveDuration(key);
    }

    public int Int(string key, int min, int max)
    {
        var expected = $"a whole number from {min} to {max}";
        var text = Raw(key, expected);
        return int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value)
            && value >= min && value <= max
            ? value
            : throw Invalid(Key(key), text, expected);
    }

    public long Bytes(string key, long min)
    {
        var expected = $"a size of at least {min} bytes, such as 64KiB, 8MiB or 1GiB";
        var text = Raw(key, expected);
        long? value;
        try
        {
            value = _section.GetByteSize(key);
        }
        catch (Exception)
        {
            throw Invalid(Key(key), text, expected);
        }

        return value >= min ? value.Value : throw Invalid(Key(key), text, expected);
    }

    public bool Bool(string key)
    {
        const string expected = "on or off";
        var text = Raw(key, expected);
        return text.Trim().ToLowerInvariant() switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw Invalid(Key(key), text, expected),
        };
    }

    /// <summary>Unlike the other values, a missing key reads as empty.</summary>
    public string String(string key) => _section.HasPath(key) ? _section.GetString(key, "") ?? "" : "";

    public string Choice(string key, params string[] choices)
    {
        var expected = choices.Length == 2 ? $"{choices[0]} or {choices[1]}" : "one of " + string.Join(", ", choices);
        var text = Raw(key, expected).Trim().ToLowerInvariant();
        return choices.Contains(text) ? text : throw Invalid(Key(key), text, expected);
    }

    public IReadOnlyList<string> Strings(string key)
    {
        try
        {
            return _section.HasPath(key) ? [.. _section.GetStringList(key)] : [];
        }
        catch (Exception e)
        {
            throw Invalid(Key(key), _section.GetValue(key)?.ToString(), $"a list of strings such as [\"a\", \"b\"] ({e.Message})");
        }
    }

    public IReadOnlyList<Uri> HttpUrls(string key)
    {
        const string expected = "a list of absolute http or https URLs such as [\"http://127.0.0.1:9000/hook\"]";
        IList<string> values;
        try
        {
            values = _section.HasPath(key) ? _section.GetStringList(key) : [];
        }
        catch (Exception)
        {
            throw Invalid(Key(key), _section.GetValue(key)?.ToString(), expected);
        }

        return [.. values.Select(v => Uri.TryCreate(v, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw Invalid(Key(key), v, expected))];
    }

    public string Key(string key) => $"{_name}.{key}";

    // The value as written; a missing key, or one holding an object or list where a single value belongs, fails here.
    private string Raw(string key, string expected)
    {
        if (!_section.HasPath(key))
        {
            throw Invalid(Key(key), null, expected);
        }

        var value = _section.GetValue(key);
        if (value is null || value.IsEmpty)
        {
            throw Invalid(Key(key), "", expected);
        }

        if (!value.IsString())
        {
            throw Invalid(Key(key), value.ToString(), expected);
        }

        return value.GetString() ?? "";
    }
}
