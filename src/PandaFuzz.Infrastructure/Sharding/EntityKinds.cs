namespace PandaFuzz.Infrastructure.Sharding;

/// <summary>
/// The kind of entity a journal row belongs to ("campaign", "job", "bot", "corpus"), from its persistence id
/// ("campaign-…"): the read-model projection keeps an offset per kind, and its backlog counts rows by the same prefix.
/// Each entity persists only events of its own kind, so journals written before events went untagged carry the same
/// names as tags. Rows of other persistent actors (the sharding coordinators) have none.
/// </summary>
public static class EntityKinds
{
    public const string Campaign = "campaign";
    public const string Job = "job";
    public const string Bot = "bot";
    public const string Corpus = "corpus";

    public static readonly IReadOnlyList<string> All = [Campaign, Job, Bot, Corpus];

    /// <summary>The kind of the entity that persisted a row; null for any other persistent actor.</summary>
    public static string? OfPersistenceId(string persistenceId) =>
        All.FirstOrDefault(kind => persistenceId.Length > kind.Length && persistenceId[kind.Length] == '-'
                                   && persistenceId.StartsWith(kind, StringComparison.Ordinal));

    /// <summary>What every persistence id of a kind's entities starts with ("campaign-").</summary>
    public static string PersistenceIdPrefix(string kind) => kind + "-";

    /// <summary>The persistence id of one entity of a kind ("campaign-" + its id); stable, as the journal keeps it.</summary>
    public static string PersistenceId(string kind, string entityId) => PersistenceIdPrefix(kind) + entityId;

    /// <summary>The entity id in a persistence id of a kind's entity.</summary>
    public static string EntityId(string kind, string persistenceId) => persistenceId[PersistenceIdPrefix(kind).Length..];

    /// <summary>A SQL LIKE pattern for the persistence ids of a kind's entities ("campaign-%").</summary>
    public static string PersistenceIdLike(string kind) => PersistenceIdPrefix(kind) + "%";
}
