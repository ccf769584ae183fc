using System.Formats.Tar;
using System.IO.Compression;
using FluentAssertions;
using PandaFuzz.Gateway;
using PandaFuzz.Infrastructure.Blobs;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>Seed corpus archives: regular files are taken by content; hostile shapes are refused whole, saying why.</summary>
public sealed class CorpusArchiveTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "pandafuzz-archive-" + Guid.NewGuid().ToString("N"));
    private readonly ContentAddressedStore _blobs;

    public CorpusArchiveTests()
    {
        Directory.CreateDirectory(_dir);
        _blobs = new ContentAddressedStore(Path.Combine(_dir, "blobs"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Zip(params (string Name, byte[] Content)[] entries)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".zip");
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, content) in entries)
        {
            using var stream = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
            stream.Write(content);
        }

        return path;
    }

    private string Tar(params TarEntry[] entries)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".tar");
        using var file = System.IO.File.Create(path);
        using var tar = new TarWriter(file, TarEntryFormat.Pax);
        foreach (var entry in entries)
        {
            tar.WriteEntry(entry);
        }

        return path;
    }

    private static PaxTarEntry File(string name, byte[] content) => new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) };

    /// <summary>Imports and commits, as adding to a corpus does: the entries.</summary>
    private async Task<IReadOnlyList<PandaFuzz.Protocol.CorpusEntry>> Import(string path, PandaFuzz.Infrastructure.Archives.ArchiveLimits? limits = null)
    {
        using var staged = await CorpusArchive.ImportAsync(path, _blobs, "test", limits ?? CorpusArchive.Default, CancellationToken.None);
        staged.Commit();
        return staged.Entries;
    }

    /// <summary>Every file under the blob store's root, with its size: what an import may have left.</summary>
    private List<string> StoreFiles() =>
        [.. Directory.EnumerateFiles(_blobs.Root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(f => $"{f} {new FileInfo(f).Length}")];

    [Fact]
    public async Task A_refused_archive_leaves_the_blob_store_as_it_was()
    {
        // Arrange: a stored blob, and an archive of three 900 KB inputs and then one over the entry limit.
        await Import(Zip(("kept", [7, 7, 7])));
        var before = StoreFiles();
        var random = new Random(23);
        byte[] Input(int size)
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            return bytes;
        }

        var refused = Zip(("a", Input(900 * 1024)), ("b", Input(900 * 1024)), ("c", Input(900 * 1024)), ("too-big", Input(2 * 1024 * 1024)));

        // Act
        var import = () => Import(refused);

        // Assert
        await import.Should().ThrowAsync<InvalidDataException>().WithMessage("*larger than*");
        StoreFiles().Should().Equal(before, "nothing of a refused archive stays in the store");
    }

    [Fact]
    public async Task Staged_inputs_become_blobs_only_when_committed()
    {
        var archive = Zip(("a", [1, 2, 3]), ("same-as-a", [1, 2, 3]), ("b", [4]));

        using (var dropped = await CorpusArchive.ImportAsync(archive, _blobs, "test", CorpusArchive.Default, CancellationToken.None))
        {
            dropped.Entries.Should().HaveCount(3);
            dropped.Entries.Should().OnlyContain(e => !_blobs.Contains(e.Input));
        }

        StoreFiles().Should().BeEmpty("an import not committed leaves nothing");
        var entries = await Import(archive);
        entries.Should().OnlyContain(e => _blobs.Contains(e.Input));
        StoreFiles().Should().HaveCount(2, "two distinct inputs are two blobs");
    }

    [Fact]
    public async Task Empty_entries_and_directories_count_against_the_entry_limit()
    {
        var limits = CorpusArchive.Default with { MaxEntries = 10 };
        var empties = () => Import(Zip([.. Enumerable.Range(0, 10).Select(i => ($"empty{i}", Array.Empty<byte>())), ("one", [1])]), limits);
        await empties.Should().ThrowAsync<InvalidDataException>().WithMessage("*more than 10 entries*");

        var folders = () => Import(Tar([.. Enumerable.Range(0, 11).Select(i => (TarEntry)new PaxTarEntry(TarEntryType.Directory, $"d{i}/"))]), limits);
        await folders.Should().ThrowAsync<InvalidDataException>().WithMessage("*more than 10 entries*");
        StoreFiles().Should().BeEmpty();
    }

    [Fact]
    public async Task Regular_files_of_zip_and_tar_are_taken_by_content()
    {
        (await Import(Zip(("a", [1]), ("dir/b", [2, 2]), ("dir/", [])))).Should().HaveCount(2);
        (await Import(Tar(File("a", [1]), File("./seeds/b", [2, 2]), new PaxTarEntry(TarEntryType.Directory, "seeds/")))).Should().HaveCount(2);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("seeds/../../escape")]
    [InlineData("/etc/passwd")]
    [InlineData("..\\windows")]
    [InlineData("C:/evil")]
    public async Task Entries_that_escape_the_root_are_refused(string name)
    {
        var zip = () => Import(Zip(("fine", [1]), (name, [2])));
        await zip.Should().ThrowAsync<InvalidDataException>().WithMessage("*escapes its root*");

        var tar = () => Import(Tar(File("fine", [1]), File(name, [2])));
        await tar.Should().ThrowAsync<InvalidDataException>().WithMessage("*escapes its root*");
    }

    [Fact]
    public async Task Links_and_devices_are_refused()
    {
        var symlink = () => Import(Tar(File("fine", [1]), new PaxTarEntry(TarEntryType.SymbolicLink, "link") { LinkName = "/etc/shadow" }));
        await symlink.Should().ThrowAsync<InvalidDataException>().WithMessage("*SymbolicLink*");

        var hardlink = () => Import(Tar(new PaxTarEntry(TarEntryType.HardLink, "hard") { LinkName = "fine" }));
        await hardlink.Should().ThrowAsync<InvalidDataException>().WithMessage("*HardLink*");

        var device = () => Import(Tar(new PaxTarEntry(TarEntryType.CharacterDevice, "null")));
        await device.Should().ThrowAsync<InvalidDataException>().WithMessage("*CharacterDevice*");
    }

    [Fact]
    public async Task Bombs_and_floods_are_refused()
    {
        // 20 files of 1 MiB of zeros compress to a few KiB each: far past the allowed expansion ratio.
        var bomb = () => Import(Zip([.. Enumerable.Range(0, 20).Select(i => ($"zeros{i}", new byte[1024 * 1024]))]));
        await bomb.Should().ThrowAsync<InvalidDataException>().WithMessage("*compression ratio*");

        var big = () => Import(Zip(("big", new byte[2 * 1024 * 1024])));
        await big.Should().ThrowAsync<InvalidDataException>().WithMessage("*larger than*");

        var many = () => Import(Zip([.. Enumerable.Range(0, 11).Select(i => ($"f{i}", new[] { (byte)i }))]), CorpusArchive.Default with { MaxEntries = 10 });
        await many.Should().ThrowAsync<InvalidDataException>().WithMessage("*more than 10 entries*");

        var garbage = Path.Combine(_dir, "garbage");
        await System.IO.File.WriteAllBytesAsync(garbage, [0x1f, 0x8b, 1, 2, 3, 4, 5]);
        var notAnArchive = () => Import(garbage);
        await notAnArchive.Should().ThrowAsync<InvalidDataException>();
    }
}
