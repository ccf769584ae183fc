using System.IO.Compression;
using System.Text;

namespace PandaFuzz.Testing;

/// <summary>
/// The bundle tests' small project (<c>tests/targets/bundle</c>) built with clang: <c>lib/libbundle.so</c> with a planted
/// heap overflow, and the fuzz targets <c>fuzz_parse</c> and <c>fuzz_check</c> linked against it (rpath <c>$ORIGIN/lib</c>),
/// with <c>fuzz_parse.options</c> (a libFuzzer flag, an ASan option, and <c>close_fd_mask</c>, which PandaFuzz ignores),
/// <c>fuzz_parse_seed_corpus.zip</c> and <c>fuzz_parse.dict</c>; <c>fuzz_check</c> has none of them.
/// </summary>
public sealed record BundleProject(string Dir)
{
    public const string Options = """
        # what OSS-Fuzz writes
        [libfuzzer]
        max_len = 64
        close_fd_mask = 3
        timeout = 25

        [asan]
        detect_stack_use_after_return = 1
        """;

    public const string Dictionary = "kw=\"BND\"\n";

    /// <summary>The seed corpus zip's inputs.</summary>
    public static readonly IReadOnlyList<(string Name, string Content)> Seeds = [("short", "BND\u0001"), ("check", "CHKBND\u0002")];

    /// <summary>Every file of the bundle, by its path inside it.</summary>
    public IReadOnlyList<string> Files { get; } =
        ["fuzz_parse", "fuzz_check", "lib/libbundle.so", "fuzz_parse.options", "fuzz_parse_seed_corpus.zip", "fuzz_parse.dict"];

    /// <summary>Builds the project into <paramref name="dir"/> (about 2 s).</summary>
    public static async Task<BundleProject> BuildAsync(string dir, CancellationToken ct = default)
    {
        var sources = Path.Combine(RepoLayout.TargetSources, "bundle");
        Directory.CreateDirectory(Path.Combine(dir, "lib"));
        await Clang(["-g", "-O1", "-fsanitize=fuzzer-no-link,address", "-fPIC", "-shared", Path.Combine(sources, "libbundle.c"), "-o", Path.Combine(dir, "lib", "libbundle.so")], ct);
        await Task.WhenAll(new[] { "fuzz_parse", "fuzz_check" }.Select(name => Clang(
            ["-g", "-O1", "-fsanitize=fuzzer,address", Path.Combine(sources, name + ".c"), "-L" + Path.Combine(dir, "lib"), "-lbundle", "-Wl,-rpath,$ORIGIN/lib", "-o", Path.Combine(dir, name)], ct)));
        await File.WriteAllTextAsync(Path.Combine(dir, "fuzz_parse.options"), Options, ct);
        await File.WriteAllTextAsync(Path.Combine(dir, "fuzz_parse.dict"), Dictionary, ct);
        using (var seeds = ZipFile.Open(Path.Combine(dir, "fuzz_parse_seed_corpus.zip"), ZipArchiveMode.Create))
        {
            foreach (var (name, content) in Seeds)
            {
                await using var entry = await seeds.CreateEntry(name).OpenAsync(ct);
                await entry.WriteAsync(Encoding.Latin1.GetBytes(content), ct);
            }
        }

        return new BundleProject(dir);
    }

    /// <summary>The bundle as a zip at <paramref name="path"/>, each file with its unix mode (as <c>zip -r</c> writes it).</summary>
    public string Zip(string path)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var file in Files)
        {
            var entry = zip.CreateEntryFromFile(Path.Combine(Dir, file), file, CompressionLevel.Fastest);
            if (!OperatingSystem.IsWindows())
            {
                entry.ExternalAttributes = (0x8000 | (int)File.GetUnixFileMode(Path.Combine(Dir, file))) << 16;
            }
        }

        return path;
    }

    /// <summary>The bundle as a tar.gz at <paramref name="path"/>, as <c>tar czf</c> of the folder writes it (<c>./</c> names, a folder entry).</summary>
    public string TarGz(string path)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new System.Formats.Tar.TarWriter(gzip, System.Formats.Tar.TarEntryFormat.Pax);
        tar.WriteEntry(Path.Combine(Dir, "lib"), "./lib");
        foreach (var name in Files)
        {
            tar.WriteEntry(Path.Combine(Dir, name), "./" + name);
        }

        return path;
    }

    private static async Task Clang(IReadOnlyList<string> arguments, CancellationToken ct)
    {
        var result = await ProcessTools.RunAsync("clang", arguments, TimeSpan.FromMinutes(2), ct);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"clang {string.Join(' ', arguments)} failed: {result.StandardError}");
        }
    }
}
