using System.Globalization;
using System.Text.RegularExpressions;
using PandaFuzz.Domain.Engines.LibFuzzer;

namespace PandaFuzz.Domain.Crashes;

/// <summary>Turns a sanitizer or libFuzzer report into a <see cref="CrashAnalysis"/> by ClusterFuzz's rules: type from the
/// error line, access from the next, state from the top three frames left once sanitizer, allocator, libc, driver and
/// harness-entry frames are dropped. Timeouts and OOMs take the target's name as their state.</summary>
public static partial class CrashAnalyzer
{
    public const int StateFrames = 3;

    // Accesses wider than this are one "{*}" bucket: the same overflow through memcpy of varying lengths stays one bug.
    private const int LargestShownAccess = 16;

    // Below this, a SEGV address is a null pointer plus a field offset.
    private const long NullDereferenceBoundary = 4096;

    private static readonly (Regex Pattern, string Type)[] UndefinedBehaviorTypes =
    [
        (new(@"division by zero"), "Divide-by-zero"),
        (new(@"outside the range of representable values"), "Float-cast-overflow"),
        (new(@"implicit conversion from type"), "Implicit-conversion"),
        (new(@"through pointer to incorrect function type"), "Incorrect-function-pointer-type"),
        (new(@"out of bounds for type"), "Index-out-of-bounds"),
        (new(@"not a valid value for type '(bool|BOOL)'"), "Invalid-bool-value"),
        (new(@", which is not a valid argument"), "Invalid-builtin-use"),
        (new(@"misaligned address"), "Misaligned-address"),
        (new(@"reached the end of a value-returning function"), "No-return-value"),
        (new(@"null pointer passed as .*, which is declared to never be null"), "Invalid-null-argument"),
        (new(@"load of null pointer"), "Null-dereference READ"),
        (new(@"(binding to|access within|call on) null pointer"), "Null-dereference"),
        (new(@"store to null pointer"), "Null-dereference WRITE"),
        (new(@"with insufficient space for an object of type"), "Object-size"),
        (new(@"(addition|subtraction) of unsigned offset |pointer index expression with base |offset .* to null pointer"), "Pointer-overflow"),
        (new(@"null pointer returned from function declared to never return null"), "Invalid-null-return"),
        (new(@"shift"), "Undefined-shift"),
        (new(@"execution reached an unreachable program point"), "Unreachable-code"),
        (new(@"unsigned integer overflow"), "Unsigned-integer-overflow"),
        (new(@"variable length array bound evaluates to non-positive value"), "Non-positive-vla-bound-value"),
        (new(@"downcast of address"), "Bad-cast"),
        (new(@"not a valid value for type"), "Invalid-enum-value"),
        (new(@"integer overflow|(negation|division) of .* cannot be represented in type"), "Integer-overflow"),
    ];

    // Types that are memory-safety bugs an attacker can use; everything else (null dereferences, leaks, timeouts,
    // OOMs, aborts, stack exhaustion, most undefined behaviour) is a reliability bug.
    private static readonly HashSet<string> SecurityTypes = new(StringComparer.Ordinal)
    {
        "Heap-buffer-overflow", "Heap-use-after-free", "Heap-double-free", "Bad-free", "Stack-buffer-overflow",
        "Stack-buffer-underflow", "Dynamic-stack-buffer-overflow", "Global-buffer-overflow", "Stack-use-after-return",
        "Stack-use-after-scope", "Container-overflow", "Use-after-poison", "Intra-object-overflow", "Memcpy-param-overlap",
        "Negative-size-param", "UNKNOWN", "Index-out-of-bounds", "Object-size", "Bad-cast",
    };

