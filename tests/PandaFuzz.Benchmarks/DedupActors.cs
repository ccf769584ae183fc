using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence;
using PandaFuzz.Protocol;

namespace PandaFuzz.Benchmarks;

/// <summary>What a burst ended with: the time from the first send to the last awaited reply, and any odd replies.</summary>
/// <param name="Acknowledged">Distinct messages answered.</param>
/// <param name="Repeated">Replies for a message already answered (should be 0: each message is sent once).</param>
/// <param name="Unexpected">Replies that answer nothing sent, the first few kept in <paramref name="Examples"/>.</param>
/// <param name="AnsweredAt">When each message was answered, seconds after the first send, by its key.</param>
public sealed record BurstResult(
    TimeSpan Elapsed, int Sent, int Acknowledged, int Repeated, int Unexpected, IReadOnlyList<string> Examples, IReadOnlyDictionary<object, double> AnsweredAt)
{
    /// <summary>CPU time of this whole process (master, sender and "bot") from just before the burst to its end.</summary>
    public double ProcessCpuSeconds { get; init; }
}

/// <summary>
/// Sends every message to the target at once, as many bots reporting at the same time would, and counts the replies:
/// <paramref name="replyKey"/> names the sent message a reply answers (null: not an answer). The clock runs from the
/// first send to the reply that completes the set, in this actor, so waiting and printing are not in it.
/// </summary>
public sealed class BurstSender : ReceiveActor
{
    public BurstSender(IActorRef target, IReadOnlyList<object> messages, IReadOnlySet<object> expected, Func<object, object?> replyKey,
        TaskCompletionSource<BurstResult> done)
    {
        var answered = new Dictionary<object, double>();
        var stopwatch = new Stopwatch();
        var repeated = 0;
        var unexpected = 0;
        var examples = new List<string>();
        BurstResult Result() => new(stopwatch.Elapsed, messages.Count, answered.Count, repeated, unexpected, examples, answered);

        Receive<Go>(_ =>
        {
            stopwatch.Start();
            foreach (var message in messages)
            {
                target.Tell(message);
            }
        });
        Receive<Snapshot>(_ => Sender.Tell(Result()));
        ReceiveAny(reply =>
        {
            if (replyKey(reply) is { } key && expected.Contains(key))
            {
                if (!answered.TryAdd(key, stopwatch.Elapsed.TotalSeconds))
                {
                    repeated++;
                }
                else if (answered.Count == expected.Count)
                {
                    stopwatch.Stop();
                    done.TrySetResult(Result());
                }

                return;
            }

            unexpected++;
            if (examples.Count < 5)
            {
                examples.Add(reply.ToString() ?? reply.GetType().Name);
            }

            if (reply is CommandRejected rejected)
            {
                done.TrySetException(new InvalidOperationException($"A message was rejected: {rejected.Reason} ({rejected.Kind})."));
            }
        });
    }

    /// <summary>Starts the burst.</summary>
    public sealed record Go
    {
        public static readonly Go Instance = new();
    }

    /// <summary>Asks for the counts so far (after a time-out).</summary>
    public sealed record Snapshot
    {
        public static readonly Snapshot Instance = new();
    }
}

/// <summary>
/// The baseline: a persistent actor with no logic that persists one small event per command with PersistAllAsync
/// (what the campaign entity's PersistAheadThen does per crash report, so the journal batches the same way) and
/// replies once it is durable. The event is a small campaign event, so it goes through the same serializer, the same
/// tagging event adapter (a tag row per event) and the same SQLite journal as the crash reports.
/// </summary>
public sealed class RawJournalActor : ReceivePersistentActor
{
    public RawJournalActor(string persistenceId, CampaignId campaignId)
    {
        PersistenceId = persistenceId;
        Command<Append>(append =>
        {
            var sender = Sender;
            PersistAllAsync([new CampaignEvents.CampaignStopRequested(campaignId, DateTimeOffset.UtcNow)], _ => sender.Tell(new Appended(append.Sequence)));
        });
        // Answered once recovery is over (commands wait for it), so a measured burst does not include recovery.
        Command<Ping>(_ => Sender.Tell(Ping.Instance));
        Recover<CampaignEvents.CampaignStopRequested>(_ => { });
    }

    public override string PersistenceId { get; }

    public sealed record Append(int Sequence);

    public sealed record Appended(int Sequence);

    public sealed record Ping
    {
        public static readonly Ping Instance = new();
    }
}
