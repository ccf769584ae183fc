using System.Collections.Frozen;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Protocol;

namespace PandaFuzz.Infrastructure.Serialization;

/// <summary>Reads one legacy shape and turns it into the type written today.</summary>
public sealed record Upcaster(Type LegacyType, Func<object, object> ToCurrent)
{
    public static Upcaster From<TLegacy>(Func<TLegacy, object> toCurrent) where TLegacy : notnull => new(typeof(TLegacy), o => toCurrent((TLegacy)o));
}

/// <summary>Events and snapshots older builds wrote, upcast on read so entities, the projection and a rebuild only see
/// today's types. To change an event's shape: give the new shape the next manifest version, move the old record here
/// with its upcaster, and add a journal fixture written by the old build (see the Actors tests' fixtures).</summary>
public static class Upcasters
{
    public static readonly FrozenDictionary<string, Upcaster> ByManifest = new Dictionary<string, Upcaster>
    {
        // Before de-duplication every crash report kept its input, and was stored as its own crash.
        ["CrashRecorded.v1"] = Upcaster.From<CrashRecordedV1>(e => new CampaignEvents.CrashReported(e.CampaignId, e.Crash, Sampled: true, e.At)),
        ["CampaignSnapshot.v1"] = Upcaster.From<CampaignSnapshotV1>(s => s.ToState()),
    }.ToFrozenDictionary();

    public sealed record CrashRecordedV1(CampaignId CampaignId, CrashRecord Crash, DateTimeOffset At);
}