    /// <summary>Frames that never hold the bug, by function name (ClusterFuzz's ignore list, the C/C++ part).</summary>
    private static readonly Regex IgnoredFunction = new(
        "^(" + string.Join('|',
            @"abort$", @"exit$", @"raise$", @"tgkill$", @"gsignal$", @"pthread_kill$", @"__pthread_kill", @"__chk_fail$", @"__fortify_fail$",
            @"__assert_", @"__GI_", @"__libc_", @"_start", @"__run_exit_handlers", @"common_exit",
            @"(__)?mem(cmp|cpy|move|set|chr)", @"(__)?str(cmp|ncmp|cpy|ncpy|dup|len|chr|cat|ncat)", @"__interceptor_", @"___interceptor_",
            @"malloc$", @"calloc$", @"realloc$", @"free$", @"operator new", @"operator delete", @"posix_memalign$", @"aligned_alloc$",
            @"__asan", @"__lsan", @"__msan", @"__tsan", @"__ubsan", @"__hwasan", @"__sanitizer", @"_asan_", @"_lsan_", @"_msan_", @"_tsan_", @"_ubsan_",
            @"__sanitizer_", @"asan_", @"__sanitizer_print_stack_trace",
            @"fuzzer::", @"LLVMFuzzerTestOneInput$", @"main$", @"__afl_", @"LLVMFuzzerRunDriver$",
            // AFL++'s libFuzzer-compatible driver (aflpp_driver.c spells it so).
            @"ExecuteFilesOnyByOne$") + ")",
        RegexOptions.CultureInvariant);

    private static readonly Regex IgnoredLocation = new(
        @"/sanitizer_common/|/compiler-rt/|/asan/|/lsan/|/ubsan/|/fuzzer/Fuzzer|/libc/|/glibc-|csu/|sysdeps/|libc\.so|libc-[0-9.]+\.so|libstdc\+\+\.so|libc\+\+|libm\.so|ld-linux",
        RegexOptions.CultureInvariant);

    /// <summary>The sandbox's note when its memory cgroup killed a run: without a sanitizer report the run ran out of memory
    /// (AFL++ saves a target killed by the cgroup as a crash of signal 9).</summary>
    public const string SandboxMemoryKill = "killed by the sandbox's memory cgroup";

    public static CrashAnalysis Analyze(string output, string? findingKind, string targetName)
    {
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var (type, access, errorLine) = Classify(lines, findingKind);
        var frames = StackAfter(lines, errorLine);
        var byTarget = type is "Timeout" or "Out-of-memory";
        var state = byTarget ? targetName : StateOf(frames);
        return new CrashAnalysis(type, access, frames, state, SecurityTypes.Contains(type), byTarget ? null : LocationOf(frames));
    }

    /// <summary>The state's first frame as file name and line; not the directory, which differs between builds.</summary>
    public static string? LocationOf(IReadOnlyList<StackFrame> frames)
    {
        var top = frames.FirstOrDefault(f => !IsIgnored(f)) ?? frames.FirstOrDefault(f => f.Function is "LLVMFuzzerTestOneInput");
        return top is { File: { } file, Line: { } line } ? $"{Path.GetFileName(file)}:{line.ToString(CultureInfo.InvariantCulture)}" : null;
    }

    public static string StateOf(IReadOnlyList<StackFrame> frames)
    {
        var kept = frames.Where(f => !IsIgnored(f)).Take(StateFrames).Select(f => f.Name).ToList();
        if (kept.Count == 0)
        {
            // A bug right in the harness: its entry is then the only place there is.
            kept = frames.Where(f => f.Function is "LLVMFuzzerTestOneInput").Take(StateFrames).Select(f => f.Name).ToList();
        }

        return string.Join('\n', kept);
    }

    /// <summary>Positions in <paramref name="stack"/> of frames that never hold the bug, which the dashboard folds away. The
    /// harness entry and a target's own <c>main</c> are the user's code, so they stay, though a crash state skips them.</summary>
    public static IReadOnlyList<int> IgnoredFrames(IReadOnlyList<string> stack) =>
        [.. stack.Select((line, i) => (line, i))
            .Where(f => (StackFrame.TryParse(f.line, out var frame) || StackFrame.TryParseDescribed(f.line, out frame)) && IsIgnored(frame) && !IsUsersEntry(frame))
            .Select(f => f.i)];

