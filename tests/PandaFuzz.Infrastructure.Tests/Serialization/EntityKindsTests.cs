using PandaFuzz.Infrastructure.Sharding;
using FluentAssertions;
using PandaFuzz.Infrastructure.Serialization;
using Xunit;

namespace PandaFuzz.Infrastructure.Tests.Serialization;

/// <summary>
/// Persistence ids are stored in every journal row: the entities build them, and the projection, backlog and waker read
/// them back, all by one rule.
/// </summary>
public sealed class EntityKindsTests
{
    [Theory]
    [InlineData(EntityKinds.Campaign, "0123456789ab", "campaign-0123456789ab")]
    [InlineData(EntityKinds.Job, "0123456789ab-3", "job-0123456789ab-3")]
    [InlineData(EntityKinds.Bot, "bot-a1b2c3d4e5", "bot-bot-a1b2c3d4e5")]
    [InlineData(EntityKinds.Corpus, "0123456789ab", "corpus-0123456789ab")]
    public void A_persistence_id_is_the_kind_a_dash_and_the_entity_id_and_reads_back_to_both(string kind, string entityId, string persistenceId)
    {
        EntityKinds.PersistenceId(kind, entityId).Should().Be(persistenceId, "journals written by earlier builds hold these ids");
        EntityKinds.OfPersistenceId(persistenceId).Should().Be(kind);
        EntityKinds.EntityId(kind, persistenceId).Should().Be(entityId);
        persistenceId.Should().StartWith(EntityKinds.PersistenceIdLike(kind).TrimEnd('%'));
    }

    [Theory]
    [InlineData("/system/sharding/jobCoordinator/singleton/coordinator")]
    [InlineData("jobs-0123")]
    [InlineData("campaign")]
    [InlineData("")]
    public void Other_persistent_actors_have_no_kind(string persistenceId) =>
        EntityKinds.OfPersistenceId(persistenceId).Should().BeNull();
}
