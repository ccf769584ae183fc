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
}
