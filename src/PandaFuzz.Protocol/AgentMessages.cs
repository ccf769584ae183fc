namespace PandaFuzz.Protocol;

/// <summary>What a job entity tells the bot agent that hosts it.</summary>
public static class AgentCommands
{
    public sealed record StartJob(JobId JobId, CampaignId CampaignId, JobSpec Spec, string BlobSourcePath, DateTimeOffset StartedAt)
        : IWithJobId;

    public sealed record StopJob(JobId JobId, string Reason) : IWithJobId;
}

/// <summary>Chunked transfer of content-addressed blobs between nodes (no shared disk; remoting frames are small).</summary>
public static class BlobTransfer
{
    public sealed record GetChunk(BlobId Blob, long Offset, int MaxLength) : IProtocolMessage;

    public sealed record Chunk(BlobId Blob, long Offset, long TotalLength, byte[] Data) : IProtocolMessage;

    public sealed record NotFound(BlobId Blob) : IProtocolMessage;

    /// <summary>Many small blobs in one ask (a page of corpus inputs): the server answers them in order, whole, until the
    /// next would not fit in <paramref name="MaxBytes"/>; the first always comes, as its first chunk if it alone is too big.</summary>
    public sealed record GetBlobs(IReadOnlyList<BlobId> Blobs, int MaxBytes) : IProtocolMessage;

    /// <summary>The answer to <see cref="GetBlobs"/>: a chunk from offset 0 of each blob it holds, in the order asked
    /// (a blob whose chunk is shorter than its length continues with <see cref="GetChunk"/>), and those it does not hold.
    /// Blobs after the last answered are asked again.</summary>
    public sealed record BlobsChunk(IReadOnlyList<Chunk> Found, IReadOnlyList<BlobId> Missing) : IProtocolMessage;
}
