using System.Globalization;
using System.Text.RegularExpressions;
using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Engines;

/// <summary>
/// Which engine and sanitizer options a campaign may set, and how they reach the engines' command lines and the
/// sanitizers' environment. Allowlists, not denylists: an option PandaFuzz does not know could break what it relies on
/// (where findings are written, how long a run lasts, what the sanitizer's report looks like). Options PandaFuzz sets
/// itself are refused by name with what to use instead.
/// </summary>
public static partial class EngineOptionRules
{
    /// <summary>A value is one plain word: nothing that could end an <c>ASAN_OPTIONS</c> entry or start another argument.</summary>
    public const string ValueRule = "1-64 characters of letters, digits, '.', '_', '+' or '-'";

    private static readonly Dictionary<string, Value> LibFuzzerFlags = new(StringComparer.Ordinal)
    {
        ["use_value_profile"] = Value.Bool, ["only_ascii"] = Value.Bool, ["max_len"] = Value.Int(1, 16 << 20),
        ["len_control"] = Value.Int(0, 1_000_000), ["mutate_depth"] = Value.Int(1, 10_000), ["prefer_small"] = Value.Bool,
        ["use_cmp"] = Value.Bool, ["use_memmem"] = Value.Bool, ["shrink"] = Value.Bool, ["reduce_inputs"] = Value.Bool,
        ["cross_over"] = Value.Bool, ["entropic"] = Value.Bool, ["detect_leaks"] = Value.Bool, ["malloc_limit_mb"] = Value.Int(0, 1 << 20),
        ["use_counters"] = Value.Bool, ["reduce_depth"] = Value.Bool, ["max_mutation_depth"] = Value.Int(1, 10_000),
    };

    /// <summary>libFuzzer flags that change what one run of an input does, so a reproduction passes them too.</summary>
    private static readonly HashSet<string> LibFuzzerRunFlags = ["detect_leaks", "malloc_limit_mb"];

    private static readonly Dictionary<string, string> LibFuzzerManaged = new(StringComparer.Ordinal)
    {
        ["timeout"] = "set the campaign's timeoutMs", ["rss_limit_mb"] = "set the campaign's memoryLimitMb", ["dict"] = "set the campaign's dictionary",
        ["max_total_time"] = "set the campaign's durationSeconds", ["runs"] = "a job runs for the campaign's durationSeconds",
        ["fork"] = "PandaFuzz runs libFuzzer with -fork=1 (pandafuzz.bot.libfuzzer-fork)", ["jobs"] = "give the campaign more jobs",
        ["workers"] = "give the campaign more jobs", ["artifact_prefix"] = "the bot collects findings itself", ["exact_artifact_path"] = "the bot collects findings itself",
        ["ignore_crashes"] = "the bot keeps fuzzing past findings itself", ["ignore_timeouts"] = "the bot keeps fuzzing past findings itself",
        ["ignore_ooms"] = "the bot keeps fuzzing past findings itself", ["print_final_stats"] = "the bot reads the final stats itself",
        ["merge"] = "use POST /campaigns/{id}/corpus/minimize", ["minimize_crash"] = "the master minimizes every new bug",
        ["reload"] = "the bot shares inputs between jobs itself", ["close_fd_mask"] = "the bot reads the engine's output",
    };

    private static readonly Dictionary<string, Value> AflOptions = new(StringComparer.Ordinal)
    {
        ["p"] = Value.OneOf("explore", "fast", "exploit", "seek", "rare", "mmopt", "coe", "lin", "quad"),
        ["L"] = Value.Int(-1, 60),
        ["l"] = Value.Pattern(CmplogLevel(), "1, 2 or 3, optionally followed by A and/or T (e.g. 2AT)"),
        ["input"] = Value.OneOf("stdin", "file"),
        // Extra dictionaries of the campaign's build bundle, each its own -x beside the campaign's dictionary (afl-fuzz takes
        // at most four); the gateway checks that the bundle holds them.
        ["x"] = Value.Pattern(BundleDictionaries(), $"1 to {MaxBundleDictionaries} paths of .dict files inside the build bundle, separated by commas (e.g. http.dict,common/tokens.dict)"),
    };

    /// <summary>Dictionaries an AFL++ campaign may name in its bundle: with the campaign's own, afl-fuzz's limit of four -x.</summary>
    public const int MaxBundleDictionaries = 3;

    private static readonly Dictionary<string, string> AflManaged = new(StringComparer.Ordinal)
    {
        ["i"] = "the bot gives afl-fuzz the campaign's corpus", ["o"] = "each job has its own output directory", ["M"] = "the first job of a campaign is the main instance",
        ["S"] = "every other job is a secondary", ["V"] = "set the campaign's durationSeconds", ["t"] = "set the campaign's timeoutMs",
        ["m"] = "set the campaign's memoryLimitMb", ["c"] = "upload the build's cmplog binary (kind=cmplog)",
    };

