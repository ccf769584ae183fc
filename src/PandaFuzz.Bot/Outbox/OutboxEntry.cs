using System.Text.RegularExpressions;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Outbox;

/// <summary>Which master region a message of the outbox goes to.</summary>
public enum OutboxDestination
{
    Campaign,
    Job,
}

/// <summary>How the master answered one delivery.</summary>
public enum OutboxAnswer
{
    Acknowledged,

    /// <summary>Sending it again changes nothing.</summary>
    Refused,

    /// <summary>Treated like no answer.</summary>
    Unexpected,
}

/// <summary>What the outbox delivers; a message offered again under the same key replaces the old instead of adding a copy.</summary>
public sealed partial record OutboxEntry(string Key, OutboxDestination Destination, BlobId? Blob)
{
    public static OutboxEntry? Of(object message) => message switch
    {
        CampaignCommands.ReportCrash r => new(SafeKey($"crash-{r.JobId.Value}-{r.Finding.Input.Sha256}"), OutboxDestination.Campaign, r.Finding.Input),
        CampaignCommands.ReportCrashMinimized m => new(SafeKey($"minimized-{m.JobId.Value}"), OutboxDestination.Campaign, m.Input),
        CampaignCommands.ReportBugVerified v => new(SafeKey($"verified-{v.JobId.Value}"), OutboxDestination.Campaign, null),
        CampaignCommands.ReportCoverage c => new(SafeKey($"coverage-{c.JobId.Value}"), OutboxDestination.Campaign, c.Report),
        JobCommands.ReportJobFinished f => new(SafeKey($"finished-{f.JobId.Value}"), OutboxDestination.Job, null),
        _ => null,
    };

    public static OutboxAnswer Judge(object message, object reply) => (message, reply) switch
    {
        (_, CommandRejected) => OutboxAnswer.Refused,
        (CampaignCommands.ReportCrash r, CampaignCommands.CrashAccepted a) when a.Input == r.Finding.Input => OutboxAnswer.Acknowledged,
        (CampaignCommands.ReportCrashMinimized or CampaignCommands.ReportBugVerified or CampaignCommands.ReportCoverage or JobCommands.ReportJobFinished, Ack) =>
            OutboxAnswer.Acknowledged,
        _ => OutboxAnswer.Unexpected,
    };

    // Ids are validated by the protocol; this keeps any other text out of the file name all the same.
    private static string SafeKey(string key) => Unsafe().Replace(key, "_");

    [GeneratedRegex("[^A-Za-z0-9_-]")]
    private static partial Regex Unsafe();
}
