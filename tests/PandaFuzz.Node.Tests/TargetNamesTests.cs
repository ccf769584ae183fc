using FluentAssertions;
using PandaFuzz.Gateway;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Node.Tests;

public sealed class TargetNamesTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-target-names-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_target_keeps_the_last_name_it_was_uploaded_under_beside_the_blob_store()
    {
        var blobs = new ContentAddressedStore(Path.Combine(_root, "blobs"));
        var (target, _) = await blobs.PutAsync(new MemoryStream("ELF"u8.ToArray()), 1024);

        TargetNames.Find(blobs, target).Should().BeNull();
        TargetNames.Remember(blobs, target, "parser_fuzzer");
        TargetNames.Remember(blobs, target, "png_fuzzer");

        TargetNames.Find(blobs, target).Should().Be("png_fuzzer");
        TargetNames.Find(blobs, BlobId.Of("other"u8)).Should().BeNull();
        Directory.GetFiles(Path.Combine(_root, "target-names")).Should().ContainSingle("a name is written whole, under the target's hash");
        Directory.EnumerateFileSystemEntries(blobs.Root, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(blobs.Root, p)).Should().NotContain(p => p.Contains("target-names"));
    }
}