    private static readonly Dictionary<string, HashSet<string>> SanitizerKeys = new(StringComparer.Ordinal)
    {
        [EngineOptions.AsanSection] =
        [
            "detect_stack_use_after_return", "check_initialization_order", "strict_init_order", "strict_string_checks", "detect_container_overflow",
            "detect_odr_violation", "alloc_dealloc_mismatch", "new_delete_type_mismatch", "detect_leaks", "allocator_may_return_null",
            "quarantine_size_mb", "redzone", "max_redzone", "malloc_fill_byte", "max_malloc_fill_size", "detect_invalid_pointer_pairs",
            "check_malloc_usable_size", "intercept_strstr", "intercept_memcmp", "strict_memcmp", "use_sigaltstack", "fast_unwind_on_malloc",
        ],
        [EngineOptions.UbsanSection] = ["silence_unsigned_overflow", "report_error_type", "print_summary"],
        [EngineOptions.MsanSection] = ["poison_in_dtor", "poison_in_malloc", "poison_in_free", "report_umrs", "keep_going"],
    };

    /// <summary>Sanitizer keys the bots set for triage to work: their reports, their exits, their logs.</summary>
    private static readonly HashSet<string> SanitizerManaged =
    [
        "symbolize", "disable_coredump", "handle_abort", "halt_on_error", "abort_on_error", "log_path", "print_stacktrace", "external_symbolizer_path",
        "coverage", "coverage_dir", "exitcode", "suppressions", "log_exe_name", "handle_segv", "handle_sigbus", "handle_sigill", "handle_sigfpe",
    ];

    /// <summary>The environment variable each sanitizer section adds to.</summary>
    public static readonly IReadOnlyDictionary<string, string> SanitizerVariables = new Dictionary<string, string>
    {
        [EngineOptions.AsanSection] = "ASAN_OPTIONS",
        [EngineOptions.UbsanSection] = "UBSAN_OPTIONS",
        [EngineOptions.MsanSection] = "MSAN_OPTIONS",
    };

    /// <summary>Every option the allowlists refuse, as (field, message): the field names the section and the option (<c>libfuzzer.fork</c>).</summary>
    public static IReadOnlyList<(string Field, string Message)> Check(EngineOptions? options)
    {
        var problems = new List<(string, string)>();
        if (options is null)
        {
            return problems;
        }

        foreach (var (key, value) in options.LibFuzzer ?? new Dictionary<string, string>())
        {
            var field = $"{EngineNames.LibFuzzer}.{key}";
            if (LibFuzzerManaged.TryGetValue(key, out var instead))
            {
                problems.Add((field, $"libFuzzer's -{key} is managed by PandaFuzz: {instead}"));
            }
            else if (!LibFuzzerFlags.TryGetValue(key, out var rule))
            {
                problems.Add((field, $"-{key} is not a libFuzzer flag PandaFuzz passes on (allowed: {string.Join(", ", LibFuzzerFlags.Keys.Order(StringComparer.Ordinal))})"));
            }
            else if (rule.Problem(value) is { } problem)
            {
                problems.Add((field, $"-{key}={value}: {problem}"));
            }
        }

        foreach (var (key, value) in options.AflPlusPlus ?? new Dictionary<string, string>())
        {
            var field = $"{EngineNames.AflPlusPlus}.{key}";
            if (AflManaged.TryGetValue(key, out var instead))
            {
                problems.Add((field, $"afl-fuzz's -{key} is managed by PandaFuzz: {instead}"));
            }
            else if (!AflOptions.TryGetValue(key, out var rule))
            {
                problems.Add((field, $"'{key}' is not an AFL++ option PandaFuzz passes on (allowed: p (power schedule), L (MOpt), l (CMPLOG level), input (stdin or file), x (dictionaries of the build bundle))"));
            }
            else if (rule.Problem(value) is { } problem)
            {
                problems.Add((field, $"{key}={value}: {problem}"));
            }
        }

        foreach (var (section, allowed) in SanitizerKeys)
        {
            foreach (var (key, value) in options.Section(section) ?? new Dictionary<string, string>())
            {
                var field = $"{section}.{key}";
                if (SanitizerManaged.Contains(key))
                {
                    problems.Add((field, $"{SanitizerVariables[section]}'s {key} is managed by PandaFuzz: crash triage depends on it"));
                }
                else if (!allowed.Contains(key))
                {
                    problems.Add((field, $"{key} is not one of the {SanitizerVariables[section]} keys PandaFuzz passes on (allowed: {string.Join(", ", allowed.Order(StringComparer.Ordinal))})"));
                }
                else if (!PlainValue().IsMatch(value))
                {
                    problems.Add((field, $"{key}={value}: a value must be {ValueRule}"));
                }
            }
        }

        return problems;
    }

