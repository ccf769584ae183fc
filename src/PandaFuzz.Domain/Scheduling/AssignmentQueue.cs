using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Scheduling;

/// <summary>A bot the scheduler knows: where its agent is, which incarnation of its node, and the jobs holding its slots.</summary>
public sealed record KnownBot(BotId BotId, string AgentPath, long NodeUid, IReadOnlyList<JobId> HeldJobs);

/// <summary>An offer of a job to a bot, waiting for the job entity to accept or reject it.</summary>
public sealed record Offer(JobId JobId, BotId BotId, string AgentPath, DateTimeOffset At);

/// <summary>
/// The scheduler's working memory: pending jobs in arrival order and the bots' free slots. It only proposes
/// offers; the job entity decides, so a job can never be assigned twice. Rebuilt from re-announcements and
/// check-ins after a restart, so nothing here is persisted. Time is passed in.
/// </summary>
public sealed class AssignmentQueue(TimeSpan holdGrace)
{
    private readonly LinkedList<PendingJob> _pending = new();
    private readonly Dictionary<JobId, LinkedListNode<PendingJob>> _pendingIndex = [];
    private readonly Dictionary<JobId, (Offer Offer, PendingJob Job)> _offers = [];
    private readonly Dictionary<BotId, BotSlots> _bots = [];
    private readonly HashSet<BotId> _unreachable = [];
    private IReadOnlyDictionary<string, int> _weights = new Dictionary<string, int>();

    public int PendingCount => _pending.Count;

    public IEnumerable<JobId> Pending => _pending.Select(p => p.JobId);

    public int BotCount => _bots.Count;

    /// <summary>Since when the longest-waiting pending job has waited (null: none pending).</summary>
    public DateTimeOffset? OldestPendingSince => _pending.Count == 0 ? null : _pending.Min(p => p.Since);

    public int FreeSlots => _bots.Values.Where(b => !_unreachable.Contains(b.BotId)).Sum(b => b.Free);

    /// <summary>Every bot known, with the jobs that hold its slots.</summary>
    public IEnumerable<KnownBot> Bots => _bots.Values.Select(b => new KnownBot(b.BotId, b.AgentPath, b.NodeUid, [.. b.Held.Keys]));

    /// <summary>Adds a pending job unless it is already queued or on offer.</summary>
    public bool Enqueue(JobId job, string engine, DateTimeOffset since)
    {
        if (_pendingIndex.ContainsKey(job) || _offers.ContainsKey(job))
        {
            return false;
        }

        _pendingIndex[job] = _pending.AddLast(new PendingJob(job, engine, since));
        return true;
    }

    /// <summary>The job no longer wants a bot or gave up its slot.</summary>
    public void Release(JobId job, BotId? bot)
    {
        RemovePending(job);
        if (_offers.Remove(job, out var offered))
        {
            Slots(offered.Offer.BotId)?.Held.Remove(job);
        }

        if (bot is not null)
        {
            Slots(bot)?.Held.Remove(job);
            return;
        }

        foreach (var slots in _bots.Values)
        {
            slots.Held.Remove(job);
        }
    }

