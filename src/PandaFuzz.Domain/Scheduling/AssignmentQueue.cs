using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Scheduling;

/// <summary>A bot the scheduler knows: where its agent is, which incarnation of its node, and the jobs holding its slots.</summary>
public sealed record KnownBot(BotId BotId, string AgentPath, long NodeUid, IReadOnlyList<JobId> HeldJobs);

/// <summary>An offer of a job to a bot, waiting for the job entity to accept or reject it.</summary>
public sealed record Offer(JobId JobId, BotId BotId, string AgentPath, DateTimeOffset At);

/// <summary>The scheduler's working memory: pending jobs and the bots' free slots. It only proposes offers; the job
/// entity decides, so a job is never assigned twice. Not persisted: re-announcements and check-ins rebuild it.</summary>
/// <remarks>Offers are asked for on every message, so their cost must not grow with the queue: pending jobs are indexed per
/// engine and campaign, free bots kept emptiest first (an offer costs about log(bots)). Only the <c>inMemoryLimit</c> jobs
/// nearest the head keep their entities in memory; an offer to one that left brings it back from the journal.</remarks>
public sealed partial class AssignmentQueue(TimeSpan holdGrace, int maxOffers = int.MaxValue, int inMemoryLimit = int.MaxValue)
{
    private readonly LinkedList<PendingJob> _pending = new();
    private readonly Dictionary<JobId, PendingJob> _pendingIndex = [];
    private readonly Dictionary<string, LinkedList<PendingJob>> _pendingByEngine = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkedList<PendingJob>> _pendingByCampaign = new(StringComparer.Ordinal);
    private readonly Dictionary<JobId, (Offer Offer, PendingJob Job)> _offers = [];
    private readonly Dictionary<BotId, BotSlots> _bots = [];
    private readonly HashSet<BotId> _unreachable = [];

    // Reachable bots with a free slot, emptiest first; ties by id keep the order stable.
    private readonly SortedSet<BotSlots> _free = new(EmptiestFirst.Instance);
    private IReadOnlyDictionary<string, int> _weights = new Dictionary<string, int>();
    private long _sequence;
    private int _inMemory;

    public int PendingCount => _pending.Count;

    public int InMemoryCount => _inMemory;

    public IEnumerable<JobId> Pending => _pending.Select(p => p.JobId);

    /// <summary>False when already queued or on offer. A <paramref name="minimization"/> job waits while another of its
    /// campaign's is on offer or running, so a campaign's minimizations take one slot at a time.</summary>
    public bool Enqueue(JobId job, string engine, DateTimeOffset since, bool minimization = false) =>
        Enqueue(job, engine, since, inMemory: false, minimization);

    // Pending, on offer or holding a slot, until released.
    private readonly HashSet<JobId> _minimizations = [];

    private HashSet<string> MinimizingCampaigns() =>
        _minimizations.Where(j => !_pendingIndex.ContainsKey(j)).Select(CampaignOf).ToHashSet(StringComparer.Ordinal);

    private static bool Waits(PendingJob job, HashSet<string> minimizing) => job.Minimization && minimizing.Contains(job.Campaign);

    /// <summary>Yes while fewer than the limit are in memory, or when the job already counts as one; otherwise its entity
    /// leaves memory and waits in the journal for <see cref="Wake"/>.</summary>
    public bool KeepInMemory(JobId job)
    {
        if (!_pendingIndex.TryGetValue(job, out var pending))
        {
            return true;
        }

        if (!pending.InMemory && _inMemory < inMemoryLimit)
        {
            pending.InMemory = true;
            _inMemory++;
        }

        return pending.InMemory;
    }

    /// <summary>The oldest queued jobs out of memory, as many as the limit leaves room for; they count as in memory from now
    /// on (the caller wakes them).</summary>
    public IReadOnlyList<JobId> Wake(int max)
    {
        var woken = new List<JobId>();
        for (var node = _pending.First; node is not null && woken.Count < max && _inMemory < inMemoryLimit; node = node.Next)
        {
            if (!node.Value.InMemory)
            {
                node.Value.InMemory = true;
                _inMemory++;
                woken.Add(node.Value.JobId);
            }
        }

        return woken;
    }

    private bool Enqueue(JobId job, string engine, DateTimeOffset since, bool inMemory, bool minimization)
    {
        if (_pendingIndex.ContainsKey(job) || _offers.ContainsKey(job))
        {
            return false;
        }

        if (minimization)
        {
            _minimizations.Add(job);
        }

        var pending = new PendingJob(job, engine, since, ++_sequence, CampaignOf(job)) { InMemory = inMemory, Minimization = minimization };
        _inMemory += inMemory ? 1 : 0;
        pending.InArrival = _pending.AddLast(pending);
        pending.InEngine = ListOf(_pendingByEngine, engine).AddLast(pending);
        pending.InCampaign = ListOf(_pendingByCampaign, pending.Campaign).AddLast(pending);
        _pendingIndex[job] = pending;
        return true;
    }

