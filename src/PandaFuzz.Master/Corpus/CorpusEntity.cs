using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence;
using PandaFuzz.Domain.Corpus;
using PandaFuzz.Infrastructure.Actors;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CorpusCommands;
using static PandaFuzz.Protocol.CorpusQueries;

namespace PandaFuzz.Master.Corpus;

/// <summary>Owns one campaign's shared corpus: stores offered inputs once by content, serves it in pages, replaces it when minimized.</summary>
public sealed class CorpusEntity : EventSourcedEntity
{
    private readonly MasterSettings _settings;
    private readonly ContentAddressedStore _blobs;
    private readonly HashSet<BlobId> _fetching = [];
    private CorpusState _state;

    public CorpusEntity(string entityId, MasterSettings settings, ContentAddressedStore blobs)
        : base(EntityKinds.PersistenceId(EntityKinds.Corpus, entityId), settings.SnapshotEvery)
    {
        _settings = settings;
        _blobs = blobs;
        _state = CorpusState.Empty(new CampaignId(entityId));

        Recover<SnapshotOffer>(offer => _state = (CorpusState)offer.Snapshot);
        Recover<IPersistedEvent>(e => _state = _state.Apply(e));

        Command<OfferCorpus>(Offer);
        Command<OfferFetched>(Fetched);
        Command<AddCorpusEntries>(add => PersistThen(_state.Add(add.Entries, DateTimeOffset.UtcNow),
            sender => sender.Tell(new CorpusChanged(_state.CampaignId, _state.Version, _state.Entries.Count, _state.Bytes))));
        Command<ReplaceCorpus>(replace =>
        {
            Decide(_state.Replace(replace.BasedOnVersion, replace.Entries, replace.Reason, DateTimeOffset.UtcNow), e => _state = _state.Apply(e), sender =>
            {
                Log.Info("Corpus of campaign {CampaignId} replaced by version {Version}: {Count} inputs, {Bytes} bytes ({Reason})",
                    _state.CampaignId, _state.Version, _state.Entries.Count, _state.Bytes, replace.Reason);
                sender.Tell(new CorpusChanged(_state.CampaignId, _state.Version, _state.Entries.Count, _state.Bytes));
            });
        });
        Command<GetCorpusPage>(get =>
        {
            var (entries, from) = _state.Page(get.Version, get.From, Math.Min(get.Max, _settings.CorpusPageSize));
            Sender.Tell(new CorpusPage(_state.CampaignId, _state.Version, from, entries, _state.Entries.Count));
        });
        Command<GetCorpusSummary>(_ => Sender.Tell(new CorpusSummary(_state.CampaignId, _state.Version, _state.Entries.Count, _state.Bytes, _state.Versions)));
    }

    protected override object SnapshotState => _state;

    private void Offer(OfferCorpus offer)
    {
        var wanted = offer.Entries
            .Where(e => e.Size <= _settings.MaxCorpusEntryBytes && !_state.Contains(e.Input) && !_fetching.Contains(e.Input))
            .DistinctBy(e => e.Input)
            .ToList();
        if (wanted.Count == 0)
        {
            // Everything offered is stored (or too large to share, or on its way): the job can forget it.
            Sender.Tell(new CorpusOfferAccepted(offer.CorpusOf, offer.JobId, [.. offer.Entries.Select(e => e.Input)]));
            return;
        }

        _fetching.UnionWith(wanted.Select(e => e.Input));
        var replyTo = Sender;
        FetchAllAsync(offer, wanted).PipeTo(Self, success: stored => new OfferFetched(offer, wanted, stored, replyTo));
    }

    /// <summary>One input after the other: a sync batch must not flood the bot or the master.</summary>
    private async Task<IReadOnlyList<CorpusEntry>> FetchAllAsync(OfferCorpus offer, IReadOnlyList<CorpusEntry> wanted)
    {
        var source = Context.ActorSelection(offer.BlobSourcePath);
        var stored = new List<CorpusEntry>();
        foreach (var entry in wanted)
        {
            try
            {
                await BlobFetcher.FetchAsync(source, entry.Input, _blobs, _settings.BlobChunkTimeout);
                stored.Add(entry);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The job offers it again with its next batch.
            }
        }

        return stored;
    }

    private void Fetched(OfferFetched fetched)
    {
        _fetching.ExceptWith(fetched.Wanted.Select(e => e.Input));
        PersistThen(_state.Add(fetched.Stored, DateTimeOffset.UtcNow), _ =>
        {
            var missing = fetched.Wanted.Select(e => e.Input).Except(fetched.Stored.Select(e => e.Input)).ToHashSet();
            fetched.ReplyTo.Tell(new CorpusOfferAccepted(
                fetched.Offer.CorpusOf, fetched.Offer.JobId, [.. fetched.Offer.Entries.Select(e => e.Input).Where(i => !missing.Contains(i))]));
        });
    }

    private void PersistThen(IReadOnlyList<IPersistedEvent> events, Action<IActorRef> then) =>
        PersistThen(events, e => _state = _state.Apply(e), then);

    private sealed record OfferFetched(OfferCorpus Offer, IReadOnlyList<CorpusEntry> Wanted, IReadOnlyList<CorpusEntry> Stored, IActorRef ReplyTo);
}

/// <summary>Hosting for the corpus shard region.</summary>
public static class CorpusEntityHosting
{
    public static AkkaConfigurationBuilder AddCorpusEntities(this AkkaConfigurationBuilder builder, MasterSettings settings, ContentAddressedStore blobs) =>
        builder.WithShardRegion<CorpusRegion>(
            ShardNames.Corpus,
            (_, _, _) => id => ActorProps.Of(() => new CorpusEntity(id, settings, blobs)),
            new CorpusMessageExtractor(ShardNames.MaxShards),
            ShardNames.MasterEntities());
}
