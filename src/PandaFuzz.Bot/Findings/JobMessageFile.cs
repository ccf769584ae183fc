using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Findings;

/// <summary>A work dir's <c>job.msg</c>, so a restarted bot knows whose findings a dir holds and how to reproduce them.</summary>
public static class JobMessageFile
{
    public static void Write(Akka.Serialization.Serialization serialization, JobWorkDir dir, AgentCommands.StartJob job) =>
        OutboxFile.WriteAtomically(dir.JobMessage, OutboxFile.Encode(serialization, job, DateTimeOffset.UtcNow));

    // A job message is a few KiB; far more is not one.
    private const long MaxBytes = 16L << 20;

    public static (AgentCommands.StartJob? Job, string? Problem) Read(Akka.Serialization.Serialization serialization, JobWorkDir dir)
    {
        // In the work dir, the target's to replace: a link or a FIFO there must not be followed or waited on.
        using var file = Sandboxing.UntrustedFiles.Open(dir.Root, dir.JobMessage, MaxBytes, out var refusal);
        if (file is null)
        {
            return (null, refusal == Sandboxing.UntrustedFiles.NotFound
                ? $"it has no {Path.GetFileName(dir.JobMessage)}"
                : $"its {Path.GetFileName(dir.JobMessage)} cannot be read: {refusal}");
        }

        var bytes = file.ReadAllAsync(CancellationToken.None).GetAwaiter().GetResult();
        var (message, _, problem) = OutboxFile.Read(serialization, bytes);
        return message switch
        {
            AgentCommands.StartJob job => (job, null),
            null => (null, $"its {Path.GetFileName(dir.JobMessage)} is unreadable: {problem}"),
            _ => (null, $"its {Path.GetFileName(dir.JobMessage)} holds a {message.GetType().Name}, not a job"),
        };
    }
}