    public void Release(JobId job, BotId? bot)
    {
        RemovePending(job);
        _minimizations.Remove(job);
        if (_offers.Remove(job, out var offered))
        {
            Drop(offered.Offer.BotId, job);
        }

        if (bot is not null)
        {
            Drop(bot, job);
            return;
        }

        foreach (var slots in _bots.Values.Where(b => b.Held.ContainsKey(job)).ToList())
        {
            Change(slots, held => held.Remove(job));
        }
    }

    /// <summary>A bot checked in: its reported jobs hold slots, and so do recent assignments it has not reported yet.</summary>
    public void UpsertBot(BotId bot, string agentPath, BotCapabilities capabilities, IReadOnlyList<JobId> running, DateTimeOffset now, long nodeUid = 0)
    {
        var held = new Dictionary<JobId, DateTimeOffset>();
        if (_bots.Remove(bot, out var known))
        {
            _free.Remove(known);
            foreach (var (job, at) in known.Held)
            {
                if (now - at < holdGrace || _offers.ContainsKey(job))
                {
                    held[job] = at;
                }
            }
        }

        foreach (var job in running)
        {
            held.TryAdd(job, now);
        }

        var slots = new BotSlots(bot, agentPath, capabilities, held, nodeUid);
        _bots[bot] = slots;
        Index(slots);
    }

    /// <summary>Returns the jobs that held its slots; offers to it are withdrawn and queued again.</summary>
    public IReadOnlyList<JobId> RemoveBot(BotId bot)
    {
        _unreachable.Remove(bot);
        if (!_bots.Remove(bot, out var slots))
        {
            return [];
        }

        _free.Remove(slots);
        foreach (var (offer, job) in _offers.Values.Where(o => o.Offer.BotId == bot).ToList())
        {
            _offers.Remove(offer.JobId);
            // The offer brought its entity into memory.
            Enqueue(job.JobId, job.Engine, job.Since, inMemory: true, job.Minimization);
        }

        return [.. slots.Held.Keys];
    }

    public void SetReachable(BotId bot, bool reachable)
    {
        if (!_bots.TryGetValue(bot, out var slots))
        {
            _unreachable.Remove(bot);
            return;
        }

        _free.Remove(slots);
        if (reachable)
        {
            _unreachable.Remove(bot);
        }
        else
        {
            _unreachable.Add(bot);
        }

        Index(slots);
    }

    /// <summary>An acceptance that arrives after its offer expired also takes the job out of the queue.</summary>
    public void Accepted(JobId job, BotId bot, DateTimeOffset now)
    {
        _offers.Remove(job);
        RemovePending(job);
        if (Slots(bot) is { } slots)
        {
            Change(slots, held => held[job] = now);
        }
    }

    public void Rejected(JobId job, BotId bot)
    {
        _offers.Remove(job);
        Drop(bot, job);
    }

    public static string CampaignOf(JobId job) => job.Value.LastIndexOf('-') is > 0 and var dash ? job.Value[..dash] : job.Value;

    /// <summary>Oldest first, to the emptiest bots that run the engine; at most <c>maxOffers</c> out at once, the rest wait
    /// for answers, so the job entities' journal sets the pace.</summary>
    public IReadOnlyList<Offer> NextOffers(DateTimeOffset now) => _weights.Count == 0 ? NextOffersInArrivalOrder(now) : NextOffersByWeight(now);

    private List<Offer> NextOffersInArrivalOrder(DateTimeOffset now)
    {
        var offers = new List<Offer>();
        // Engines no free bot runs: their jobs wait, the others go on (each engine's queue is in arrival order).
        var stuck = new HashSet<string>(StringComparer.Ordinal);
        var minimizing = MinimizingCampaigns();
        while (_free.Count > 0 && _offers.Count < maxOffers)
        {
            PendingJob? oldest = null;
            foreach (var (engine, jobs) in _pendingByEngine)
            {
                var head = jobs.First;
                while (head is not null && Waits(head.Value, minimizing))
                {
                    head = head.Next;
                }

                if (head is not null && !stuck.Contains(engine) && (oldest is null || head.Value.Sequence < oldest.Sequence))
                {
                    oldest = head.Value;
                }
            }

            if (oldest is null)
            {
                break;
            }

            if (BestBotFor(oldest.Engine) is { } best)
            {
                if (oldest.Minimization)
                {
                    minimizing.Add(oldest.Campaign);
                }

                offers.Add(Place(oldest, best, now));
            }
            else
            {
                stuck.Add(oldest.Engine);
            }
        }

        return offers;
    }