    /// <summary>A bot checked in: its reported jobs hold slots, and so do recent assignments it has not reported yet.</summary>
    public void UpsertBot(BotId bot, string agentPath, BotCapabilities capabilities, IReadOnlyList<JobId> running, DateTimeOffset now, long nodeUid = 0)
    {
        var held = new Dictionary<JobId, DateTimeOffset>();
        if (_bots.TryGetValue(bot, out var known))
        {
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

        _bots[bot] = new BotSlots(bot, agentPath, capabilities, held, nodeUid);
    }

    /// <summary>Forgets the bot; returns the jobs that held its slots (offers to it are withdrawn and queued again).</summary>
    public IReadOnlyList<JobId> RemoveBot(BotId bot)
    {
        _unreachable.Remove(bot);
        if (!_bots.Remove(bot, out var slots))
        {
            return [];
        }

        foreach (var (offer, job) in _offers.Values.Where(o => o.Offer.BotId == bot).ToList())
        {
            _offers.Remove(offer.JobId);
            Enqueue(job.JobId, job.Engine, job.Since);
        }

        return [.. slots.Held.Keys];
    }

    /// <summary>An unreachable bot gets no offers until it is reachable again (or removed).</summary>
    public void SetReachable(BotId bot, bool reachable)
    {
        if (reachable)
        {
            _unreachable.Remove(bot);
        }
        else if (_bots.ContainsKey(bot))
        {
            _unreachable.Add(bot);
        }
    }

    /// <summary>The job took the bot; an acceptance that arrives after its offer expired also takes it out of the queue.</summary>
    public void Accepted(JobId job, BotId bot, DateTimeOffset now)
    {
        _offers.Remove(job);
        RemovePending(job);
        if (Slots(bot) is { } slots)
        {
            slots.Held[job] = now;
        }
    }

    /// <summary>The job refused the offer (it is no longer pending): free the slot, forget the job.</summary>
    public void Rejected(JobId job, BotId bot)
    {
        _offers.Remove(job);
        Slots(bot)?.Held.Remove(job);
    }

    /// <summary>The campaigns' weights (campaign id → weight ≥ 1; unlisted campaigns weigh 1). Empty: first come, first served.</summary>
    public IReadOnlyDictionary<string, int> Weights => _weights;

    /// <summary>
    /// Sets the campaigns' weights. With any weight set, each free slot goes to the campaign holding the fewest slots per
    /// unit of weight (a campaign of weight 3 gets three slots to another's one while both wait), its oldest job first.
    /// </summary>
    public void SetWeights(IReadOnlyDictionary<string, int> weights) =>
        _weights = weights.Where(w => w.Value >= 1).ToDictionary(w => w.Key, w => w.Value, StringComparer.Ordinal);

    /// <summary>The campaign a job belongs to: its id up to the last dash ("3f2a9c1b0d4e-0" → "3f2a9c1b0d4e").</summary>
    public static string CampaignOf(JobId job) => job.Value.LastIndexOf('-') is > 0 and var dash ? job.Value[..dash] : job.Value;

    /// <summary>Matches pending jobs, oldest first, to bots with the engine and a free slot, spreading over the emptiest bots.</summary>
    public IReadOnlyList<Offer> NextOffers(DateTimeOffset now) => _weights.Count == 0 ? NextOffersInArrivalOrder(now) : NextOffersByWeight(now);

    private IReadOnlyList<Offer> NextOffersByWeight(DateTimeOffset now)
    {
        var offers = new List<Offer>();
        var held = _bots.Values.SelectMany(b => b.Held.Keys).GroupBy(CampaignOf).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        while (_pending.Count > 0)
        {
            // Campaigns with pending jobs, the one furthest below its share first; ties go to the one waiting longest.
            var campaigns = _pending
                .GroupBy(p => CampaignOf(p.JobId))
                .Select(g => (Campaign: g.Key, Jobs: g.ToList()))
                .OrderBy(c => (double)held.GetValueOrDefault(c.Campaign) / _weights.GetValueOrDefault(c.Campaign, 1))
                .ThenBy(c => c.Jobs[0].Since);
            Offer? offer = null;
            foreach (var (campaign, jobs) in campaigns)
            {
                foreach (var job in jobs)
                {
                    if (BestBotFor(job) is { } best)
                    {
                        offer = Place(job, best, now);
                        held[campaign] = held.GetValueOrDefault(campaign) + 1;
                        break;
                    }
                }

                if (offer is not null)
                {
                    break;
                }
            }

            if (offer is null)
            {
                break;
            }

            offers.Add(offer);
        }

        return offers;
    }

    private BotSlots? BestBotFor(PendingJob job)
    {
        BotSlots? best = null;
        foreach (var bot in _bots.Values)
        {
            if (bot.Free > 0 && !_unreachable.Contains(bot.BotId) && bot.Capabilities.Supports(job.Engine) && (best is null || bot.Free > best.Free))
            {
                best = bot;
            }
        }

        return best;
    }

    private Offer Place(PendingJob job, BotSlots bot, DateTimeOffset now)
    {
        var offer = new Offer(job.JobId, bot.BotId, bot.AgentPath, now);
        RemovePending(job.JobId);
        _offers[job.JobId] = (offer, job);
        bot.Held[job.JobId] = now;
        return offer;
    }

    private List<Offer> NextOffersInArrivalOrder(DateTimeOffset now)
    {
        var offers = new List<Offer>();
        var node = _pending.First;
        while (node is not null && _bots.Count > 0)
        {
            var next = node.Next;
            if (BestBotFor(node.Value) is { } best)
            {
                offers.Add(Place(node.Value, best, now));
            }

            node = next;
        }

        return offers;
    }

    /// <summary>Offers nobody answered (the job entity was unreachable) go back to the end of the queue.</summary>
    public IReadOnlyList<JobId> ExpireOffers(DateTimeOffset now, TimeSpan timeout)
    {
        var expired = _offers.Values.Where(o => now - o.Offer.At >= timeout).ToList();
        foreach (var (offer, job) in expired)
        {
            _offers.Remove(offer.JobId);
            Slots(offer.BotId)?.Held.Remove(offer.JobId);
            Enqueue(job.JobId, job.Engine, job.Since);
        }

        return expired.Select(o => o.Offer.JobId).ToList();
    }

    public bool IsOffered(JobId job) => _offers.ContainsKey(job);

    private BotSlots? Slots(BotId bot) => _bots.GetValueOrDefault(bot);

    private void RemovePending(JobId job)
    {
        if (_pendingIndex.Remove(job, out var node))
        {
            _pending.Remove(node);
        }
    }

    private sealed record PendingJob(JobId JobId, string Engine, DateTimeOffset Since);

    private sealed record BotSlots(BotId BotId, string AgentPath, BotCapabilities Capabilities, Dictionary<JobId, DateTimeOffset> Held, long NodeUid)
    {
        public int Free => Math.Max(0, Capabilities.Slots - Held.Count);
    }
}
