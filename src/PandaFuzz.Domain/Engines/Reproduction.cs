using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Engines;

/// <summary>
/// How one input of a job's target is rerun: the same arguments and sanitizer options on a bot (triage, minimization
/// checks, fix verification) and on a user's machine (the command every crash and bug shows).
/// </summary>
public static class Reproduction
{
    /// <summary>Symbolized stacks, no core dumps, leaks reported, abort() with its stack, undefined behaviour fatal: as ClusterFuzz runs targets.</summary>
    public static readonly IReadOnlyDictionary<string, string> Sanitizers = new Dictionary<string, string>
    {
        ["ASAN_OPTIONS"] = "symbolize=1:disable_coredump=1:detect_leaks=1:handle_abort=1",
        ["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1",
    };

    /// <summary>
    /// The arguments before the input: libFuzzer's limits and one run; an AFL++ build with the libFuzzer-style driver
    /// runs the files it is given once and takes no flags.
    /// </summary>
    public static ReproduceCommand For(JobSpec spec)
    {
        // The campaign's sanitizer options change what a run finds; of libFuzzer's flags, only those that change a single run.
        var sanitizers = EngineOptionRules.SanitizerEnvironment(Sanitizers, spec.Options);
        return spec.Engine == EngineNames.AflPlusPlus
            ? new ReproduceCommand(spec.Engine, spec.TargetLabel, [], sanitizers)
            : new ReproduceCommand(spec.Engine, spec.TargetLabel,
                [$"-rss_limit_mb={spec.MemoryLimitMb}", $"-timeout={TimeoutSeconds(spec.TimeoutMs)}", .. EngineOptionRules.LibFuzzerRunArguments(spec.Options), "-runs=1"],
                sanitizers);
    }

    /// <summary>libFuzzer's -timeout is whole seconds: a timeout in milliseconds rounds up, never to 0 (no timeout).</summary>
    public static int TimeoutSeconds(int timeoutMs) => Math.Max(1, (timeoutMs + 999) / 1000);

    /// <summary>The name a crash's input has in its bundle and in the command every crash shows.</summary>
    public static string InputName(string signature) => $"crash-{signature}";

    /// <summary>One shell line: the environment, the target, its arguments and the input, each quoted for sh.</summary>
    public static string CommandLine(ReproduceCommand command, string target, string input) =>
        string.Join(' ', [.. command.Environment.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={Quote(e.Value)}"),
            Quote(target), .. command.Arguments.Select(Quote), Quote(input)]);

    /// <summary>A POSIX sh script that reruns <paramref name="input"/> (beside the script) on the target given as its first argument.</summary>
    public static string Script(ReproduceCommand command, string defaultTarget, string input) =>
        $"""
        #!/bin/sh
        # Reruns the crash input with the options the fuzzing bot used ({command.Engine}). Usage: ./reproduce.sh [path/to/target]
        set -u
        here=$(cd "$(dirname "$0")" && pwd)
        target=${"{"}1:-{Quote(defaultTarget)}{"}"}
        exec env {string.Join(' ', command.Environment.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={Quote(e.Value)}"))} "$target" {string.Join(' ', command.Arguments.Select(Quote))} "$here/{input}"

        """;

    /// <summary>How a bot launched an engine, as one shell line: the environment, the program and its arguments, each quoted for sh.</summary>
    public static string CommandLine(string program, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment) =>
        string.Join(' ', [.. environment.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={Quote(e.Value)}"), Quote(program), .. arguments.Select(Quote)]);

    private static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or '=' or ':' or ',' or '+')
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
