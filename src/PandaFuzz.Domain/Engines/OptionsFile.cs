using System.Globalization;
using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Engines;

/// <summary>
/// What a fuzz target's <c>.options</c> file (libFuzzer's and OSS-Fuzz's INI format) sets as its defaults: the options
/// <see cref="EngineOptionRules"/> allow, libFuzzer's <c>timeout</c> (seconds) and <c>rss_limit_mb</c> as the campaign's
/// <c>timeoutMs</c> and <c>memoryLimitMb</c>, <c>dict</c> as the dictionary's file name, and every other option as ignored,
/// with why. Nothing in the file refuses the bundle: OSS-Fuzz files commonly set what PandaFuzz manages itself.
/// </summary>
public sealed record TargetOptionDefaults(
    EngineOptions? Options,
    int? TimeoutMs,
    int? MemoryLimitMb,
    string? Dictionary,
    IReadOnlyList<BundleIgnoredOption> Ignored)
{
    public static readonly TargetOptionDefaults None = new(null, null, null, null, []);
}

/// <summary>Reads <c>.options</c> files: <c>[section]</c> headers, <c>key = value</c> (or <c>key: value</c>), <c>#</c> and <c>;</c> comment lines.</summary>
public static class OptionsFile
{
    /// <summary>A file larger than this is ignored whole: a real one is a few lines.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>Section names as files write them, to <see cref="EngineOptions"/> section names.</summary>
    private static readonly Dictionary<string, string> SectionNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["libfuzzer"] = EngineNames.LibFuzzer,
        ["afl"] = EngineNames.AflPlusPlus,
        ["aflplusplus"] = EngineNames.AflPlusPlus,
        [EngineOptions.AsanSection] = EngineOptions.AsanSection,
        [EngineOptions.UbsanSection] = EngineOptions.UbsanSection,
        [EngineOptions.MsanSection] = EngineOptions.MsanSection,
    };

    public static TargetOptionDefaults Read(string text)
    {
        var ignored = new List<BundleIgnoredOption>();
        var sections = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        string? section = null;
        string? unknownSection = null;
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[' && line[^1] == ']')
            {
                var name = line[1..^1].Trim();
                section = SectionNames.GetValueOrDefault(name);
                unknownSection = section is null ? name : null;
                continue;
            }

            var split = line.IndexOfAny(['=', ':']);
            if (split <= 0)
            {
                ignored.Add(new BundleIgnoredOption($"line {number}", "not a [section] header nor a key = value line"));
                continue;
            }

            var key = line[..split].Trim();
            var value = line[(split + 1)..].Trim();
            if (section is null)
            {
                ignored.Add(unknownSection is null
                    ? new BundleIgnoredOption(key, "outside a section: options go under [libfuzzer], [afl], [asan], [ubsan] or [msan]")
                    : new BundleIgnoredOption($"{unknownSection}.{key}", $"[{unknownSection}] is not a section PandaFuzz reads (libfuzzer, afl, aflplusplus, asan, ubsan, msan)"));
                continue;
            }

            if (!sections.TryGetValue(section, out var keys))
            {
                sections[section] = keys = new Dictionary<string, string>(StringComparer.Ordinal);
            }

            keys[key] = value;
        }

        int? timeoutMs = null, memoryLimitMb = null;
        string? dictionary = null;
        if (sections.TryGetValue(EngineNames.LibFuzzer, out var libFuzzer))
        {
            timeoutMs = Whole(Take(libFuzzer, "timeout", ignored, v => Whole(v, 1, 3600) is not null, "must be whole seconds from 1 to 3600"), 1, 3600) * 1000;
            memoryLimitMb = Whole(
                Take(libFuzzer, "rss_limit_mb", ignored, v => Whole(v, 64, 1024 * 1024) is not null, "must be a whole number of MB from 64 to 1048576 (0, no limit, is not taken: a campaign keeps one)"),
                64, 1024 * 1024);
            dictionary = Take(libFuzzer, "dict", ignored, IsFileName, "must name a file beside the target (no '/')");
        }

        var options = EngineOptions.From(sections.ToDictionary(s => s.Key, s => (IReadOnlyDictionary<string, string>)s.Value));
        var refused = EngineOptionRules.Check(options);
        foreach (var (field, message) in refused)
        {
            ignored.Add(new BundleIgnoredOption(field, message));
            var dot = field.IndexOf('.');
            sections[field[..dot]].Remove(field[(dot + 1)..]);
        }

        var kept = refused.Count == 0 ? options : EngineOptions.From(sections.ToDictionary(s => s.Key, s => (IReadOnlyDictionary<string, string>)s.Value));
        return new TargetOptionDefaults(kept, timeoutMs, memoryLimitMb, dictionary, ignored);
    }

    /// <summary>Takes <paramref name="key"/> out of the section: its value when <paramref name="valid"/>, else null and ignored saying it <paramref name="rule"/>.</summary>
    private static string? Take(Dictionary<string, string> section, string key, List<BundleIgnoredOption> ignored, Func<string, bool> valid, string rule)
    {
        if (!section.Remove(key, out var value))
        {
            return null;
        }

        if (valid(value))
        {
            return value;
        }

        ignored.Add(new BundleIgnoredOption($"{EngineNames.LibFuzzer}.{key}", $"{key} = {Shown(value)}: {rule}"));
        return null;
    }

    private static int? Whole(string? value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max ? n : null;

    private static bool IsFileName(string value) =>
        value.Length is >= 1 and <= 255 && value is not ("." or "..") && !value.Any(c => c is '/' or '\\' || char.IsControl(c));

    private static string Shown(string value) => value.Length > 64 ? value[..64] + "…" : value;
}
