using Akka.Persistence.Journal;
using PandaFuzz.Protocol;

namespace PandaFuzz.Infrastructure.Serialization;

/// <summary>Tags every event with its entity type ("campaign", "job", "bot") for queries by tag.</summary>
public sealed class EntityTagger : IWriteEventAdapter
{
    public const string CampaignTag = "campaign";
    public const string JobTag = "job";
    public const string BotTag = "bot";
    public const string CorpusTag = "corpus";

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt)
    {
        JournalActivity.OfProcess.Writing();
        return evt switch
        {
            IWithCampaignId => new Tagged(evt, [CampaignTag]),
            IWithJobId => new Tagged(evt, [JobTag]),
            IWithBotId => new Tagged(evt, [BotTag]),
            IWithCorpusId => new Tagged(evt, [CorpusTag]),
            _ => evt,
        };
    }
}