    /// <summary>libFuzzer's flags for a fuzzing run, by name (a stable command line).</summary>
    public static IReadOnlyList<string> LibFuzzerArguments(EngineOptions? options) =>
        [.. (options?.LibFuzzer ?? new Dictionary<string, string>()).OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"-{f.Key}={f.Value}")];

    /// <summary>The libFuzzer flags that change a single run of an input (a reproduction passes them).</summary>
    public static IReadOnlyList<string> LibFuzzerRunArguments(EngineOptions? options) =>
        [.. LibFuzzerArguments(options is null ? null : options with { LibFuzzer = options.LibFuzzer?.Where(f => LibFuzzerRunFlags.Contains(f.Key)).ToDictionary() })];

    /// <summary>
    /// afl-fuzz's options but the input: <c>-p</c>, <c>-L</c>, and <c>-l</c> (the CMPLOG level) for an instance that
    /// runs the CMPLOG binary only, each with its value.
    /// </summary>
    public static IReadOnlyList<string> AflArguments(EngineOptions? options, bool withCmplogLevel = true) =>
        [.. (options?.AflPlusPlus ?? new Dictionary<string, string>())
            .Where(o => o.Key is not ("input" or "x") && (withCmplogLevel || o.Key != "l"))
            .OrderBy(o => o.Key, StringComparer.Ordinal)
            .SelectMany(o => new[] { $"-{o.Key}", o.Value })];

    /// <summary>The bundle dictionaries an AFL++ campaign names (<c>engineOptions.aflplusplus.x</c>), paths inside its bundle.</summary>
    public static IReadOnlyList<string> AflBundleDictionaries(EngineOptions? options) =>
        options?.AflPlusPlus?.GetValueOrDefault("x") is { } list ? list.Split(',') : [];

    /// <summary>The campaign asked for <c>@@</c>: afl-fuzz writes each input to a file and gives its path to the target.</summary>
    public static bool AflReadsFile(EngineOptions? options) => options?.AflPlusPlus?.GetValueOrDefault("input") == "file";

    /// <summary>
    /// The sanitizers' environment: <paramref name="shipped"/> with the campaign's keys after the shipped ones (the
    /// sanitizers take the last value of a key), and a variable of its own for a sanitizer the shipped set leaves alone.
    /// </summary>
    public static IReadOnlyDictionary<string, string> SanitizerEnvironment(IReadOnlyDictionary<string, string> shipped, EngineOptions? options)
    {
        if (options is null)
        {
            return shipped;
        }

        var environment = new Dictionary<string, string>(shipped);
        foreach (var (section, variable) in SanitizerVariables)
        {
            if (options.Section(section) is not { Count: > 0 } keys)
            {
                continue;
            }

            var added = string.Join(':', keys.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}={k.Value}"));
            environment[variable] = environment.TryGetValue(variable, out var before) && before.Length > 0 ? $"{before}:{added}" : added;
        }

        return environment;
    }

    [GeneratedRegex("^[A-Za-z0-9._+-]{1,64}\\z")]
    private static partial Regex PlainValue();

    // Relative paths of plain parts, none of them "." or "..", each ending in .dict; at most three.
    [GeneratedRegex(@"^(?!.*(^|[/,])\.{1,2}(/|,|$))[A-Za-z0-9_+-][A-Za-z0-9._+/-]{0,199}\.dict(,[A-Za-z0-9_+-][A-Za-z0-9._+/-]{0,199}\.dict){0,2}\z")]
    private static partial Regex BundleDictionaries();

    [GeneratedRegex("^[123][AT]{0,2}\\z")]
    private static partial Regex CmplogLevel();

    /// <summary>What one option's value may be.</summary>
    private sealed record Value(Func<string, string?> Problem)
    {
        public static readonly Value Bool = new(v => v is "0" or "1" ? null : "must be 0 or 1");

        public static Value Int(long min, long max) => new(v =>
            long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? null
                : $"must be a whole number from {min} to {max}");

        public static Value OneOf(params string[] choices) => new(v => choices.Contains(v, StringComparer.Ordinal) ? null : $"must be one of {string.Join(", ", choices)}");

        public static Value Pattern(Regex shape, string expected) => new(v => shape.IsMatch(v) ? null : $"must be {expected}");
    }
}
