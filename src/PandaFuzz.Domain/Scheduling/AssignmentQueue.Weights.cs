using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Scheduling;

/// <summary>Campaign weights (the configuration's, and priorities from the API): how they order the offers and the queue.</summary>
public sealed partial class AssignmentQueue
{
    public IReadOnlyDictionary<string, int> Weights => _weights;

    /// <summary>With any weight set, each free slot goes to the campaign holding the fewest slots per unit of weight (weight 3
    /// gets three slots to another's one while both wait), its oldest job first. Empty: first come, first served.</summary>
    public void SetWeights(IReadOnlyDictionary<string, int> weights) =>
        _weights = weights.Where(w => w.Value >= 1).ToDictionary(w => w.Key, w => w.Value, StringComparer.Ordinal);

    /// <summary>
    /// The queued jobs in the order free slots would go to them, any slot fitting any job: arrival order, or with weights
    /// the order <see cref="NextOffersByWeight"/> takes them in (fewest slots per unit of weight first, the heavier
    /// campaign among equals, then the oldest). Lazy: a page costs what it shows.
    /// </summary>
    public IEnumerable<JobId> PendingInOfferOrder()
    {
        if (_weights.Count == 0)
        {
            foreach (var job in _pending)
            {
                yield return job.JobId;
            }

            yield break;
        }

        var held = HeldByCampaign();
        var heads = _pendingByCampaign.Where(c => c.Value.First is not null).ToDictionary(c => c.Key, c => c.Value.First!, StringComparer.Ordinal);
        while (heads.Count > 0)
        {
            var (campaign, _, head) = InOfferOrder(heads.Select(h => (h.Key, h.Value.Value, h.Value)), held).First();
            yield return head.Value.JobId;
            held[campaign] = held.GetValueOrDefault(campaign) + 1;
            if (head.Next is { } next)
            {
                heads[campaign] = next;
            }
            else
            {
                heads.Remove(campaign);
            }
        }
    }

    public int BotCount => _bots.Count;

    public DateTimeOffset? OldestPendingSince => _pending.Count == 0 ? null : _pending.Min(p => p.Since);

    public int FreeSlots => _free.Sum(b => b.Free);

    public bool HasFreeSlots => _free.Count > 0;

    public IEnumerable<KnownBot> Bots => _bots.Values.Select(b => new KnownBot(b.BotId, b.AgentPath, b.NodeUid, [.. b.Held.Keys]));

    private List<Offer> NextOffersByWeight(DateTimeOffset now)
    {
        var offers = new List<Offer>();
        var held = HeldByCampaign();
        var stuck = new HashSet<string>(StringComparer.Ordinal);
        var minimizing = MinimizingCampaigns();
        while (_free.Count > 0 && _offers.Count < maxOffers)
        {
            var campaigns = InOfferOrder(_pendingByCampaign.Where(c => c.Value.Count > 0).Select(c => (c.Key, c.Value.First!.Value, c.Value)), held)
                .Select(c => (c.Campaign, c.Tag));
            Offer? offer = null;
            foreach (var (campaign, jobs) in campaigns)
            {
                for (var node = jobs.First; node is not null && offer is null; node = node.Next)
                {
                    if (stuck.Contains(node.Value.Engine) || Waits(node.Value, minimizing))
                    {
                        continue;
                    }

                    if (BestBotFor(node.Value.Engine) is { } best)
                    {
                        if (node.Value.Minimization)
                        {
                            minimizing.Add(campaign);
                        }

                        offer = Place(node.Value, best, now);
                        held[campaign] = held.GetValueOrDefault(campaign) + 1;
                    }
                    else
                    {
                        stuck.Add(node.Value.Engine);
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

    /// <summary>Slots held (offered or running) per campaign.</summary>
    private Dictionary<string, int> HeldByCampaign() =>
        _bots.Values.SelectMany(b => b.Held.Keys).GroupBy(CampaignOf).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>
    /// Campaigns by whose head job a free slot goes to first: the fewest slots held per unit of weight, the heavier
    /// campaign among equal shares, then the oldest head. <typeparamref name="T"/> rides along with each campaign.
    /// </summary>
    private IEnumerable<(string Campaign, PendingJob Head, T Tag)> InOfferOrder<T>(IEnumerable<(string Campaign, PendingJob Head, T Tag)> campaigns, Dictionary<string, int> held) =>
        campaigns
            .OrderBy(c => (double)held.GetValueOrDefault(c.Campaign) / _weights.GetValueOrDefault(c.Campaign, 1))
            .ThenByDescending(c => _weights.GetValueOrDefault(c.Campaign, 1))
            .ThenBy(c => c.Head.Since)
            .ThenBy(c => c.Head.Sequence);
}
