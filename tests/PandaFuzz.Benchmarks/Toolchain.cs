namespace PandaFuzz.Benchmarks;

/// <summary>
/// The two builds of one harness: libFuzzer (clang) and AFL++ (afl-clang-fast), both without sanitizers; and when asked
/// for, <paramref name="Cmplog"/>: AFL++'s CMPLOG build (afl-clang-fast with AFL_LLVM_CMPLOG=1), for afl-fuzz's <c>-c</c>.
/// </summary>
public sealed record BuiltTargets(string Source, string LibFuzzer, string Afl, IReadOnlyList<string> Commands, string? Cmplog = null);

/// <summary>Finds the compilers and fuzzers, reports their versions and builds the harnesses.</summary>
public static class Toolchain
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(3);

    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary>Throws naming every missing program and how to install it.</summary>
    public static void Require(IEnumerable<string> programs)
    {
        var missing = programs.Where(p => FindOnPath(p) is null).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"Missing on PATH: {string.Join(", ", missing)}. On Debian/Ubuntu: `apt-get install -y clang libclang-rt-14-dev llvm afl++ util-linux` " +
                "(taskset is in util-linux).");
        }
    }

    /// <summary>The first line a program prints for <paramref name="argument"/> (its version), or "unknown".</summary>
    public static async Task<string> VersionAsync(string program, string argument, CancellationToken cancellationToken)
    {
        try
        {
            var result = await ProcessRunner.RunAsync(program, [argument], TimeSpan.FromSeconds(20), cancellationToken);
            return StripAnsi(result.Output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "unknown");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return "unknown";
        }
    }

    /// <summary>
    /// <c>clang -O1 -fsanitize=fuzzer SRC</c> and <c>afl-clang-fast -O1 -fsanitize=fuzzer SRC</c> into <paramref name="outputDir"/>:
    /// no sanitizer, so exec/s is stable and the two engines run comparable code. With <paramref name="cmplog"/>, the same
    /// afl-clang-fast command again with <c>AFL_LLVM_CMPLOG=1</c> into <c>NAME.cmplog</c>: the CMPLOG build afl-fuzz runs with <c>-c</c>.
    /// </summary>
    public static async Task<BuiltTargets> BuildAsync(string source, string outputDir, CancellationToken cancellationToken, bool cmplog = false)
    {
        if (!File.Exists(source))
        {
            throw new FileNotFoundException($"The harness source {source} does not exist.", source);
        }

        Directory.CreateDirectory(outputDir);
        var name = Path.GetFileNameWithoutExtension(source);
        var libFuzzer = Path.Combine(outputDir, name + "_libfuzzer");
        var afl = Path.Combine(outputDir, name + "_afl");
        var commands = new List<string>
        {
            await CompileAsync("clang", ["-O1", "-fsanitize=fuzzer", source, "-o", libFuzzer], null, outputDir, cancellationToken),
            await CompileAsync("afl-clang-fast", ["-O1", "-fsanitize=fuzzer", source, "-o", afl],
                new Dictionary<string, string> { ["AFL_QUIET"] = "1" }, outputDir, cancellationToken),
        };
        if (!cmplog)
        {
            return new BuiltTargets(source, libFuzzer, afl, commands);
        }

        // AFL++'s CMPLOG build: the AFL++ command with AFL_LLVM_CMPLOG=1 (shown, since it is what makes the build).
        var cmplogTarget = Path.Combine(outputDir, name + ".cmplog");
        commands.Add("AFL_LLVM_CMPLOG=1 " + await CompileAsync("afl-clang-fast", ["-O1", "-fsanitize=fuzzer", source, "-o", cmplogTarget],
            new Dictionary<string, string> { ["AFL_QUIET"] = "1", ["AFL_LLVM_CMPLOG"] = "1" }, outputDir, cancellationToken));
        return new BuiltTargets(source, libFuzzer, afl, commands, cmplogTarget);
    }

    public static string StripAnsi(string text) =>
        System.Text.RegularExpressions.Regex.Replace(text, @"\x1b\[[0-9;]*[A-Za-z]", "");

    private static async Task<string> CompileAsync(
        string compiler, string[] arguments, Dictionary<string, string>? environment, string workingDirectory, CancellationToken cancellationToken)
    {
        var command = ProcessRunner.Describe(compiler, arguments);
        var result = await ProcessRunner.RunAsync(compiler, arguments, BuildTimeout, cancellationToken, workingDirectory, environment);
        if (!result.Succeeded || !File.Exists(arguments[^1]))
        {
            throw new InvalidOperationException($"`{command}` failed (exit {result.ExitCode}{(result.TimedOut ? ", killed at the time limit" : "")}):\n{result.Tail()}");
        }

        return command;
    }
}
