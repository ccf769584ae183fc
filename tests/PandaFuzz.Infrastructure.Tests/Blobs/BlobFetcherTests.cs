using Akka.Actor;
using FluentAssertions;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Infrastructure.Tests.Blobs;

/// <summary>Blobs pulled from a real blob server actor: many small ones a page at a time, a big one in chunks, and a
/// batch that fails leaves nothing behind.</summary>
public sealed class BlobFetcherTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-fetch-" + Guid.NewGuid().ToString("N"));
    private readonly ActorSystem _system = ActorSystem.Create("fetch", "akka.loglevel = WARNING");
    private ContentAddressedStore _source = null!;
    private ContentAddressedStore _destination = null!;
    private ActorSelection _server = null!;
    private readonly List<object> _asks = [];

    public Task InitializeAsync()
    {
        _source = new ContentAddressedStore(Path.Combine(_root, "master"));
        _destination = new ContentAddressedStore(Path.Combine(_root, "bot"));
        var server = _system.ActorOf(Props.Create(() => new BlobServerActor(_source)), BlobServerActor.MasterName);
        _system.ActorOf(Props.Create(() => new CountingProxy(server, _asks)), "counting");
        _server = _system.ActorSelection("/user/counting");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Three_hundred_small_inputs_and_one_big_blob_arrive_whole_in_a_few_asks()
    {
        // Arrange: 300 inputs of ~170 bytes (a corpus page) and a 130 KB binary, which takes three chunks.
        var inputs = new List<BlobId>();
        for (var i = 0; i < 300; i++)
        {
            inputs.Add((await _source.PutAsync(new MemoryStream(Input(i, 170)), long.MaxValue)).Id);
        }

        var big = (await _source.PutAsync(new MemoryStream(Input(-1, 130_000)), long.MaxValue)).Id;
        await BlobFetcher.FetchAsync(_server, inputs[7], _destination, TimeSpan.FromSeconds(10));
        _asks.Clear();

        // Act: one of them is already here.
        await BlobFetcher.FetchManyAsync(_server, [.. inputs, big, inputs[0]], _destination, TimeSpan.FromSeconds(10));

        // Assert: every blob as the source holds it; 299 small ones in 3 asks (128 ids an ask), the big one in 3 more.
        foreach (var blob in inputs.Append(big))
        {
            (await File.ReadAllBytesAsync(_destination.PathOf(blob))).Should().Equal(await File.ReadAllBytesAsync(_source.PathOf(blob)));
        }

        _asks.OfType<BlobTransfer.GetBlobs>().Should().HaveCount(4, "three pages of small inputs and one that starts the big blob");
        _asks.OfType<BlobTransfer.GetChunk>().Should().HaveCount(2);
        Directory.GetFiles(Path.Combine(_root, "bot", "incoming")).Should().BeEmpty();
    }

    [Fact]
    public async Task A_batch_with_a_blob_the_source_lacks_or_serves_altered_stores_none_of_it()
    {
        // Arrange: two good inputs, one the source does not hold, and one whose file the source holds altered.
        var good = new[] { (await _source.PutAsync(new MemoryStream(Input(1, 50)), long.MaxValue)).Id, (await _source.PutAsync(new MemoryStream(Input(2, 50)), long.MaxValue)).Id };
        var absent = BlobId.Of(Input(3, 50));
        var altered = (await _source.PutAsync(new MemoryStream(Input(4, 50)), long.MaxValue)).Id;
        await File.WriteAllBytesAsync(_source.PathOf(altered), Input(5, 50));

        // Act, assert: each batch fails naming the blob, and the store holds nothing of it.
        var missing = () => BlobFetcher.FetchManyAsync(_server, [good[0], absent, good[1]], _destination, TimeSpan.FromSeconds(10));
        (await missing.Should().ThrowAsync<FileNotFoundException>()).WithMessage($"*{absent.Sha256}*");
        var tampered = () => BlobFetcher.FetchManyAsync(_server, [good[0], altered, good[1]], _destination, TimeSpan.FromSeconds(10));
        (await tampered.Should().ThrowAsync<InvalidDataException>()).WithMessage($"*{altered.Sha256}*");
        good.Should().OnlyContain(b => !_destination.Contains(b));
        Directory.GetFiles(Path.Combine(_root, "bot", "incoming")).Should().BeEmpty();
    }

    private static byte[] Input(int index, int size)
    {
        var bytes = new byte[size];
        new Random(index).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Forwards to the blob server and remembers what was asked.</summary>
    private sealed class CountingProxy : ReceiveActor
    {
        public CountingProxy(IActorRef server, List<object> asks) =>
            ReceiveAny(message =>
            {
                lock (asks)
                {
                    asks.Add(message);
                }

                server.Forward(message);
            });
    }
}
