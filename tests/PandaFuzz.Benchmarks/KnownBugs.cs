using System.Text.RegularExpressions;

namespace PandaFuzz.Benchmarks;

/// <summary>One planted bug of a multi-bug harness: the function of its crashing frame, its line, and whether a rerun crashes again.</summary>
/// <param name="Name">The bug's magic prefix (its name in tests/targets/README.md).</param>
/// <param name="IsTimeout">The bug is an endless loop: reported as a timeout, whose crash state names the target rather than a frame.</param>
public sealed record KnownBug(string Name, string Function, int Line, bool Reproducible, bool IsTimeout = false);

/// <summary>How a crash, bug group or artifact was tied to a known bug.</summary>
public static class MatchedBy
{
    public const string Function = "function";
    public const string Location = "location";
    public const string Kind = "timeout kind";
    public const string Flaky = "no crash on rerun";
    public const string ArtifactName = "artifact name";
}

/// <summary>A multi-bug harness of tests/targets and its known bugs (the tables in each file's header comment).</summary>
public sealed partial record BugTarget(string Name, IReadOnlyList<KnownBug> Bugs)
{
    public static readonly BugTarget BugFarm = new("bug_farm",
    [
        new("HB", "copy_into_slot", 46, true),
        new("SBUF", "fill_stack_slot", 54, true),
        new("UAF!", "read_after_release", 62, true),
        new("ND", "read_missing_entry", 67, true),
        new("DFRE", "release_twice", 74, true),
        new("LK", "lose_block", 78, true),
        new("TO", "spin_forever", 85, true, IsTimeout: true),
        // Crashes only from the second FLKY input one process runs: a rerun of the crashing input alone never does.
        new("FLKY", "crash_on_second_visit", 95, false),
    ]);

    public static readonly BugTarget BugPair = new("bug_pair",
    [
        new("RD", "peek_header", 28, true),
        new("ABT", "give_up", 34, true),
        new("FREE", "stamp_released", 41, true),
        new("P4NDA!", "fill_banner", 46, true),
    ]);

    public static readonly IReadOnlyList<BugTarget> All = [BugFarm, BugPair];

    public string Source => Path.Combine(RepoLayout.TargetSources, Name + ".c");

    public string Dictionary => Path.Combine(RepoLayout.TargetSources, Name + ".dict");

    public KnownBug? Timeout => Bugs.FirstOrDefault(b => b.IsTimeout);

    public KnownBug? Flaky => Bugs.FirstOrDefault(b => !b.Reproducible);

    /// <summary>The known bug whose function is <paramref name="function"/>.</summary>
    public KnownBug? ByFunction(string? function) =>
        string.IsNullOrWhiteSpace(function) ? null : Bugs.FirstOrDefault(b => b.Function == function.Trim());

    /// <summary>The known bug at <paramref name="location"/> (<c>bug_farm.c:46</c>; a directory or a column is ignored).</summary>
    public KnownBug? ByLocation(string? location)
    {
        if (location is null || LocationPattern().Match(location) is not { Success: true } match || match.Groups["file"].Value != Name + ".c")
        {
            return null;
        }

        var line = int.Parse(match.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture);
        return Bugs.FirstOrDefault(b => b.Line == line);
    }

    /// <summary>
    /// A crash as PandaFuzz reports it: by the first line of its state (the function of the crashing frame), else by its
    /// location; a timeout (whose state is the target's name and which has no location) is the target's timeout bug; a crash
    /// that never reproduced and names no frame of a known bug is the target's flaky bug, as a standalone finding whose rerun
    /// does not crash is.
    /// </summary>
    public (KnownBug? Bug, string? How) Classify(string? state, string? location, string? kind, bool reproducible)
    {
        var first = state?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (ByFunction(first) is { } byFunction)
        {
            return (byFunction, MatchedBy.Function);
        }

        if (ByLocation(location) is { } byLocation)
        {
            return (byLocation, MatchedBy.Location);
        }

        if (kind is not null && kind.StartsWith("timeout", StringComparison.OrdinalIgnoreCase) && Timeout is { } timeout)
        {
            return (timeout, MatchedBy.Kind);
        }

        return !reproducible && Flaky is { } flaky ? (flaky, MatchedBy.Flaky) : (null, null);
    }

    /// <summary>
    /// The first frame of a sanitizer or libFuzzer report that lies in this harness's source, the harness entry excepted
    /// (<c>#1 0x… in copy_into_slot /src/bug_farm.c:46:3</c>): the top non-sanitizer, non-libc frame.
    /// </summary>
    public (string Function, int Line)? TopFrame(string output)
    {
        foreach (Match match in FramePattern().Matches(output))
        {
            if (match.Groups["file"].Value == Name + ".c" && match.Groups["function"].Value != "LLVMFuzzerTestOneInput")
            {
                return (match.Groups["function"].Value, int.Parse(match.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return null;
    }

    [GeneratedRegex(@"(?:^|/)(?<file>[^/:\s]+):(?<line>\d+)(?::\d+)?\s*$")]
    private static partial Regex LocationPattern();

    [GeneratedRegex(@"#\d+ 0x[0-9a-f]+ in (?<function>\S+) \S*?(?<file>[^/\s:]+):(?<line>\d+)(?::\d+)?", RegexOptions.Multiline)]
    private static partial Regex FramePattern();
}
