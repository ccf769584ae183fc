using System.Text.RegularExpressions;
using PandaFuzz.Domain.Engines;
using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Targets;

/// <summary>
/// One regular file of a bundle as its reader saw it: its path inside ('/' between parts), size, whether it is an ELF
/// file, an ELF executable or shared object (not a relocatable <c>.o</c>), and holds the bytes <c>LLVMFuzzerTestOneInput</c>;
/// <see cref="Text"/> is the content of a <c>.options</c> file no larger than <see cref="OptionsFile.MaxBytes"/>.
/// </summary>
public sealed record BundleFile(string Path, long Size, bool Elf, bool ElfLoadable, bool FuzzerEntry)
{
    public string? Text { get; init; }

    public string Name => Path[(Path.LastIndexOf('/') + 1)..];

    public string Folder => Path.LastIndexOf('/') is var slash and >= 0 ? Path[..(slash + 1)] : "";
}

/// <summary>
/// What a build bundle holds, from its files: fuzz targets are ELF executables with libFuzzer's entry point
/// (<c>LLVMFuzzerTestOneInput</c>, which AFL++'s <c>-fsanitize=fuzzer</c> builds have too) that are not named as shared
/// libraries; shared libraries are ELF files named <c>*.so</c> or <c>*.so.N…</c>. Beside each target (same folder, its
/// file name as the base) its optional <c>.options</c>, <c>_seed_corpus.zip</c> and <c>.dict</c>.
/// </summary>
public static partial class BundleIndexer
{
    public const string NameRule = "1-100 characters of letters, digits, '.', '_', '+' or '-'";

    public const string Holds =
        "a bundle (zip or tar.gz) holds one or more fuzz targets (ELF executables with LLVMFuzzerTestOneInput, built with -fsanitize=fuzzer), "
        + "their shared libraries (*.so) and per target optional <target>.options, <target>_seed_corpus.zip and <target>.dict";

    /// <summary>The index, or why the bundle is refused (no fuzz target, two of one name, a name no campaign could give).</summary>
    public static (BundleIndex? Index, string? Problem) Index(IReadOnlyList<BundleFile> files)
    {
        var byPath = files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var libraries = files.Where(f => f.Elf && IsLibraryName(f.Name)).Select(f => f.Path).Order(StringComparer.Ordinal).ToList();
        var targets = files.Where(f => f.Elf && f.ElfLoadable && f.FuzzerEntry && !IsLibraryName(f.Name)).OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        if (targets.Count == 0)
        {
            return (null, $"the bundle holds no fuzz target: {Holds}");
        }

        if (targets.GroupBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            return (null, $"two fuzz targets are named {twice.Key} ({string.Join(", ", twice.Select(t => t.Path))}): a fuzz target's name is its file name, so names must differ");
        }

        if (targets.FirstOrDefault(t => !TargetName().IsMatch(t.Name)) is { } badName)
        {
            return (null, $"the fuzz target {Shown(badName.Path)} has a name a campaign cannot give: a fuzz target's file name must be {NameRule}");
        }

        return (new BundleIndex([.. targets.Select(t => Target(t, byPath))], libraries), null);
    }

    /// <summary>A shared library's name: <c>libz.so</c>, <c>libz.so.1</c>, <c>libz.so.1.2.13</c>.</summary>
    public static bool IsLibraryName(string name) => LibraryName().IsMatch(name);

    private static BundleFuzzTarget Target(BundleFile target, Dictionary<string, BundleFile> byPath)
    {
        string? Beside(string suffix) => byPath.ContainsKey(target.Folder + target.Name + suffix) ? target.Folder + target.Name + suffix : null;

        var optionsPath = Beside(".options");
        var defaults = TargetOptionDefaults.None;
        var ignored = new List<BundleIgnoredOption>();
        if (optionsPath is not null)
        {
            if (byPath[optionsPath].Text is { } text)
            {
                defaults = OptionsFile.Read(text);
                ignored.AddRange(defaults.Ignored);
            }
            else
            {
                ignored.Add(new BundleIgnoredOption(optionsPath, $"the .options file is larger than {OptionsFile.MaxBytes} bytes or not text"));
            }
        }

        var dictionary = Beside(".dict");
        if (defaults.Dictionary is { } named)
        {
            if (byPath.ContainsKey(target.Folder + named))
            {
                dictionary = target.Folder + named;
            }
            else
            {
                ignored.Add(new BundleIgnoredOption($"{EngineNames.LibFuzzer}.dict", $"{named} is not in the bundle beside the fuzz target"));
            }
        }

        return new BundleFuzzTarget(target.Name, target.Path, target.Size)
        {
            OptionsFile = optionsPath,
            Options = defaults.Options,
            Dictionary = dictionary,
            SeedCorpus = Beside("_seed_corpus.zip"),
            TimeoutMs = defaults.TimeoutMs,
            MemoryLimitMb = defaults.MemoryLimitMb,
            IgnoredOptions = ignored,
        };
    }

    private static string Shown(string value) => value.Length > 100 ? value[..100] + "…" : value;

    [GeneratedRegex(@"\.so(\.[0-9]+)*\z")]
    private static partial Regex LibraryName();

    [GeneratedRegex(@"^[A-Za-z0-9._+-]{1,100}\z")]
    private static partial Regex TargetName();
}
