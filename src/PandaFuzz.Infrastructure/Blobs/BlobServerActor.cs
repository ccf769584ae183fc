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

    /// <summary>Blob ids in one <see cref="BlobTransfer.GetBlobs"/>: with a full chunk of data and each id named twice
    /// (asked, answered), the answer stays under the frame too.</summary>
    public const int MaxBlobsPerAsk = 128;

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

        Receive<BlobTransfer.GetBlobs>(get =>
        {
            var found = new List<BlobTransfer.Chunk>();
            var missing = new List<BlobId>();
            var budget = Math.Clamp(get.MaxBytes, 1, MaxChunk);
            foreach (var blob in get.Blobs.Take(MaxBlobsPerAsk))
            {
                var path = store.PathOf(blob);
                if (!File.Exists(path))
                {
                    missing.Add(blob);
                    continue;
                }

                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
                if (found.Count > 0 && file.Length > budget)
                {
                    break;
                }

                var data = new byte[(int)Math.Min(file.Length, budget)];
                file.ReadExactly(data);
                found.Add(new BlobTransfer.Chunk(blob, 0, file.Length, data));
                budget -= data.Length;
                if (budget == 0)
                {
                    break;
                }
            }

            Sender.Tell(new BlobTransfer.BlobsChunk(found, missing));
        });
    }
}

/// <summary>Pulls blobs from another node's blob server and stores them after checking their sha256.</summary>
public static class BlobFetcher
{
    /// <summary>One blob, asked for in chunks (<see cref="BlobTransfer.GetChunk"/>, which every release's server answers).</summary>
    public static async Task FetchAsync(ActorSelection source, BlobId blob, ContentAddressedStore store, TimeSpan askTimeout, CancellationToken ct = default)
    {
        if (store.Contains(blob))
        {
            return;
        }

        var reply = await source.Ask<object>(new BlobTransfer.GetChunk(blob, 0, BlobServerActor.MaxChunk), askTimeout, ct);
        var first = reply as BlobTransfer.Chunk ?? throw new FileNotFoundException($"blob {blob} is not at {source.PathString}");
        using var staged = await StageAsync(source, blob, first, store, askTimeout, ct);
        store.FlushStagedFile(staged);
        store.Commit(staged);
    }

    /// <summary>
    /// Small blobs (a page of corpus inputs) come many to an ask, and the whole batch is flushed to disk with one
    /// <c>syncfs</c> before any of it is committed: an fsync per input costs a disk interrupt each, which lands on a
    /// fuzzer's core. A blob the source lacks fails the batch, and nothing of it is stored.
    /// </summary>
    public static async Task FetchManyAsync(ActorSelection source, IReadOnlyList<BlobId> blobs, ContentAddressedStore store, TimeSpan askTimeout, CancellationToken ct = default)
    {
        var wanted = blobs.Distinct().Where(b => !store.Contains(b)).ToList();
        var staged = new List<StagedBlob>(wanted.Count);
        try
        {
            var next = 0;
            while (next < wanted.Count)
            {
                var asked = wanted.GetRange(next, Math.Min(BlobServerActor.MaxBlobsPerAsk, wanted.Count - next));
                var reply = await source.Ask<object>(new BlobTransfer.GetBlobs(asked, BlobServerActor.MaxChunk), askTimeout, ct);
                if (reply is not BlobTransfer.BlobsChunk answer)
                {
                    throw new FileNotFoundException($"blob {asked[0]} is not at {source.PathString} (it answered {reply.GetType().Name})");
                }

                if (answer.Missing.Count > 0)
                {
                    throw new FileNotFoundException($"blob {answer.Missing[0]} is not at {source.PathString}");
                }

                if (answer.Found.Count == 0)
                {
                    throw new InvalidDataException($"{source.PathString} answered none of {asked.Count} blobs");
                }

                foreach (var first in answer.Found)
                {
                    if (next == wanted.Count || first.Blob != wanted[next] || first.Offset != 0)
                    {
                        throw new InvalidDataException($"{source.PathString} answered blob {first.Blob} at offset {first.Offset} out of turn");
                    }

                    staged.Add(await StageAsync(source, first.Blob, first, store, askTimeout, ct));
                    next++;
                }
            }

            if (staged.Count > 0)
            {
                store.FlushStaged(staged[0]);
            }

            foreach (var blob in staged)
            {
                store.Commit(blob);
            }
        }
        finally
        {
            foreach (var blob in staged)
            {
                blob.Dispose();
            }
        }
    }

    /// <summary>A blob's first chunk and the rest of it (asked for from where the first ended), written to the store's incoming folder unflushed and checked.</summary>
    private static async Task<StagedBlob> StageAsync(ActorSelection source, BlobId blob, BlobTransfer.Chunk first, ContentAddressedStore store, TimeSpan askTimeout, CancellationToken ct)
    {
        var temp = store.NewTempFile();
        try
        {
            using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                var chunk = first;
                long offset = 0;
                while (true)
                {
                    hash.AppendData(chunk.Data);
                    await output.WriteAsync(chunk.Data, ct);
                    offset += chunk.Data.Length;
                    if (offset >= chunk.TotalLength)
                    {
                        break;
                    }

                    if (chunk.Data.Length == 0)
                    {
                        throw new InvalidDataException($"blob {blob} stopped at {offset} of {chunk.TotalLength} bytes");
                    }

                    var reply = await source.Ask<object>(new BlobTransfer.GetChunk(blob, offset, BlobServerActor.MaxChunk), askTimeout, ct);
                    chunk = reply as BlobTransfer.Chunk ?? throw new FileNotFoundException($"blob {blob} is not at {source.PathString}");
                }
            }

            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != blob.Sha256)
            {
                throw new InvalidDataException($"blob {blob} arrived with sha256 {actual}");
            }

            return new StagedBlob(blob, new FileInfo(temp).Length, temp);
        }
        catch
        {
            File.Delete(temp);
            throw;
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
