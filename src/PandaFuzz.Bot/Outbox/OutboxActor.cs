using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using Akka.Pattern;
using PandaFuzz.Bot.Agent;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Outbox;

/// <summary>
/// The bot's durable outbox: a message is on disk before the sender hears <see cref="OutboxCommands.Kept"/>, and deleted
/// only after the master's acknowledgement. The master's handling is idempotent, so delivering twice does no harm.
/// </summary>
public sealed class OutboxActor : ReceiveActor, IWithTimers
{
    public const string Name = "bot-outbox";

    /// <summary>Where files that cannot be read are moved, kept for a human to look at.</summary>
    public const string SetAsideFolder = "set-aside";

    private readonly string _directory;
    private readonly ContentAddressedStore _blobs;
    private readonly OutboxSettings _settings;
    private readonly IActorRef _campaigns;
    private readonly IActorRef _jobs;
    private readonly RetryBackoff _backoff;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Pending> _pending = [];
    private readonly SortedDictionary<long, string> _due = [];
    private CircuitBreaker _breaker = null!;
    private Cluster? _cluster;
    private OutboxBreakerState _breakerState = OutboxBreakerState.Closed;
    private long _sequence;
    private int _inFlight;

    public OutboxActor(string directory, ContentAddressedStore blobs, OutboxSettings settings, IActorRef campaigns, IActorRef jobs)
    {
        _directory = Path.GetFullPath(directory);
        _blobs = blobs;
        _settings = settings;
        _campaigns = campaigns;
        _jobs = jobs;
        _backoff = new RetryBackoff(settings.FirstRetryDelay, settings.MaxRetryDelay);

        Receive<OutboxCommands.Put>(Put);
        Receive<Answered>(Answer);
        Receive<Unanswered>(unanswered =>
        {
            _inFlight--;
            if (Current(unanswered.Key, unanswered.Sequence) is { } pending)
            {
                _log.Debug("Outbox message {Key} unanswered (attempt {Attempt}): {Reason}", pending.Key, pending.Attempts, unanswered.Reason);
                RetryLater(pending);
            }

            Pump();
        });
        Receive<Retry>(retry =>
        {
            if (Current(retry.Key, retry.Sequence) is { InFlight: false } pending)
            {
                MakeDue(pending);
            }

            Pump();
        });
        Receive<ClusterEvent.MemberUp>(up => MasterSeen(up.Member));
        Receive<ClusterEvent.ReachableMember>(reachable => MasterSeen(reachable.Member));
        Receive<OutboxCommands.MasterAvailable>(available => MasterAvailable(available.Address));
        // The callbacks' tells may arrive out of order: the breaker's own state now is the truth.
        Receive<BreakerChanged>(_ => BreakerMoved(BreakerNow()));
        Receive<OutboxQueries.GetBacklog>(_ =>
        {
            var oldest = _pending.Values.Select(p => p.EnqueuedAt).DefaultIfEmpty(DateTimeOffset.UtcNow).Min();
            Sender.Tell(new OutboxQueries.Backlog(_pending.Count, DateTimeOffset.UtcNow - oldest, _breakerState, _inFlight));
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        _breaker = NewBreaker();
        Directory.CreateDirectory(_directory);
        Load();
        Pump();

        // A master's return is a cluster event: waiting out a minute of backoff after it would delay an outage's findings.
        // Without a cluster (tests) MasterAvailable is told directly.
        _cluster = ((ExtendedActorSystem)Context.System).Provider is ClusterActorRefProvider ? Cluster.Get(Context.System) : null;
        _cluster?.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.MemberUp), typeof(ClusterEvent.ReachableMember));
    }

    protected override void PostStop() => _cluster?.Unsubscribe(Self);

    private CircuitBreaker NewBreaker()
    {
        var self = Self;
        var breaker = new CircuitBreaker(Context.System.Scheduler, _settings.FailuresBeforeOpen, _settings.AskTimeout, _settings.OpenDuration);
        // The callbacks run on the breaker's threads: they only tell the actor; a replaced breaker's late ones change nothing.
        breaker.OnOpen(() => self.Tell(BreakerChanged.Instance));
        breaker.OnHalfOpen(() => self.Tell(BreakerChanged.Instance));
        breaker.OnClose(() => self.Tell(BreakerChanged.Instance));
        return breaker;
    }

    private void MasterSeen(Member member)
    {
        if (member.HasRole(ShardNames.MasterRole))
        {
            MasterAvailable(member.Address.ToString());
        }
    }

