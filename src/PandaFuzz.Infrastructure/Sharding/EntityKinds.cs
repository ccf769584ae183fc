namespace PandaFuzz.Infrastructure.Sharding;

/// <summary>The kind of entity a journal row belongs to, from its persistence id ("campaign-…"): the read-model projection
/// keeps an offset per kind. Each entity persists only events of its own kind, so journals written before events went
/// untagged carry the same names as tags. Rows of other persistent actors (the sharding coordinators) have none.</summary>
public static class EntityKinds
{
    public const string Campaign = "campaign";
    public const string Job = "job";
    public const string Bot = "bot";
    public const string Corpus = "corpus";
    public const string Target = "target";

    public static readonly IReadOnlyList<string> All = [Campaign, Job, Bot, Corpus, Target];

    public static string? OfPersistenceId(string persistenceId) =>
        All.FirstOrDefault(kind => persistenceId.Length > kind.Length && persistenceId[kind.Length] == '-'
                                   && persistenceId.StartsWith(kind, StringComparison.Ordinal));

    public static string PersistenceIdPrefix(string kind) => kind + "-";

    /// <summary>Stable: the journal keeps it.</summary>
    public static string PersistenceId(string kind, string entityId) => PersistenceIdPrefix(kind) + entityId;

    public static string EntityId(string kind, string persistenceId) => persistenceId[PersistenceIdPrefix(kind).Length..];

    public static string PersistenceIdLike(string kind) => PersistenceIdPrefix(kind) + "%";
}
