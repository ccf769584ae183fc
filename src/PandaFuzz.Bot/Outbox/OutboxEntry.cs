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
    /// <summary>Stored: the message and its input can go.</summary>
    Acknowledged,

    /// <summary>Refused (unknown campaign or crash, input over the limit): sending it again changes nothing.</summary>
    Refused,

    /// <summary>Some other reply: treated like no answer.</summary>
    Unexpected,
}

/// <summary>
/// The messages the outbox delivers and what acknowledges each: a crash report is acknowledged by
/// <see cref="CampaignCommands.CrashAccepted"/> for its input, a minimization and a job end by <see cref="Ack"/>.
/// The key names a message so that offering it again replaces it instead of adding a copy.
/// </summary>
public sealed partial record OutboxEntry(string Key, OutboxDestination Destination, BlobId? Blob)
{
    /// <summary>The entry of a message the outbox delivers, or null.</summary>
    public static OutboxEntry? Of(object message) => message switch
    {
        CampaignCommands.ReportCrash r => new(SafeKey($"crash-{r.JobId.Value}-{r.Finding.Input.Sha256}"), OutboxDestination.Campaign, r.Finding.Input),
        CampaignCommands.ReportCrashMinimized m => new(SafeKey($"minimized-{m.JobId.Value}"), OutboxDestination.Campaign, m.Input),
        JobCommands.ReportJobFinished f => new(SafeKey($"finished-{f.JobId.Value}"), OutboxDestination.Job, null),
        _ => null,
    };

    /// <summary>What <paramref name="reply"/> means for <paramref name="message"/>.</summary>
    public static OutboxAnswer Judge(object message, object reply) => (message, reply) switch
    {
        (_, CommandRejected) => OutboxAnswer.Refused,
        (CampaignCommands.ReportCrash r, CampaignCommands.CrashAccepted a) when a.Input == r.Finding.Input => OutboxAnswer.Acknowledged,
        (CampaignCommands.ReportCrashMinimized or JobCommands.ReportJobFinished, Ack) => OutboxAnswer.Acknowledged,
        _ => OutboxAnswer.Unexpected,
    };

    /// <summary>Ids are validated by the protocol; this keeps any other text out of the file name all the same.</summary>
    private static string SafeKey(string key) => Unsafe().Replace(key, "_");

    [GeneratedRegex("[^A-Za-z0-9_-]")]
    private static partial Regex Unsafe();
}
