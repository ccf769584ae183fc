using System.Text.Json;
using PandaFuzz.Domain.Engines;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>
/// <c>engineOptions</c> in the API: sections by name (<c>libfuzzer</c>, <c>aflplusplus</c>, <c>asan</c>, <c>ubsan</c>,
/// <c>msan</c>), each an object of options; a value may be a string, a number or a boolean (true is 1).
/// </summary>
public static class EngineOptionsModel
{
    public const int MaxOptionsPerSection = 64;

    /// <summary>The options, or the problems by field (<c>engineOptions.libfuzzer.fork</c>), each naming the option.</summary>
    public static EngineOptions? Parse(IReadOnlyDictionary<string, Dictionary<string, JsonElement>>? request, Dictionary<string, string[]> errors)
    {
        if (request is null)
        {
            return null;
        }

        var sections = new Dictionary<string, IReadOnlyDictionary<string, string>>();
        foreach (var (name, options) in request)
        {
            var field = $"engineOptions.{name}";
            if (!EngineOptions.Sections.Contains(name))
            {
                errors[field] = [$"'{name}' is not a section of engineOptions: one of {string.Join(", ", EngineOptions.Sections)}"];
                continue;
            }

            if (options is null || options.Count > MaxOptionsPerSection)
            {
                errors[field] = [$"{field} must be an object of at most {MaxOptionsPerSection} options"];
                continue;
            }

            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in options)
            {
                var text = value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.Number => value.GetRawText(),
                    JsonValueKind.True => "1",
                    JsonValueKind.False => "0",
                    _ => null,
                };
                if (text is null)
                {
                    errors[$"{field}.{key}"] = [$"{key} must be a string, a number or a boolean"];
                    continue;
                }

                values[key.TrimStart('-')] = text;
            }

            sections[name] = values;
        }

        var parsed = EngineOptions.From(sections);
        foreach (var (option, message) in EngineOptionRules.Check(parsed))
        {
            errors[$"engineOptions.{option}"] = [message];
        }

        return parsed;
    }

    /// <summary>The options as the API shows them: their non-empty sections.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? ToSections(EngineOptions? options) =>
        options is null || options.IsEmpty
            ? null
            : EngineOptions.Sections.Where(s => options.Section(s) is { Count: > 0 }).ToDictionary(s => s, s => options.Section(s)!);
}
