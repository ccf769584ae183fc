using FluentAssertions;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Infrastructure.Tests.Blobs;

public sealed class ContentAddressedStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-cas-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private string[] BlobFiles() =>
        Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(Path.Combine(_root, "incoming") + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .ToArray();

    private string[] IncomingFiles() => Directory.GetFiles(Path.Combine(_root, "incoming"));

    [Fact]
    public async Task Put_returns_the_sha256_and_the_size_and_stores_the_bytes_under_it()
    {
        var store = new ContentAddressedStore(_root);
        var bytes = "the fuzz target bytes"u8.ToArray();

        var (id, size) = await store.PutAsync(new MemoryStream(bytes), maxBytes: 1024);

        id.Should().Be(BlobId.Of(bytes));
        size.Should().Be(bytes.Length);
        store.Contains(id).Should().BeTrue();
        store.SizeOf(id).Should().Be(bytes.Length);
        store.PathOf(id).Should().Be(Path.Combine(_root, id.Sha256[..2], id.Sha256));
        (await File.ReadAllBytesAsync(store.PathOf(id))).Should().Equal(bytes);
        IncomingFiles().Should().BeEmpty();
    }

    [Fact]
    public async Task Put_streams_bodies_larger_than_its_buffer()
    {
        var store = new ContentAddressedStore(_root);
        var bytes = new byte[200 * 1024 + 17];
        new Random(42).NextBytes(bytes);

        var (id, size) = await store.PutAsync(new MemoryStream(bytes), maxBytes: bytes.Length);

        id.Should().Be(BlobId.Of(bytes));
        size.Should().Be(bytes.Length);
        await using var read = store.OpenRead(id);
        var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        copy.ToArray().Should().Equal(bytes);
    }

    [Fact]
    public async Task The_same_bytes_twice_give_the_same_id_and_one_file()
    {
        var store = new ContentAddressedStore(_root);
        var bytes = "crash input"u8.ToArray();

        var first = await store.PutAsync(new MemoryStream(bytes), maxBytes: 1024);
        var second = await store.PutAsync(new MemoryStream(bytes), maxBytes: 1024);

        second.Should().Be(first);
        BlobFiles().Should().ContainSingle().Which.Should().Be(store.PathOf(first.Id));
        IncomingFiles().Should().BeEmpty();
    }

    [Fact]
    public async Task A_body_over_the_limit_throws_and_leaves_no_file()
    {
        var store = new ContentAddressedStore(_root);
        var bytes = new byte[101];

        var act = () => store.PutAsync(new MemoryStream(bytes), maxBytes: 100);

        (await act.Should().ThrowAsync<BlobTooLargeException>()).Which.Limit.Should().Be(100);
        BlobFiles().Should().BeEmpty();
        IncomingFiles().Should().BeEmpty();
        store.Contains(BlobId.Of(bytes)).Should().BeFalse();
    }

    [Fact]
    public async Task A_body_exactly_at_the_limit_is_stored()
    {
        var store = new ContentAddressedStore(_root);
        var bytes = new byte[100];

        var (id, size) = await store.PutAsync(new MemoryStream(bytes), maxBytes: 100);

        size.Should().Be(100);
        store.Contains(id).Should().BeTrue();
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("../../../../etc/passwd")]
    [InlineData("")]
    [InlineData("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08")]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0")]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n")]
    public void PathOf_rejects_ids_that_are_not_a_sha256(string text)
    {
        var store = new ContentAddressedStore(_root);

        var act = () => store.PathOf(new BlobId(text));

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task Delete_removes_a_stored_blob_once()
    {
        var store = new ContentAddressedStore(_root);
        var (id, _) = await store.PutAsync(new MemoryStream("old target"u8.ToArray()), maxBytes: 1024);

        store.Delete(id).Should().BeTrue();
        store.Delete(id).Should().BeFalse();
        store.Contains(id).Should().BeFalse();
        store.SizeOf(id).Should().BeNull();
    }

    [Fact]
    public void Construction_removes_stale_files_from_incoming()
    {
        var incoming = Path.Combine(_root, "incoming");
        Directory.CreateDirectory(incoming);
        var stale = Path.Combine(incoming, Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(stale, new byte[10]);

        var store = new ContentAddressedStore(_root);

        File.Exists(stale).Should().BeFalse();
        Directory.Exists(incoming).Should().BeTrue();
        store.Root.Should().Be(Path.GetFullPath(_root));
    }

    [Fact]
    public async Task Construction_keeps_committed_blobs()
    {
        var (id, _) = await new ContentAddressedStore(_root).PutAsync(new MemoryStream("kept"u8.ToArray()), maxBytes: 1024);

        var reopened = new ContentAddressedStore(_root);

        reopened.Contains(id).Should().BeTrue();
    }
}
