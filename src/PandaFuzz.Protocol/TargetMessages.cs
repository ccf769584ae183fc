namespace PandaFuzz.Protocol;

/// <summary>Routes a message to the entity of a named target (its builds).</summary>
public interface IWithTargetName : IProtocolMessage
{
    string TargetName { get; }
}

/// <summary>What a binary of a build is for.</summary>
public static class TargetBinaryKinds
{
    /// <summary>A fuzzing binary for any engine: what an upload without a kind is.</summary>
    public const string Fuzzer = "fuzzer";

    /// <summary>Clang source-based coverage build (<c>-fprofile-instr-generate -fcoverage-mapping</c>).</summary>
    public const string Coverage = "coverage";

    /// <summary>AFL++ CMPLOG build (<c>AFL_LLVM_CMPLOG=1</c>), for a secondary's <c>-c</c>.</summary>
    public const string Cmplog = "cmplog";

    /// <summary>
    /// A build bundle: a zip or tar.gz of fuzz targets, their shared libraries and per target <c>.options</c>, seed corpus
    /// and dictionary (an OSS-Fuzz <c>out/</c> directory); its <see cref="TargetBinary.Index"/> says what it holds.
    /// </summary>
    public const string Bundle = "bundle";

    /// <summary>Every kind: <see cref="Fuzzer"/>, a fuzzing binary for one engine, a helper build, or a <see cref="Bundle"/>.</summary>
    public static readonly IReadOnlyList<string> Known = [Fuzzer, EngineNames.LibFuzzer, EngineNames.AflPlusPlus, Coverage, Cmplog, Bundle];
}

/// <summary>One binary of a build.</summary>
public sealed record TargetBinary(string Kind, BlobId Binary, long Size)
{
    /// <summary>What a <see cref="TargetBinaryKinds.Bundle"/> holds, found when it was uploaded; null for any other kind.</summary>
    public BundleIndex? Index { get; init; }
}

/// <summary>
/// What a build bundle holds: its fuzz targets (by name, unique in the bundle) and its shared libraries (paths inside
/// the bundle, '/' between parts).
/// </summary>
public sealed record BundleIndex(IReadOnlyList<BundleFuzzTarget> Targets, IReadOnlyList<string> Libraries)
{
    public BundleFuzzTarget? Target(string name) => Targets.FirstOrDefault(t => t.Name == name);
}

/// <summary>
/// One fuzz target of a bundle: its file name, path inside the bundle and size, and what its files beside it set: the
/// <c>.options</c> file's allowed engine and sanitizer options, its <c>timeout</c> and <c>rss_limit_mb</c> as suggested
/// campaign defaults, its dictionary and seed corpus zip (paths inside the bundle), and every option left out, with why.
/// </summary>
public sealed record BundleFuzzTarget(string Name, string Path, long Size)
{
    /// <summary>The path of its <c>&lt;target&gt;.options</c> file, when it has one.</summary>
    public string? OptionsFile { get; init; }

    public EngineOptions? Options { get; init; }

    public string? Dictionary { get; init; }

    public string? SeedCorpus { get; init; }

    public int? TimeoutMs { get; init; }

    public int? MemoryLimitMb { get; init; }

    public IReadOnlyList<BundleIgnoredOption> IgnoredOptions { get; init; } = [];
}

/// <summary>An option of a <c>.options</c> file that is not used (<c>libfuzzer.close_fd_mask</c>), and why.</summary>
public sealed record BundleIgnoredOption(string Option, string Reason);

/// <summary>
/// A build of a named target: numbered from 1 in the order they were added, with the user's <paramref name="Revision"/>
/// label (a git commit, say) and its binaries by kind.
/// </summary>
public sealed record TargetBuild(int Number, string? Revision, DateTimeOffset CreatedAt, DateTimeOffset AddedAt, IReadOnlyList<TargetBinary> Binaries)
{
    /// <summary>
    /// The absolute path the build's sources were in when it was built (the CI checkout, say), as the user gave it: source
    /// paths under it (in coverage reports, stack frames) are shown relative to it.
    /// </summary>
    public string? SourceRoot { get; init; }

    /// <summary>A path the build names (a compiler's absolute path) relative to <see cref="SourceRoot"/>, when it is under it.</summary>
    public string? Relative(string path) =>
        SourceRoot is { } root && path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal) ? path[(root.TrimEnd('/').Length + 1)..] : null;

    public TargetBinary? BinaryOf(string kind) => Binaries.FirstOrDefault(b => b.Kind == kind);

    /// <summary>The index of the build's bundle, when it has one.</summary>
    public BundleIndex? Bundle => BinaryOf(TargetBinaryKinds.Bundle)?.Index;

    /// <summary>The binary an engine fuzzes: its own, else the build's binary for any engine, else its bundle (a campaign names the fuzz target in it).</summary>
    public TargetBinary? FuzzingBinaryFor(string engine) => BinaryOf(engine) ?? BinaryOf(TargetBinaryKinds.Fuzzer) ?? BinaryOf(TargetBinaryKinds.Bundle);
}

/// <summary>Commands the target entity handles.</summary>
public static class TargetCommands
{
    /// <summary>
    /// Adds an uploaded binary (already in the master's blob store) to build <paramref name="Build"/>, or to the build
    /// labelled <paramref name="Revision"/>, or else as a new build. Uploading the newest build's binary again changes
    /// nothing. Answered with <see cref="TargetBinaryAdded"/>.
    /// </summary>
    public sealed record AddTargetBinary(
        string TargetName,
        TargetBinary Binary,
        string? Revision,
        DateTimeOffset? CreatedAt,
        int? Build,
        string? SourceRoot = null) : IWithTargetName;

    /// <summary>The build that holds the binary now; <paramref name="Created"/>: this command made the build.</summary>
    public sealed record TargetBinaryAdded(string TargetName, TargetBuild Build, bool Created) : IWithTargetName;
}

/// <summary>Events the target entity persists.</summary>
public static class TargetEvents
{
    public sealed record TargetBuildAdded(string TargetName, TargetBuild Build, DateTimeOffset At) : IWithTargetName, IPersistedEvent;

    /// <summary><paramref name="SourceRoot"/>: given with this binary, it becomes the build's.</summary>
    public sealed record TargetBuildBinaryAdded(string TargetName, int Build, TargetBinary Binary, DateTimeOffset At, string? SourceRoot = null) : IWithTargetName, IPersistedEvent;
}

/// <summary>Queries the target entity answers.</summary>
public static class TargetQueries
{
    public sealed record GetTargetBuilds(string TargetName) : IWithTargetName;

    /// <summary>The target's builds, oldest first (empty: nothing was uploaded under that name).</summary>
    public sealed record TargetBuilds(string TargetName, IReadOnlyList<TargetBuild> Builds) : IWithTargetName
    {
        public TargetBuild? Newest => Builds.Count == 0 ? null : Builds[^1];

        public TargetBuild? Find(int number) => Builds.FirstOrDefault(b => b.Number == number);
    }
}
