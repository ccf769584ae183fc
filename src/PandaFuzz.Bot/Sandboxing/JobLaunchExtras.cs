using System.Collections.Concurrent;
using System.Globalization;
using PandaFuzz.Bot.Engines;

namespace PandaFuzz.Bot.Sandboxing;

/// <summary>
/// What every process of a job gets beyond its own command, whichever part of the bot starts it (the fuzzer, triage
/// reruns, minimization, a coverage report's tools): its cores (a fuzzing job's engine run the core its bot pinned it to,
/// every other run the cores no fuzzer holds) and the shared libraries of its build bundle, bound read-only into the
/// sandbox and named by <c>LD_LIBRARY_PATH</c>. Keyed by the job's work dir, which is every such launch's working
/// directory; <see cref="Sandbox.Prepare"/> applies them.
/// </summary>
public static class JobLaunchExtras
{
    private static readonly ConcurrentDictionary<string, Extras> ByJobDir = new(StringComparer.Ordinal);

    public const string LibraryPathVariable = "LD_LIBRARY_PATH";

    private const string Taskset = "taskset";

    // The node's cores, once it pins fuzzers: the runs that are not a fuzzer's keep off theirs.
    private static CoreLeases? _cores;

    /// <summary>From now on runs that are not a fuzzing job's engine run keep off the cores <paramref name="cores"/> gives fuzzers (null: nothing is pinned).</summary>
    public static void KeepOffFuzzingCores(CoreLeases? cores) => _cores = cores;

    public static void PinTo(string jobDir, int core) => Update(jobDir, e => e with { Core = core });

    public static void Unpin(string jobDir) => Update(jobDir, e => e with { Core = null });

    /// <summary>The job's processes see <paramref name="bundleFolder"/> read-only and load libraries from <paramref name="libraryFolders"/> (inside it).</summary>
    public static void UseLibraries(string jobDir, string bundleFolder, IReadOnlyList<string> libraryFolders) =>
        Update(jobDir, e => e with { ReadOnlyFolder = bundleFolder, LibraryFolders = libraryFolders });

    public static void ForgetLibraries(string jobDir) => Update(jobDir, e => e with { ReadOnlyFolder = null, LibraryFolders = [] });

    /// <summary>The folder bound read-only into the sandbox for the job, if any.</summary>
    public static string? ReadOnlyFolderOf(string jobDir) => Of(jobDir).ReadOnlyFolder;

    /// <summary>The launch with the job's library path in its environment (what the job's command line shows too).</summary>
    public static FuzzerLaunch WithLibraries(FuzzerLaunch launch)
    {
        var folders = Of(launch.WorkingDirectory).LibraryFolders;
        if (folders.Count == 0)
        {
            return launch;
        }

        var environment = new Dictionary<string, string>(launch.Environment) { [LibraryPathVariable] = string.Join(':', folders) };
        return launch with { Environment = environment };
    }

    /// <summary>
    /// The wrapped launch under <c>taskset</c> (outermost, so everything it starts inherits it): a pinned job's
    /// <paramref name="engineRun"/> on the job's core; any other run on the cores no fuzzer holds, while some are left.
    /// </summary>
    public static FuzzerLaunch Pinned(FuzzerLaunch wrapped, string jobDir, bool engineRun)
    {
        IReadOnlyList<int>? cores = engineRun && Of(jobDir).Core is { } core ? [core]
            : _cores is { } leases && leases.FreeCores is var free && free.Count < leases.Cores.Count ? free
            : null;
        return cores is null
            ? wrapped
            : wrapped with { Program = Taskset, Arguments = ["--cpu-list", string.Join(',', cores.Select(c => c.ToString(CultureInfo.InvariantCulture))), wrapped.Program, .. wrapped.Arguments] };
    }

    private static Extras Of(string jobDir) => ByJobDir.TryGetValue(Path.GetFullPath(jobDir), out var extras) ? extras : Extras.None;

    private static void Update(string jobDir, Func<Extras, Extras> change)
    {
        var key = Path.GetFullPath(jobDir);
        var updated = ByJobDir.AddOrUpdate(key, _ => change(Extras.None), (_, existing) => change(existing));
        if (updated == Extras.None)
        {
            ByJobDir.TryRemove(new KeyValuePair<string, Extras>(key, updated));
        }
    }

    private sealed record Extras(int? Core, string? ReadOnlyFolder, IReadOnlyList<string> LibraryFolders)
    {
        public static readonly Extras None = new(null, null, []);

        public bool Equals(Extras? other) =>
            other is not null && Core == other.Core && ReadOnlyFolder == other.ReadOnlyFolder && LibraryFolders.SequenceEqual(other.LibraryFolders);

        public override int GetHashCode() => HashCode.Combine(Core, ReadOnlyFolder, LibraryFolders.Count);
    }
}
