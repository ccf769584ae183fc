using System.Collections.Immutable;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.TargetEvents;

namespace PandaFuzz.Domain.Targets;

/// <summary>A named target's builds, in the order they were added (build numbers are their positions, from 1).</summary>
public sealed record TargetState(string Name, ImmutableList<TargetBuild> Builds)
{
    public static TargetState Empty(string name) => new(name, []);

    public TargetBuild? Newest => Builds.IsEmpty ? null : Builds[^1];

    public TargetState Apply(IPersistedEvent e) => e switch
    {
        TargetBuildAdded added => this with { Builds = Builds.Add(added.Build) },
        TargetBuildBinaryAdded added => this with { Builds = Builds.SetItem(added.Build - 1, WithBinary(Builds[added.Build - 1], added.Binary, added.SourceRoot)) },
        _ => throw new ArgumentException($"Not a target event: {e.GetType().Name}", nameof(e)),
    };

    /// <summary>
    /// Where an uploaded binary goes: into build <paramref name="buildNumber"/> when given, else into the build labelled
    /// <paramref name="revision"/> when there is one, else into a new build. A build keeps one binary per kind, so another
    /// binary of a kind it has is refused (a new build is what the user means); the same one again changes nothing, and so
    /// does uploading the newest build's binary again without a label. <paramref name="sourceRoot"/>, when given, becomes
    /// the build's (the one its binaries were built in).
    /// </summary>
    public Decision AddBinary(TargetBinary binary, string? revision, DateTimeOffset? createdAt, int? buildNumber, DateTimeOffset now, string? sourceRoot = null)
    {
        if (!TargetBinaryKinds.Known.Contains(binary.Kind))
        {
            return Decision.Reject($"kind must be one of: {string.Join(", ", TargetBinaryKinds.Known)}");
        }

        var existing = buildNumber is { } number
            ? Builds.FirstOrDefault(b => b.Number == number)
            : revision is not null ? Builds.LastOrDefault(b => b.Revision == revision) : null;
        if (buildNumber is not null && existing is null)
        {
            return Decision.Reject($"target {Name} has no build {buildNumber}");
        }

        if (existing is null && revision is null && Newest?.BinaryOf(binary.Kind)?.Binary == binary.Binary)
        {
            return [];
        }

        if (existing is null)
        {
            return [new TargetBuildAdded(Name, new TargetBuild(Builds.Count + 1, revision, createdAt ?? now, now, [binary]) { SourceRoot = sourceRoot }, now)];
        }

        if (revision is not null && existing.Revision != revision)
        {
            return Decision.Reject($"build {existing.Number} of target {Name} is revision {existing.Revision ?? "(none)"}, not {revision}");
        }

        return existing.BinaryOf(binary.Kind) switch
        {
            null => [new TargetBuildBinaryAdded(Name, existing.Number, binary, now, sourceRoot)],
            { } same when same.Binary == binary.Binary => [],
            _ => Decision.Reject($"build {existing.Number} of target {Name} already has a {binary.Kind} binary; upload the new one as a new build"),
        };
    }

    private static TargetBuild WithBinary(TargetBuild build, TargetBinary binary, string? sourceRoot) =>
        build with { Binaries = [.. build.Binaries.Where(b => b.Kind != binary.Kind), binary], SourceRoot = sourceRoot ?? build.SourceRoot };

    /// <summary>The build a binary just went to: the one named, the one with the label, or the newest.</summary>
    public TargetBuild BuildFor(TargetBinary binary, string? revision, int? buildNumber) =>
        (buildNumber is { } number ? Builds.FirstOrDefault(b => b.Number == number) : null)
        ?? (revision is not null ? Builds.LastOrDefault(b => b.Revision == revision) : null)
        ?? Builds.Last(b => b.BinaryOf(binary.Kind)?.Binary == binary.Binary);
}
