using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using FluentAssertions;
using PandaFuzz.Infrastructure.Archives;
using PandaFuzz.Infrastructure.Bundles;
using PandaFuzz.Protocol;
using PandaFuzz.Testing;
using Xunit;

namespace PandaFuzz.Infrastructure.Tests.Bundles;

/// <summary>The bundle tests' project, built once with clang for the class.</summary>
public sealed class BundleProjectFixture : IAsyncLifetime
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "pandafuzz-bundle-" + Guid.NewGuid().ToString("N"));

    public BundleProject Project { get; private set; } = null!;

    public async Task InitializeAsync() => Project = await BundleProject.BuildAsync(Path.Combine(Dir, "out"));

    public Task DisposeAsync()
    {
        Directory.Delete(Dir, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Build bundles read as hostile archives: a real bundle (clang-built targets and library) is indexed from a zip and a
/// tar.gz and extracted with its modes; links, escaping names, bombs, floods, bundles without a fuzz target or with two
/// of one name are refused saying why, and a refused extraction leaves nothing.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BundleArchiveTests(BundleProjectFixture fixture) : IClassFixture<BundleProjectFixture>, IDisposable
{
    private static readonly ArchiveLimits Limits = BundleArchive.Limits(512L * 1024 * 1024);

    private readonly string _dir = Directory.CreateDirectory(Path.Combine(fixture.Dir, Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_real_bundle_lists_its_fuzz_targets_with_their_files_and_its_library_from_zip_and_tar_gz()
    {
        foreach (var archive in new[] { fixture.Project.Zip(Path.Combine(_dir, "b.zip")), fixture.Project.TarGz(Path.Combine(_dir, "b.tar.gz")) })
        {
            BundleArchive.IsBundle(archive).Should().BeTrue();

            var index = await BundleArchive.IndexAsync(archive, Limits, CancellationToken.None);

            index.Libraries.Should().Equal("lib/libbundle.so");
            index.Targets.Select(t => t.Name).Should().Equal("fuzz_check", "fuzz_parse");
            var parse = index.Target("fuzz_parse")!;
            parse.Path.Should().Be("fuzz_parse");
            parse.Size.Should().Be(new FileInfo(Path.Combine(fixture.Project.Dir, "fuzz_parse")).Length);
            parse.OptionsFile.Should().Be("fuzz_parse.options");
            parse.Options!.LibFuzzer.Should().Equal(new Dictionary<string, string> { ["max_len"] = "64" });
            parse.Options.Asan.Should().Equal(new Dictionary<string, string> { ["detect_stack_use_after_return"] = "1" });
            parse.TimeoutMs.Should().Be(25_000);
            parse.Dictionary.Should().Be("fuzz_parse.dict");
            parse.SeedCorpus.Should().Be("fuzz_parse_seed_corpus.zip");
            parse.IgnoredOptions.Should().ContainSingle().Which.Option.Should().Be("libfuzzer.close_fd_mask");
            index.Target("fuzz_check").Should().BeEquivalentTo(new BundleFuzzTarget("fuzz_check", "fuzz_check", new FileInfo(Path.Combine(fixture.Project.Dir, "fuzz_check")).Length));
        }
    }

    [Fact]
    public async Task A_plain_binary_is_not_a_bundle()
    {
        BundleArchive.IsBundle(Path.Combine(fixture.Project.Dir, "fuzz_parse")).Should().BeFalse();
        var text = Path.Combine(_dir, "text");
        await File.WriteAllTextAsync(text, "PK but not a zip");
        BundleArchive.IsBundle(text).Should().BeFalse();
    }

    [Fact]
    public async Task An_extracted_bundle_keeps_its_executables_and_runs_with_its_library()
    {
        var destination = Path.Combine(_dir, "cache", "build-1");

        await BundleArchive.ExtractAsync(fixture.Project.Zip(Path.Combine(_dir, "b.zip")), destination, Limits, CancellationToken.None);

        Directory.EnumerateFiles(destination, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(destination, f))
            .Should().BeEquivalentTo(fixture.Project.Files);
        File.GetUnixFileMode(Path.Combine(destination, "fuzz_parse")).Should().HaveFlag(UnixFileMode.UserExecute);
        File.GetUnixFileMode(Path.Combine(destination, "fuzz_parse.options")).Should().NotHaveFlag(UnixFileMode.UserExecute);
        // The target finds lib/libbundle.so beside it and runs one input.
        var run = await ProcessTools.RunAsync(Path.Combine(destination, "fuzz_parse"), [Path.Combine(destination, "fuzz_parse.dict")], TimeSpan.FromSeconds(30), CancellationToken.None);
        run.ExitCode.Should().Be(0, run.StandardError);

        var again = () => BundleArchive.ExtractAsync(fixture.Project.Zip(Path.Combine(_dir, "again.zip")), destination, Limits, CancellationToken.None);
        await again.Should().ThrowAsync<IOException>().WithMessage("*fresh folder*");
    }

    [Fact]
    public async Task One_file_of_a_bundle_is_read_bounded()
    {
        var archive = fixture.Project.TarGz(Path.Combine(_dir, "b.tar.gz"));

        (await BundleArchive.ReadFileAsync(archive, "fuzz_parse.dict", 1024, Limits, CancellationToken.None)).Should().Equal(Encoding.UTF8.GetBytes(BundleProject.Dictionary));
        (await BundleArchive.ReadFileAsync(archive, "nothing.dict", 1024, Limits, CancellationToken.None)).Should().BeNull();
        var tooLarge = () => BundleArchive.ReadFileAsync(archive, "fuzz_parse", 1024, Limits, CancellationToken.None);
        await tooLarge.Should().ThrowAsync<InvalidDataException>().WithMessage("*larger than 1024 bytes*");

        using var seeds = new MemoryStream();
        (await BundleArchive.CopyFileAsync(archive, "fuzz_parse_seed_corpus.zip", seeds, 1024 * 1024, Limits, CancellationToken.None)).Should().BeTrue();
        seeds.Position = 0;
        using var zip = new ZipArchive(seeds);
        zip.Entries.Select(e => e.FullName).Should().Equal(BundleProject.Seeds.Select(s => s.Name));
    }

    public static TheoryData<string, string> Hostile => new()
    {
        { "symlink", "*link*" },
        { "zip-symlink", "*link*" },
        { "hardlink", "*HardLink*" },
        { "dotdot", "*escapes its root*" },
        { "absolute", "*escapes its root*" },
        { "zip-bomb", "*compression ratio*" },
        { "tar-bomb", "*compression ratio*" },
        { "flood", "*more than 10000 entries*" },
        { "no-target", "*no fuzz target*bundle (zip or tar.gz) holds*" },
        { "same-name", "*two fuzz targets are named fuzz_parse (fuzz_parse, more/fuzz_parse)*" },
        { "twice", "*fuzz_parse.dict twice*" },
        { "control", "*control character*" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Hostile_bundles_are_refused_saying_why_and_extract_to_nothing(string shape, string message)
    {
        var archive = await HostileBundle(shape);

        var index = () => BundleArchive.IndexAsync(archive, Limits, CancellationToken.None);
        await index.Should().ThrowAsync<InvalidDataException>().WithMessage(message);

        if (shape is not ("no-target" or "same-name"))
        {
            var destination = Path.Combine(_dir, "x");
            var extract = () => BundleArchive.ExtractAsync(archive, destination, Limits, CancellationToken.None);
            await extract.Should().ThrowAsync<InvalidDataException>();
            Directory.Exists(destination).Should().BeFalse("a refused extraction leaves nothing");
        }
    }

    [Fact]
    public async Task A_file_under_a_file_is_refused_on_extraction()
    {
        var archive = Zip(("lib", new byte[] { 1 }), ("lib/libx.so", new byte[] { 2 }));

        var extract = () => BundleArchive.ExtractAsync(archive, Path.Combine(_dir, "x"), Limits, CancellationToken.None);

        await extract.Should().ThrowAsync<InvalidDataException>().WithMessage("*under a file*");
        Directory.Exists(Path.Combine(_dir, "x")).Should().BeFalse();
    }

    private async Task<string> HostileBundle(string shape)
    {
        var target = await File.ReadAllBytesAsync(Path.Combine(fixture.Project.Dir, "fuzz_parse"));
        switch (shape)
        {
            case "symlink":
                return Tar(Regular("fuzz_parse", target), new PaxTarEntry(TarEntryType.SymbolicLink, "lib/libbundle.so") { LinkName = "/etc/passwd" });
            case "zip-symlink":
                return ZipWithModes(("fuzz_parse", target, 0), ("lib/libbundle.so", "/etc/passwd"u8.ToArray(), 0xA1FF));
            case "hardlink":
                return Tar(Regular("fuzz_parse", target), new PaxTarEntry(TarEntryType.HardLink, "other") { LinkName = "fuzz_parse" });
            case "dotdot":
                return Zip(("fuzz_parse", target), ("../x", new byte[] { 1 }));
            case "absolute":
                return Tar(Regular("fuzz_parse", target), Regular("/abs/x", new byte[] { 1 }));
            case "zip-bomb":
            {
                // 200 MB of zeros, written streaming: a few hundred KB of zip.
                var path = Path.Combine(_dir, "bomb.zip");
                using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
                {
                    zip.CreateEntryFromFile(Path.Combine(fixture.Project.Dir, "fuzz_parse"), "fuzz_parse");
                    await using var zeros = await zip.CreateEntry("zeros.dict", CompressionLevel.SmallestSize).OpenAsync();
                    var chunk = new byte[1024 * 1024];
                    for (var i = 0; i < 200; i++)
                    {
                        await zeros.WriteAsync(chunk);
                    }
                }

                return path;
            }

            case "tar-bomb":
            {
                var path = Path.Combine(_dir, "bomb.tar.gz");
                await using (var file = System.IO.File.Create(path))
                await using (var gzip = new GZipStream(file, CompressionLevel.SmallestSize))
                await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
                {
                    await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "zeros.dict") { DataStream = new Zeros(200L * 1024 * 1024) });
                }

                return path;
            }

            case "flood":
                return ZipWithModes(new[] { ("fuzz_parse", target, 0) }.Concat(Enumerable.Range(0, 10_000).Select(i => ($"seeds/{i}", new byte[] { 1 }, 0))).ToArray());
            case "no-target":
                return Zip(("lib/libbundle.so", await File.ReadAllBytesAsync(Path.Combine(fixture.Project.Dir, "lib", "libbundle.so"))), ("README", "hello"u8.ToArray()));
            case "same-name":
                return Zip(("fuzz_parse", target), ("more/fuzz_parse", target));
            case "twice":
                return Tar(Regular("fuzz_parse", target), Regular("fuzz_parse.dict", new byte[] { 1 }), Regular("./fuzz_parse.dict", new byte[] { 2 }));
            case "control":
                return Zip(("fuzz_parse", target), ("seeds/a\nb", new byte[] { 1 }));
            default:
                throw new ArgumentOutOfRangeException(nameof(shape));
        }
    }

    private string Zip(params (string Name, byte[] Content)[] entries) => ZipWithModes([.. entries.Select(e => (e.Name, e.Content, 0))]);

    private string ZipWithModes(params (string Name, byte[] Content, int Mode)[] entries)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".zip");
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, content, mode) in entries)
        {
            var entry = zip.CreateEntry(name, CompressionLevel.Fastest);
            entry.ExternalAttributes = mode << 16;
            using var stream = entry.Open();
            stream.Write(content);
        }

        return path;
    }

    private string Tar(params TarEntry[] entries)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".tar.gz");
        using var file = System.IO.File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var entry in entries)
        {
            tar.WriteEntry(entry);
        }

        return path;
    }

    private static PaxTarEntry Regular(string name, byte[] content) => new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) };

    /// <summary>A seekable stream of <paramref name="length"/> zero bytes that holds none of them.</summary>
    private sealed class Zeros(long length) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - Position);
            Array.Clear(buffer, offset, n);
            Position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => length + offset,
        };

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