    private static bool IsUsersEntry(StackFrame frame) =>
        frame.Function is "LLVMFuzzerTestOneInput"
        || frame.Function is "main" && frame.File is { } file && !IgnoredLocation.IsMatch(file);

    public static bool IsIgnored(StackFrame frame)
    {
        if (frame.Function is null)
        {
            // An unsymbolized frame says nothing stable; one in a system library never holds the bug.
            return true;
        }

        return IgnoredFunction.IsMatch(frame.Function)
            || frame.File is { } file && IgnoredLocation.IsMatch(file)
            || frame.Module is { } module && IgnoredLocation.IsMatch(module);
    }

    private static (string Type, string? Access, int ErrorLine) Classify(string[] lines, string? findingKind)
    {
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (SanitizerError().Match(line) is { Success: true } error)
            {
                var tool = error.Groups["tool"].Value;
                var description = error.Groups["description"].Value.Trim();
                if (tool == "LeakSanitizer")
                {
                    return (LeakType(lines, i), null, LeakStackStart(lines, i));
                }

                if (tool == "libFuzzer")
                {
                    return (LibFuzzerType(description), null, i);
                }

                return ClassifySanitizer(description, lines, i);
            }

            if (RuntimeError().Match(line) is { Success: true } runtime)
            {
                var type = UndefinedBehaviorTypes.FirstOrDefault(t => t.Pattern.IsMatch(runtime.Groups["description"].Value)).Type
                           ?? "Undefined-behavior";
                var space = type.IndexOf(' ');
                return space < 0 ? (type, null, i) : (type[..space], type[(space + 1)..], i);
            }
        }

        if (lines.Any(l => l.Contains(SandboxMemoryKill, StringComparison.Ordinal)))
        {
            return ("Out-of-memory", null, -1);
        }