    // The backoff and an open breaker were guesses about a master that was away: everything waiting is due now, behind a
    // fresh breaker. Attempt counts stay, so the backoff resumes should this master not answer either.
    private void MasterAvailable(string address)
    {
        var waiting = _pending.Values.Where(p => !p.InFlight).ToList();
        if (waiting.Count == 0)
        {
            return;
        }

        _log.Info("A master is available at {Address}: outbox sends its {Count} waiting messages now", address, waiting.Count);
        if (_breaker.IsOpen || _breaker.IsHalfOpen)
        {
            _breaker = NewBreaker();
            _breakerState = OutboxBreakerState.Closed;
        }

        foreach (var pending in waiting)
        {
            MakeDue(pending);
        }

        Pump();
    }

    private void Put(OutboxCommands.Put put)
    {
        var message = put.Message;
        if (OutboxEntry.Of(message) is not { } entry)
        {
            Sender.Tell(new OutboxCommands.NotKept(message.GetType().Name, $"the outbox does not deliver {message.GetType().Name}"));
            return;
        }

        var file = Path.Combine(_directory, entry.Key + OutboxFile.Extension);
        var at = DateTimeOffset.UtcNow;
        try
        {
            OutboxFile.WriteAtomically(file, OutboxFile.Encode(Context.System.Serialization, message, at));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Runtime.Serialization.SerializationException)
        {
            _log.Error(e, "Outbox could not keep {Key}: {Reason}", entry.Key, e.Message);
            Sender.Tell(new OutboxCommands.NotKept(entry.Key, e.Message));
            return;
        }

        // Offered again (a runner that did not hear Kept): the newest content replaces the old, the file is the same.
        if (_pending.Remove(entry.Key, out var replaced))
        {
            Forget(replaced);
        }

        var pending = Add(entry, message, file, at);
        Sender.Tell(new OutboxCommands.Kept(entry.Key));
        MakeDue(pending);
        Pump();
    }

    // What cannot be read is set aside, never fatal.
    private void Load()
    {
        foreach (var temp in Directory.EnumerateFiles(_directory, "*" + OutboxFile.TempExtension))
        {
            // A write interrupted before its rename: its sender never heard Kept, so it still has the message.
            _log.Warning("Outbox removes {File}, a write interrupted by a stop", Path.GetFileName(temp));
            File.Delete(temp);
        }

        var loaded = new List<(OutboxEntry Entry, object Message, string File, DateTimeOffset At)>();
        foreach (var file in Directory.EnumerateFiles(_directory, "*" + OutboxFile.Extension))
        {
            var (message, at, problem) = OutboxFile.Read(Context.System.Serialization, File.ReadAllBytes(file));
            if (message is null || OutboxEntry.Of(message) is not { } entry || loaded.Any(l => l.Entry.Key == entry.Key))
            {
                SetAside(file, problem ?? "not a message the outbox delivers, or a second copy of one");
                continue;
            }

            loaded.Add((entry, message, file, at));
        }

        foreach (var (entry, message, file, at) in loaded.OrderBy(l => l.At))
        {
            MakeDue(Add(entry, message, file, at));
        }

        if (loaded.Count > 0)
        {
            _log.Info("Outbox delivers {Count} messages kept before the restart, the oldest from {Oldest:o}", loaded.Count, loaded.Min(l => l.At));
        }
    }

    private void SetAside(string file, string problem)
    {
        var aside = Path.Combine(_directory, SetAsideFolder);
        Directory.CreateDirectory(aside);
        var target = Path.Combine(aside, $"{Path.GetFileName(file)}.{DateTimeOffset.UtcNow:yyyyMMddHHmmssfff}");
        File.Move(file, target, overwrite: true);
        _log.Warning("Outbox set {File} aside in {Folder}: {Problem}", Path.GetFileName(file), aside, problem);
    }

    private Pending Add(OutboxEntry entry, object message, string file, DateTimeOffset at)
    {
        var pending = new Pending(entry, message, file, at, ++_sequence);
        _pending[entry.Key] = pending;
        return pending;
    }

    private Pending? Current(string key, long sequence) =>
        _pending.TryGetValue(key, out var pending) && pending.Sequence == sequence ? pending : null;

    private void MakeDue(Pending pending)
    {
        Timers.Cancel(pending.Key);
        _due[pending.Sequence] = pending.Key;
    }

    private void Forget(Pending pending)
    {
        Timers.Cancel(pending.Key);
        _due.Remove(pending.Sequence);
    }

    // Up to the in-flight limit while closed, one probe when half-open, none when open.
    private void Pump()
    {
        while (_due.Count > 0 && !_breaker.IsOpen && _inFlight < (_breaker.IsHalfOpen ? 1 : _settings.MaxInFlight))
        {
            var (sequence, key) = _due.First();
            _due.Remove(sequence);
            Send(_pending[key]);
        }
    }

