using Akka.Actor;
using Akka.Hosting;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Protocol;

namespace PandaFuzz.Infrastructure.Blobs;

/// <summary>Serves chunks of this node's blobs to other nodes: the master serves targets, a bot serves crash inputs.</summary>
public sealed class BlobServerActor : ReceiveActor
{
    public const string MasterName = "blobs";

    public const string BotName = "bot-blobs";

    /// <summary>Chunks stay well under Akka.Remote's 128,000-byte frame once base64-encoded in JSON.</summary>
    public const int MaxChunk = 48 * 1024;

    public BlobServerActor(ContentAddressedStore store)
    {
        Receive<BlobTransfer.GetChunk>(get =>
        {
            var path = store.PathOf(get.Blob);
            if (!File.Exists(path) || get.Offset < 0)
            {
                Sender.Tell(new BlobTransfer.NotFound(get.Blob));
                return;
            }

            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var length = (int)Math.Clamp(Math.Min(get.MaxLength, file.Length - get.Offset), 0, MaxChunk);
            var data = new byte[length];
            file.Position = get.Offset;
            file.ReadExactly(data);
            Sender.Tell(new BlobTransfer.Chunk(get.Blob, get.Offset, file.Length, data));
        });
    }
}

/// <summary>Pulls a blob from another node's blob server in chunks and stores it after checking its sha256.</summary>
public static class BlobFetcher
{
    public static async Task FetchAsync(ActorSelection source, BlobId blob, ContentAddressedStore store, TimeSpan chunkTimeout, CancellationToken ct = default)
    {
        if (store.Contains(blob))
        {
            return;
        }

        var temp = store.NewTempFile();
        try
        {
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                long offset = 0;
                long total;
                do
                {
                    var reply = await source.Ask<object>(new BlobTransfer.GetChunk(blob, offset, BlobServerActor.MaxChunk), chunkTimeout, ct);
                    if (reply is not BlobTransfer.Chunk chunk)
                    {
                        throw new FileNotFoundException($"blob {blob} is not at {source.PathString}");
                    }

                    await output.WriteAsync(chunk.Data, ct);
                    offset += chunk.Data.Length;
                    total = chunk.TotalLength;
                    if (chunk.Data.Length == 0 && offset < total)
                    {
                        throw new InvalidDataException($"blob {blob} stopped at {offset} of {total} bytes");
                    }
                }
                while (offset < total);

                output.Flush(flushToDisk: true);
            }

            await store.PutVerifiedAsync(blob, temp, ct);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}

/// <summary>Hosting for the blob server.</summary>
public static class BlobServerHosting
{
    public static AkkaConfigurationBuilder AddBlobServer<TKey>(this AkkaConfigurationBuilder builder, ContentAddressedStore store, string name) =>
        builder.WithActors((system, registry) =>
            registry.Register<TKey>(system.ActorOf(Props.Create(() => new BlobServerActor(store)), name)));
}