        // No report at all (a target without sanitizers that died of a signal, or an engine's own artifact name).
        var fallback = findingKind switch
        {
            CrashKinds.Timeout => "Timeout",
            CrashKinds.OutOfMemory => "Out-of-memory",
            CrashKinds.Leak => "Direct-leak",
            _ => "Deadly signal",
        };
        return (fallback, null, -1);
    }

    private static (string Type, string? Access, int ErrorLine) ClassifySanitizer(string description, string[] lines, int errorLine)
    {
        var word = description.Split(' ', 2)[0].TrimEnd(':', '.');
        switch (word)
        {
            case "SEGV" or "access-violation":
            {
                var address = SegvAddress().Match(description);
                var isNull = address.Success && long.TryParse(address.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value)
                                             && value < NullDereferenceBoundary;
                var segvAccess = SegvAccess(lines, errorLine);
                return (isNull ? "Null-dereference" : "UNKNOWN", segvAccess, errorLine);
            }

            case "stack-overflow":
                return ("Stack-overflow", null, errorLine);
            case "ABRT":
                return ("Abrt", null, errorLine);
            case "FPE":
                return ("Floating-point-exception", null, errorLine);
            case "ILL":
                return ("Ill", null, errorLine);
            case "BUS":
                return ("Bus-error", null, errorLine);
            case "TRAP":
                return ("Trap", null, errorLine);
            case "attempting":
                return (description.Contains("double-free", StringComparison.Ordinal) ? "Heap-double-free" : "Bad-free", null, errorLine);
            case "requested" or "allocation-size-too-big" or "calloc-overflow" or "out-of-memory" or "out" or "allocator":
                return ("Out-of-memory", null, errorLine);
        }

        if (description.StartsWith("failed to allocate", StringComparison.Ordinal))
        {
            return ("Out-of-memory", null, errorLine);
        }

        var type = char.ToUpperInvariant(word[0]) + word[1..];
        return (type, MemoryAccess(lines, errorLine), errorLine);
    }

    private static string LibFuzzerType(string description)
    {
        if (description.StartsWith("timeout", StringComparison.Ordinal))
        {
            return "Timeout";
        }

        if (description.StartsWith("out-of-memory", StringComparison.Ordinal) || description.Contains("malloc", StringComparison.Ordinal))
        {
            return "Out-of-memory";
        }

        if (description.StartsWith("fuzz target exited", StringComparison.Ordinal))
        {
            return "Unexpected-exit";
        }

        if (description.StartsWith("fuzz target overwrites", StringComparison.Ordinal))
        {
            return "Overwrites-const-input";
        }

        return description.StartsWith("deadly signal", StringComparison.Ordinal) ? "Deadly signal" : "Crash";
    }

    // "READ of size 4 at 0x602000000015 thread T0" on one of the next lines.
    private static string? MemoryAccess(string[] lines, int errorLine)
    {
        for (var i = errorLine + 1; i < Math.Min(lines.Length, errorLine + 4); i++)
        {
            if (AccessLine().Match(lines[i]) is { Success: true } match)
            {
                var size = int.Parse(match.Groups["size"].Value, CultureInfo.InvariantCulture);
                var shown = size > LargestShownAccess ? "{*}" : size.ToString(CultureInfo.InvariantCulture);
                return $"{match.Groups["access"].Value.ToUpperInvariant()} {shown}";
            }
        }

        return null;
    }

    // "==1==The signal is caused by a READ memory access."
    private static string? SegvAccess(string[] lines, int errorLine)
    {
        for (var i = errorLine + 1; i < Math.Min(lines.Length, errorLine + 6); i++)
        {
            if (SignalAccess().Match(lines[i]) is { Success: true } match)
            {
                return match.Groups[1].Value;
            }
        }

        return null;
    }

    private static string LeakType(string[] lines, int errorLine)
    {
        for (var i = errorLine + 1; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("Direct leak of", StringComparison.Ordinal))
            {
                return "Direct-leak";
            }

            if (lines[i].StartsWith("Indirect leak of", StringComparison.Ordinal))
            {
                return "Indirect-leak";
            }
        }

        return "Direct-leak";
    }

    // A leak's stack is the allocation stack of its first (direct, when there is one) leak.
    private static int LeakStackStart(string[] lines, int errorLine)
    {
        for (var i = errorLine + 1; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("Direct leak of", StringComparison.Ordinal))
            {
                return i;
            }
        }

        return errorLine;
    }

    // The first run of consecutive frame lines after the error line (so "freed by thread" and "previously allocated
    // by" stacks that follow never mix in).
    private static List<StackFrame> StackAfter(string[] lines, int fromLine)
    {
        var frames = new List<StackFrame>();
        if (fromLine < 0)
        {
            return frames;
        }

        for (var i = fromLine + 1; i < lines.Length; i++)
        {
            if (StackFrame.TryParse(lines[i], out var frame))
            {
                frames.Add(frame);
            }
            else if (frames.Count > 0)
            {
                break;
            }
        }

        return frames;
    }

    [GeneratedRegex(@"==\d+==\s*ERROR:\s*(?<tool>[A-Za-z]+Sanitizer|libFuzzer):\s*(?<description>.*)$")]
    private static partial Regex SanitizerError();

    [GeneratedRegex(@":\d+(:\d+)?: runtime error: (?<description>.*)$")]
    private static partial Regex RuntimeError();

    [GeneratedRegex(@"^\s*(?<access>READ|WRITE|Read|Write|ACCESS) of size (?<size>\d+) at ")]
    private static partial Regex AccessLine();

    [GeneratedRegex(@"on unknown address (?:0x)?([0-9a-fA-F]+)")]
    private static partial Regex SegvAddress();

    [GeneratedRegex(@"The signal is caused by a (READ|WRITE|UNKNOWN) memory access")]
    private static partial Regex SignalAccess();
}