    private BotSlots? BestBotFor(string engine)
    {
        foreach (var bot in _free)
        {
            if (bot.Capabilities.Supports(engine))
            {
                return bot;
            }
        }

        return null;
    }

    private Offer Place(PendingJob job, BotSlots bot, DateTimeOffset now)
    {
        var offer = new Offer(job.JobId, bot.BotId, bot.AgentPath, now);
        RemovePending(job.JobId);
        _offers[job.JobId] = (offer, job);
        Change(bot, held => held[job.JobId] = now);
        return offer;
    }

    /// <summary>Offers nobody answered (the job entity was unreachable) go back to the end of the queue.</summary>
    public IReadOnlyList<JobId> ExpireOffers(DateTimeOffset now, TimeSpan timeout)
    {
        var expired = _offers.Values.Where(o => now - o.Offer.At >= timeout).ToList();
        foreach (var (offer, job) in expired)
        {
            _offers.Remove(offer.JobId);
            Drop(offer.BotId, offer.JobId);
            Enqueue(job.JobId, job.Engine, job.Since, inMemory: true, job.Minimization);
        }

        return expired.Select(o => o.Offer.JobId).ToList();
    }

    public bool IsOffered(JobId job) => _offers.ContainsKey(job);

    private BotSlots? Slots(BotId bot) => _bots.GetValueOrDefault(bot);

    private void Drop(BotId bot, JobId job)
    {
        if (Slots(bot) is { } slots && slots.Held.ContainsKey(job))
        {
            Change(slots, held => held.Remove(job));
        }
    }

    /// <summary>Changes a bot's held jobs; the free set is ordered by them, so the bot leaves it first and comes back after.</summary>
    private void Change(BotSlots bot, Action<Dictionary<JobId, DateTimeOffset>> change)
    {
        _free.Remove(bot);
        change(bot.Held);
        Index(bot);
    }

    private void Index(BotSlots bot)
    {
        if (bot.Free > 0 && !_unreachable.Contains(bot.BotId))
        {
            _free.Add(bot);
        }
    }

    private void RemovePending(JobId job)
    {
        if (_pendingIndex.Remove(job, out var pending))
        {
            _inMemory -= pending.InMemory ? 1 : 0;
            _pending.Remove(pending.InArrival!);
            Unlink(_pendingByEngine, pending.Engine, pending.InEngine!);
            Unlink(_pendingByCampaign, pending.Campaign, pending.InCampaign!);
        }
    }

    private static LinkedList<PendingJob> ListOf(Dictionary<string, LinkedList<PendingJob>> lists, string key)
    {
        if (!lists.TryGetValue(key, out var list))
        {
            list = new LinkedList<PendingJob>();
            lists[key] = list;
        }

        return list;
    }

    private static void Unlink(Dictionary<string, LinkedList<PendingJob>> lists, string key, LinkedListNode<PendingJob> node)
    {
        var list = lists[key];
        list.Remove(node);
        if (list.Count == 0)
        {
            lists.Remove(key);
        }
    }

    private sealed class PendingJob(JobId jobId, string engine, DateTimeOffset since, long sequence, string campaign)
    {
        public JobId JobId { get; } = jobId;

        public string Engine { get; } = engine;

        public DateTimeOffset Since { get; } = since;

        /// <summary>Arrival order across the per-engine and per-campaign lists.</summary>
        public long Sequence { get; } = sequence;

        public string Campaign { get; } = campaign;

        public bool Minimization { get; init; }

        public bool InMemory { get; set; }

        public LinkedListNode<PendingJob>? InArrival { get; set; }

        public LinkedListNode<PendingJob>? InEngine { get; set; }

        public LinkedListNode<PendingJob>? InCampaign { get; set; }
    }

    private sealed record BotSlots(BotId BotId, string AgentPath, BotCapabilities Capabilities, Dictionary<JobId, DateTimeOffset> Held, long NodeUid)
    {
        public int Free => Math.Max(0, Capabilities.Slots - Held.Count);
    }

    /// <summary>Most free slots first, then by id. Reads <see cref="BotSlots.Free"/>: change a bot only while it is out of the set.</summary>
    private sealed class EmptiestFirst : IComparer<BotSlots>
    {
        public static readonly EmptiestFirst Instance = new();

        public int Compare(BotSlots? x, BotSlots? y) =>
            ReferenceEquals(x, y) ? 0
            : x is null ? -1
            : y is null ? 1
            : y.Free.CompareTo(x.Free) is var byFree and not 0 ? byFree
            : string.CompareOrdinal(x.BotId.Value, y.BotId.Value);
    }
}