    private void Send(Pending pending)
    {
        pending.InFlight = true;
        pending.Attempts++;
        _inFlight++;
        var region = pending.Entry.Destination == OutboxDestination.Campaign ? _campaigns : _jobs;
        var message = pending.Message;
        var timeout = _settings.AskTimeout;
        var (key, sequence) = (pending.Key, pending.Sequence);
        _breaker.WithCircuitBreaker(ct => region.Ask<object>(message, timeout, ct))
            .PipeTo(Self,
                success: reply => new Answered(key, sequence, reply),
                failure: e => new Unanswered(key, sequence, e is OpenCircuitException ? "circuit open" : e.GetBaseException().Message));
    }

    private void Answer(Answered answered)
    {
        _inFlight--;
        if (Current(answered.Key, answered.Sequence) is { } pending)
        {
            switch (OutboxEntry.Judge(pending.Message, answered.Reply))
            {
                case OutboxAnswer.Acknowledged:
                    Done(pending);
                    break;
                case OutboxAnswer.Refused:
                    _log.Warning("The master refused outbox message {Key}: {Reason}; it is dropped", pending.Key, ((CommandRejected)answered.Reply).Reason);
                    Done(pending);
                    break;
                default:
                    _log.Warning("Outbox message {Key} got {Reply} instead of an acknowledgement", pending.Key, answered.Reply.GetType().Name);
                    RetryLater(pending);
                    break;
            }
        }

        Pump();
    }

    // The input blob goes once no other pending message names it.
    private void Done(Pending pending)
    {
        _pending.Remove(pending.Key);
        Forget(pending);
        File.Delete(pending.File);
        if (pending.Entry.Blob is { } blob && !_pending.Values.Any(p => p.Entry.Blob == blob))
        {
            _blobs.Delete(blob);
        }
    }

    private void RetryLater(Pending pending)
    {
        pending.InFlight = false;
        var delay = _backoff.Delay(pending.Attempts, Random.Shared.NextDouble());
        Timers.StartSingleTimer(pending.Key, new Retry(pending.Key, pending.Sequence), delay);
    }

    private OutboxBreakerState BreakerNow() =>
        _breaker.IsOpen ? OutboxBreakerState.Open : _breaker.IsHalfOpen ? OutboxBreakerState.HalfOpen : OutboxBreakerState.Closed;

    private void BreakerMoved(OutboxBreakerState state)
    {
        if (state == _breakerState)
        {
            return;
        }

        _breakerState = state;
        switch (state)
        {
            case OutboxBreakerState.Open:
                _log.Warning("The master does not answer: outbox holds {Count} messages and pauses for {OpenDuration}", _pending.Count, _settings.OpenDuration);
                break;
            case OutboxBreakerState.HalfOpen:
                _log.Info("Outbox probes the master with its oldest message ({Count} waiting)", _pending.Count);
                if (_pending.Values.Where(p => !p.InFlight).MinBy(p => p.Sequence) is { } oldest)
                {
                    MakeDue(oldest);
                }

                break;
            case OutboxBreakerState.Closed:
                _log.Info("The master answers again: outbox delivers its {Count} messages", _pending.Count);
                foreach (var pending in _pending.Values.Where(p => !p.InFlight))
                {
                    MakeDue(pending);
                }

                break;
        }

        Pump();
    }

    private sealed class Pending(OutboxEntry entry, object message, string file, DateTimeOffset enqueuedAt, long sequence)
    {
        public OutboxEntry Entry { get; } = entry;

        public string Key => Entry.Key;

        public object Message { get; } = message;

        public string File { get; } = file;

        public DateTimeOffset EnqueuedAt { get; } = enqueuedAt;

        // Also tells the answers to a replaced message from those to its replacement.
        public long Sequence { get; } = sequence;

        public int Attempts { get; set; }

        public bool InFlight { get; set; }
    }

    private sealed record Answered(string Key, long Sequence, object Reply);

    private sealed record Unanswered(string Key, long Sequence, string Reason);

    private sealed record Retry(string Key, long Sequence);

    private sealed record BreakerChanged
    {
        public static readonly BreakerChanged Instance = new();
    }
}

/// <summary>Hosting of the outbox.</summary>
public static class OutboxHosting
{
    public static AkkaConfigurationBuilder AddBotOutbox(this AkkaConfigurationBuilder builder, OutboxSettings settings, BotStorage storage) =>
        builder.WithActors((system, registry) =>
        {
            var campaigns = registry.Get<CampaignRegion>();
            var jobs = registry.Get<JobRegion>();
            registry.Register<OutboxActor>(system.ActorOf(
                Props.Create(() => new OutboxActor(storage.OutboxMessages, storage.Outbox, settings, campaigns, jobs)), OutboxActor.Name));
        });
}
