using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>An uploaded target binary: its sha256 (<c>id</c>, what <c>targetId</c> names), and the build that holds it.</summary>
public sealed record TargetResponse(string Id, string Name, long Size)
{
    /// <summary>The build's number: 1 for the target's first build, then one more for each new build.</summary>
    public int Build { get; init; }

    /// <summary>What the binary is for: fuzzer (any engine), libfuzzer, aflplusplus, coverage or cmplog.</summary>
    public string Kind { get; init; } = TargetBinaryKinds.Fuzzer;

    public string? Revision { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The build's source root, when one was given with this or an earlier binary of it.</summary>
    public string? SourceRoot { get; init; }

    /// <summary>False when the binary was already in that build (the same upload again).</summary>
    public bool NewBuild { get; init; }

    /// <summary>For a bundle (kind bundle): the fuzz targets, with their options, dictionary and seed corpus, and the shared libraries it holds.</summary>
    public BundleIndex? Bundle { get; init; }

    public static TargetResponse From(string name, TargetBuild build, string kind)
    {
        var binary = build.BinaryOf(kind)!;
        return new TargetResponse(binary.Binary.Sha256, name, binary.Size)
        {
            Build = build.Number, Kind = kind, Revision = build.Revision, CreatedAt = build.CreatedAt, SourceRoot = build.SourceRoot, Bundle = binary.Index,
        };
    }
}

/// <summary>
/// A build of a target: its number, the user's revision label, when it was built and added, its binaries, its source root
/// and what its bundle holds.
/// </summary>
public sealed record TargetBuildResponse(int Number, string? Revision, DateTimeOffset CreatedAt, DateTimeOffset AddedAt, IReadOnlyList<TargetBinaryResponse> Binaries)
{
    public string? SourceRoot { get; init; }

    /// <summary>The build's bundle: its fuzz targets (options, dictionary, seed corpus, options left out) and shared libraries.</summary>
    public BundleIndex? Bundle { get; init; }

    public static TargetBuildResponse From(TargetBuild build) =>
        new(build.Number, build.Revision, build.CreatedAt, build.AddedAt, [.. build.Binaries.Select(b => new TargetBinaryResponse(b.Kind, b.Binary.Sha256, b.Size))])
        {
            SourceRoot = build.SourceRoot,
            Bundle = build.Bundle,
        };
}

/// <summary>One binary of a build: its kind and its sha256 (a campaign's <c>targetId</c>).</summary>
public sealed record TargetBinaryResponse(string Kind, string Id, long Size);

/// <summary>The verification jobs a build's check added, by campaign (<c>error</c>: why a campaign added none).</summary>
public sealed record BuildVerificationResponse(string Target, int Build, IReadOnlyList<CampaignVerificationResponse> Campaigns);

public sealed record CampaignVerificationResponse(string CampaignId, IReadOnlyList<string> Jobs, string? Error);
