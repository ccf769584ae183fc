using Akka.Configuration;

namespace PandaFuzz.Infrastructure.Configuration;

/// <summary>Reads typed values from a HOCON section; every failure names the full key.</summary>
public sealed class HoconReader(Config root, string section)
{
    private readonly Config _section = root.GetConfig(section) ?? throw new ConfigurationException($"missing configuration section '{section}'");

    public TimeSpan PositiveDuration(string key)
    {
        TimeSpan value;
        try
        {
            value = _section.GetTimeSpan(key, TimeSpan.Zero, allowInfinite: false);
        }
        catch (Exception e)
        {
            throw new ConfigurationException($"{section}.{key} is not a duration: {e.Message}");
        }

        return value > TimeSpan.Zero ? value : throw new ConfigurationException($"{section}.{key} must be a positive duration");
    }

    public int Int(string key, int min, int max)
    {
        int value;
        try
        {
            value = _section.GetInt(key, int.MinValue);
        }
        catch (Exception e)
        {
            throw new ConfigurationException($"{section}.{key} is not a whole number: {e.Message}");
        }

        return value >= min && value <= max
            ? value
            : throw new ConfigurationException($"{section}.{key} must be between {min} and {max} (is {(value == int.MinValue ? "missing" : value)})");
    }

    public long Bytes(string key, long min)
    {
        long? value;
        try
        {
            value = _section.GetByteSize(key);
        }
        catch (Exception e)
        {
            throw new ConfigurationException($"{section}.{key} is not a size: {e.Message}");
        }

        return value >= min ? value.Value : throw new ConfigurationException($"{section}.{key} must be a size of at least {min} bytes");
    }

    public bool Bool(string key)
    {
        if (!_section.HasPath(key))
        {
            throw new ConfigurationException($"{section}.{key} is missing: expected on or off");
        }

        return _section.GetString(key, "")?.Trim().ToLowerInvariant() switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            var other => throw new ConfigurationException($"{section}.{key} must be on or off (is '{other}')"),
        };
    }

    public string String(string key) => _section.GetString(key, "") ?? "";

    /// <summary>One of <paramref name="allowed"/> (compared without case), returned in lower case.</summary>
    public string OneOf(string key, params string[] allowed)
    {
        var value = String(key).Trim().ToLowerInvariant();
        return allowed.Contains(value)
            ? value
            : throw new ConfigurationException($"{section}.{key} must be one of {string.Join(", ", allowed)} (is '{value}')");
    }

    /// <summary>A list of strings (an empty list when the key is absent).</summary>
    public IReadOnlyList<string> Strings(string key)
    {
        try
        {
            return _section.HasPath(key) ? [.. _section.GetStringList(key)] : [];
        }
        catch (Exception e)
        {
            throw new ConfigurationException($"{section}.{key} is not a list of strings: {e.Message}");
        }
    }

    /// <summary>A list of absolute http(s) URLs (an empty list when the key is absent).</summary>
    public IReadOnlyList<Uri> HttpUrls(string key)
    {
        IList<string> values;
        try
        {
            values = _section.HasPath(key) ? _section.GetStringList(key) : [];
        }
        catch (Exception e)
        {
            throw new ConfigurationException($"{section}.{key} is not a list of URLs: {e.Message}");
        }

        return [.. values.Select(v => Uri.TryCreate(v, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ConfigurationException($"{section}.{key} holds '{v}', which is not an absolute http or https URL"))];
    }
}
