namespace PandaFuzz.Protocol;

/// <summary>
/// What a campaign sets for its engines and sanitizers, by section as in a libFuzzer (OSS-Fuzz) <c>.options</c> file:
/// <c>libfuzzer</c> flags by name without their dash (<c>max_len = 256</c>), <c>aflplusplus</c> options (<c>p</c> the
/// power schedule, <c>L</c> MOpt, <c>l</c> the CMPLOG level, <c>input</c> stdin or file), and keys added to the shipped
/// <c>ASAN_OPTIONS</c>, <c>UBSAN_OPTIONS</c> and <c>MSAN_OPTIONS</c>. Only what the allowlists of
/// <c>PandaFuzz.Domain.Engines.EngineOptionRules</c> take reaches a bot.
/// </summary>
public sealed record EngineOptions(
    IReadOnlyDictionary<string, string>? LibFuzzer = null,
    IReadOnlyDictionary<string, string>? AflPlusPlus = null,
    IReadOnlyDictionary<string, string>? Asan = null,
    IReadOnlyDictionary<string, string>? Ubsan = null,
    IReadOnlyDictionary<string, string>? Msan = null)
{
    public const string AsanSection = "asan";
    public const string UbsanSection = "ubsan";
    public const string MsanSection = "msan";

    /// <summary>The sections, as the API and <c>.options</c> files name them.</summary>
    public static readonly IReadOnlyList<string> Sections = [EngineNames.LibFuzzer, EngineNames.AflPlusPlus, AsanSection, UbsanSection, MsanSection];

    public IReadOnlyDictionary<string, string>? Section(string name) => name switch
    {
        EngineNames.LibFuzzer => LibFuzzer,
        EngineNames.AflPlusPlus => AflPlusPlus,
        AsanSection => Asan,
        UbsanSection => Ubsan,
        MsanSection => Msan,
        _ => null,
    };

    public bool IsEmpty => Sections.All(s => Section(s) is not { Count: > 0 });

    /// <summary>From sections by name (unknown names are the caller's to refuse); empty sections are left out.</summary>
    public static EngineOptions? From(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> sections)
    {
        IReadOnlyDictionary<string, string>? Of(string name) =>
            sections.TryGetValue(name, out var section) && section.Count > 0 ? new SortedDictionary<string, string>(section.ToDictionary(), StringComparer.Ordinal) : null;

        var options = new EngineOptions(Of(EngineNames.LibFuzzer), Of(EngineNames.AflPlusPlus), Of(AsanSection), Of(UbsanSection), Of(MsanSection));
        return options.IsEmpty ? null : options;
    }

    /// <summary>These options over <paramref name="defaults"/> (a bundle's <c>.options</c> file): a key set here wins.</summary>
    public EngineOptions Over(EngineOptions? defaults)
    {
        if (defaults is null)
        {
            return this;
        }

        IReadOnlyDictionary<string, string>? Merge(string name)
        {
            var merged = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in (defaults.Section(name) ?? new Dictionary<string, string>()).Concat(Section(name) ?? new Dictionary<string, string>()))
            {
                merged[key] = value;
            }

            return merged.Count > 0 ? merged : null;
        }

        return new EngineOptions(Merge(EngineNames.LibFuzzer), Merge(EngineNames.AflPlusPlus), Merge(AsanSection), Merge(UbsanSection), Merge(MsanSection));
    }

    /// <summary>Records compare dictionaries by reference: these compare key by key.</summary>
    public static bool Same(EngineOptions? a, EngineOptions? b) =>
        (a is null || a.IsEmpty) && (b is null || b.IsEmpty)
        || a is not null && b is not null && Sections.All(s => SameSection(a.Section(s), b.Section(s)));

    private static bool SameSection(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a is null || a.All(p => b!.TryGetValue(p.Key, out var v) && v == p.Value));
}
