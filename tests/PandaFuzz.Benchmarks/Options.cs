using System.Globalization;

namespace PandaFuzz.Benchmarks;

/// <summary>A command line that cannot be run; the message says why.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The parsed command line (plain parsing, no package).</summary>
public sealed record BenchmarkOptions(
    string Benchmark,
    string Mode,
    int Pairs,
    int Seconds,
    IReadOnlyList<string> Engines,
    int Core,
    int? ParkCore,
    IReadOnlyList<int> Cores,
    string? TargetSource,
    string OutputDir,
    string NodeBuildDir,
    bool KeepWork,
    int Rounds,
    int Reports,
    IReadOnlyList<string> ConfigOverrides)
{
    public const string Overhead = "overhead";
    public const string Ensemble = "ensemble";
    public const string Dedup = "dedup";
    public const string Journal = "journal";
    public const string Recovery = "recovery";
    public const string Scale = "scale";
    public const string Failover = "failover";
    public const string FirstCrash = "first-crash";
    public const string Scheduling = "scheduling";
    public const string Bugs = "bugs";
    public const string Coverage = "coverage";
    public const string Suite = "suite";

    /// <summary>overhead: a master-only node on the park core and a bot-only node on the fuzzer's core, instead of one all-in-one node.</summary>
    public bool Split { get; init; }

    /// <summary>suite: the benchmarks to run (empty: all of them).</summary>
    public IReadOnlyList<string> Only { get; init; } = [];

    /// <summary>scale: simulated bots in all, the bot-only node processes they are spread over, slots per bot, queued jobs.</summary>
    public int Bots { get; init; }

    public int BotProcesses { get; init; }

    public int Slots { get; init; }

    public int Jobs { get; init; }

    /// <summary>scale: the simulated bots' data dirs on disk (under the work dir) instead of tmpfs (/dev/shm).</summary>
    public bool BotDataOnDisk { get; init; }

    /// <summary>scale: no warm-up fill before the measured one (every bot resumed at once into cold processes).</summary>
    public bool ScaleCold { get; init; }

    /// <summary>coverage: the corpus sizes whose reports are timed (the largest is the one reported on during the exec/s windows).</summary>
    public IReadOnlyList<int> Inputs { get; init; } = [];

    /// <summary>coverage: the fuzzing job's process pinned to --core, the node (and so the coverage jobs it starts) to the other cores.</summary>
    public bool PinFuzzer { get; init; }

    /// <summary>
    /// ensemble: a CMPLOG build too (AFL_LLVM_CMPLOG=1): the standalone secondary runs it (-S sec -c), and the PandaFuzz side
    /// fuzzes a named target whose build holds it, so the campaign's only AFL++ job runs it (-c).
    /// </summary>
    public bool Cmplog { get; init; }

    public static readonly string Usage =
        """
        Usage: dotnet run -c Release --project tests/PandaFuzz.Benchmarks -- <benchmark> [options]

        Benchmarks:
          suite      every measure below (but journal) in one run, each benchmark in its own process, one after the other;
                     one table and one JSON; --quick: shortened runs (roughly half an hour in all), --full: each one's full mode
          overhead   fuzzer exec/s under a PandaFuzz bot vs. the same fuzzer command standalone, A/B interleaved,
                     libFuzzer and AFL++, one core (goal: median ratio >= 0.98)
          ensemble   edges after a fixed time: 2-job PandaFuzz ensemble (libFuzzer + AFL++) vs. afl-fuzz -M + -S,
                     same 2 cores, measured with afl-showmap -C on each side's corpus (goal: ratio >= 1.0)
          dedup      crash reports de-duplicated per second by an in-process master on SQLite, 1 % unique, vs. raw
                     journal events/s in the same run (goal: median >= 10,000 reports/s)
          journal    journal events persisted per second under each set of SQLite pragmas (the shipped
                     synchronous=FULL + busy_timeout vs NORMAL and vs SQLite's defaults), A/B interleaved
          recovery   master-only node restart on a generated journal of ~1M events vs. an empty one, interleaved: time to
                     /health/ready (goal: median <= 10 s) and until every campaign answers with its expected state; RSS;
                     journal events/s at the shipped settings; read-model projection lag at 500 events/s (goal: p99 <= 1 s)
          scale      control plane with the simulated engine: a master-only node, simulated bots in bot-only node processes,
                     a queue of simulated jobs; assignments/s while the bots fill their slots (goal: >= 1,000/s), stats
                     updates/s and their lag (goal: p99 <= 10 s), crash reports/s, master RSS (goal: <= 1 GiB)
          failover   a master-only node and two bot-only nodes; the bot running a long libFuzzer job is SIGKILLed with its
                     fuzzer: time until the job's fuzzer runs on the other bot, with the shipped failure-detector and
                     downing settings (goal: median <= 15 s) and with shorter ones (--set), phases from the node logs
          first-crash time to the first crash of a planted bug: a 1-job PandaFuzz campaign (HTTP submit -> crash listed by
                     the API) vs. the bot's fuzzer command standalone (start -> crash artifact written), A/B interleaved
                     pairs with different seeds, fuzzer on one core (goal: median ratio <= 1.1)
          scheduling HTTP submit of a 1-job campaign -> its fuzzer process started on the bot (start time from
                     /proc/<pid>/stat), one submission at a time into a free slot (goals: p50 <= 100 ms, p99 <= 500 ms)
          bugs       distinct known bugs found on multi-bug targets (tests/targets/bug_farm.c, bug_pair.c) in the same time on the
                     same cores: PandaFuzz libFuzzer, AFL++ and ensemble campaigns vs. libFuzzer -fork=N and afl-fuzz -M/-S, and
                     how PandaFuzz groups them (goals: bugs >= 1.0 x the best standalone side; groups = bugs found, no split or
                     merge; every group's reproducible flag right)
          coverage   a coverage report's cost: seconds per 1,000 corpus inputs (POST /campaigns/{id}/coverage -> report available), on
                     a real node; and a 1-job libFuzzer campaign's exec/s with coverage reports running back to back in the bot's
                     other slot vs. without, A/B interleaved on a 2-slot node (goal: median ratio >= 0.98)

        Options:
          --quick               overhead: 5 pairs x 20 s; ensemble: 2 pairs x 60 s; dedup: 3 rounds x 5,000 reports;
                                journal: 5 trials x 2,000 events; recovery: 3 trials on ~200,000 events, lag for 30 s;
                                failover: 3 trials per settings; first-crash: 5 pairs per engine, each run limited to 120 s;
                                scheduling: 50 submissions; bugs: 2 rounds x 45 s per side and target;
                                coverage: reports of 250 and 1,000 inputs x 3, 5 pairs x 30 s
          --full                overhead: 10 pairs x 60 s; ensemble: 5 pairs x 300 s; dedup: 5 rounds x 20,000 reports;
                                journal: 7 trials x 4,000 events; recovery: 5 trials on ~1,000,000 events, lag for 60 s;
                                failover: 10 trials per settings; first-crash: 20 pairs per engine, each run limited to 180 s;
                                scheduling: 200 submissions (the default); bugs: 5 rounds x 120 s per side and target;
                                coverage: reports of 1,000 and 5,000 inputs x 5, 10 pairs x 60 s
          --pairs N             pairs of runs (overrides the mode)
          --seconds N           length of each run in seconds; recovery: of the projection-lag load; first-crash: the time
                                limit of each run; bugs: each side's run (overrides the mode)
          --rounds N            dedup: rounds, each on a new campaign; journal, recovery, failover: trials; scheduling:
                                submissions; bugs: rounds, each running every side on each target; coverage: reports timed
                                per corpus size (overrides the mode)
          --inputs LIST         coverage: corpus sizes, comma-separated (quick 250,1000; full 1000,5000); the largest is
                                the one reported on during the exec/s pairs
          --cmplog              ensemble: AFL++'s CMPLOG on both sides: a CMPLOG build of the harness (AFL_LLVM_CMPLOG=1),
                                run by the standalone secondary (-S sec -c) and by the PandaFuzz campaign's AFL++ job (-c),
                                which fuzzes a named target whose build holds the libFuzzer, AFL++ and CMPLOG binaries
          --pin-fuzzer          coverage: during the exec/s pairs, the fuzzing job's process on --core (default 1) and the node
                                (with the coverage jobs it starts) on the other cores; default: the node's cores for all, as a bot runs
          --reports N           dedup: crash reports per round, at least 100; journal: events per burst;
                                recovery: events in the generated journal (overrides the mode)
          --only LIST           suite: only these benchmarks, comma-separated
          --split               overhead: the master in a node of its own on the park core, a bot-only node on the fuzzer's
                                core (as a fuzzing machine runs it); default: one all-in-one node on the fuzzer's core
          --bots N              scale: simulated bots (quick 200, full 1,000)
          --bot-processes N     scale: bot-only node processes they are spread over (quick 2, full 4)
          --slots N             scale: slots per simulated bot (default 4)
          --jobs N              scale: queued jobs (quick 5,000, full 100,000)
          --bot-data disk|tmpfs scale: where the simulated bots' data dirs are (default tmpfs, /dev/shm; the master's are on disk)
          --cold                scale: no warm-up (by default a quarter of the bots is resumed and filled first, unmeasured)
          --set KEY=VALUE       dedup: a HOCON setting over the shipped hocon/ files, e.g.
                                --set pandafuzz.master.crash-samples=1 (repeatable; the mode becomes custom); failover: the
                                settings of its second series, given to every node in a PANDAFUZZ_CONFIG file (default
                                akka.cluster.failure-detector.acceptable-heartbeat-pause=2s, pandafuzz.cluster.downing.stable-after=2s)
          --engines LIST        overhead, first-crash: libfuzzer,aflplusplus (default both)
          --core N              overhead, first-crash: the core the fuzzer (and the node during PandaFuzz runs) is pinned to (default 1);
                                coverage with --pin-fuzzer: the fuzzing job's core
          --park-core N|none    overhead, first-crash: where this program, and the idle node during standalone runs, are kept (default 0);
                                none leaves the idle node on --core during standalone runs
          --cores LIST          ensemble: the cores both sides share (default 0,1); scheduling: the node's cores; bugs: the
                                cores every side shares, one job / instance per core (--cores 1: one, and no ensemble side);
                                coverage: the node's cores, one slot each (2 or more; default 0,1)
          --target FILE.c       the harness (default: overhead and scheduling tests/targets/no_bug.c, ensemble
                                tests/PandaFuzz.Benchmarks/targets/bench_parser.c, first-crash
                                tests/PandaFuzz.Benchmarks/targets/staged_bug.c)
          --out DIR             where the JSON result goes (default ./benchmark-results)
          --node-dir DIR        the node build output holding pandafuzz.dll (default src/PandaFuzz.Node/bin/<configuration>/net10.0)
          --keep-work           keep the temporary work dir (logs, corpora) even when everything succeeded

        Exit code: 0 all runs succeeded and the goals were met, 1 a goal was missed, 2 a run failed or bad usage.
        """;

    public static BenchmarkOptions Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
        {
            throw new UsageException("");
        }

        var benchmark = args[0];
        if (benchmark is not (Overhead or Ensemble or Dedup or Journal or Recovery or Scale or Failover or Suite or FirstCrash or Scheduling or Bugs or Coverage))
        {
            throw new UsageException($"Unknown benchmark '{benchmark}'.");
        }

        bool? quick = null;
        int? pairs = null, seconds = null, rounds = null, reports = null, bots = null, botProcesses = null, slots = null, jobs = null;
        IReadOnlyList<string> engines = ["libfuzzer", "aflplusplus"];
        var core = 1;
        int? parkCore = 0;
        IReadOnlyList<int> cores = [0, 1];
        string? target = null;
        var output = Path.Combine(Environment.CurrentDirectory, "benchmark-results");
        var nodeDir = RepoLayout.NodeBuildDir;
        var keep = false;
        IReadOnlyList<string> only = [];
        var split = false;
        var botDataOnDisk = false;
        var cold = false;
        var pinFuzzer = false;
        var cmplog = false;
        IReadOnlyList<int>? inputs = null;
        var overrides = new List<string>();
        for (var i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new UsageException($"{arg} needs a value.");
            switch (arg)
            {
                case "--quick": quick = true; break;
                case "--full": quick = false; break;
                case "--pairs": pairs = Positive(arg, Value()); break;
                case "--seconds": seconds = Positive(arg, Value()); break;
                case "--rounds": rounds = Positive(arg, Value()); break;
                case "--reports": reports = Positive(arg, Value()); break;
                case "--bots": bots = Positive(arg, Value()); break;
                case "--bot-processes": botProcesses = Positive(arg, Value()); break;
                case "--slots": slots = Positive(arg, Value()); break;
                case "--jobs": jobs = Positive(arg, Value()); break;
                case "--only": only = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                case "--engines":
                    engines = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (engines.Count == 0 || engines.Any(e => e is not ("libfuzzer" or "aflplusplus")))
                    {
                        throw new UsageException("--engines takes libfuzzer, aflplusplus or both, comma-separated.");
                    }

                    break;
                case "--core": core = NonNegative(arg, Value()); break;
                case "--park-core":
                    var park = Value();
                    parkCore = park == "none" ? null : NonNegative(arg, park);
                    break;
                case "--cores":
                    try
                    {
                        cores = [.. Cpu.ParseList(Value())];
                    }
                    catch (FormatException)
                    {
                        throw new UsageException("--cores takes a list like 0,1 or 0-3.");
                    }

                    break;
                case "--target": target = Path.GetFullPath(Value()); break;
                case "--out": output = Path.GetFullPath(Value()); break;
                case "--node-dir": nodeDir = Path.GetFullPath(Value()); break;
                case "--keep-work": keep = true; break;
                case "--split": split = true; break;
                case "--cold": cold = true; break;
                case "--pin-fuzzer": pinFuzzer = true; break;
                case "--cmplog": cmplog = true; break;
                case "--inputs":
                    var sizes = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    inputs = [.. sizes.Select(size => Positive(arg, size))];
                    if (inputs.Count == 0 || inputs.Any(size => size > CoverageBenchmark.MaxInputs))
                    {
                        throw new UsageException($"--inputs takes corpus sizes from 1 to {CoverageBenchmark.MaxInputs:N0}, comma-separated.");
                    }

                    break;
                case "--bot-data":
                    botDataOnDisk = Value() switch
                    {
                        "disk" => true,
                        "tmpfs" => false,
                        _ => throw new UsageException("--bot-data takes disk or tmpfs."),
                    };
                    break;
                case "--set":
                    var setting = Value();
                    var equals = setting.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                    {
                        throw new UsageException("--set takes KEY=VALUE, e.g. pandafuzz.master.crash-samples=1.");
                    }

                    overrides.Add($"{setting[..equals].Trim()} = {setting[(equals + 1)..].Trim()}");
                    break;
                default: throw new UsageException($"Unknown option '{arg}'.");
            }
        }

        var isQuick = quick ?? false;
        var (defaultPairs, defaultSeconds) = (benchmark, isQuick) switch
        {
            (Overhead, true) => (5, 20),
            (Overhead, false) => (10, 60),
            (Coverage, true) => (5, 30),
            (Coverage, false) => (10, 60),
            (Recovery or Scale, true) => (0, 30),
            (Recovery or Scale, false) => (0, 60),
            (FirstCrash, true) => (5, 120),
            (Bugs, true) => (0, 45),
            (Bugs, false) => (0, 120),
            (FirstCrash, false) => (20, 180),
            (_, true) => (2, 60),
            _ => (5, 300),
        };
        var (defaultRounds, defaultReports) = (benchmark, isQuick) switch
        {
            (Journal, true) => (5, 2_000),
            (Journal, false) => (7, 4_000),
            (Recovery, true) => (3, 200_000),
            (Recovery, false) => (5, 1_000_000),
            (Failover, true) => (3, 5_000),
            (Failover, false) => (10, 5_000),
            (Scheduling, true) => (50, 5_000),
            (Bugs, true) => (2, 5_000),
            (Bugs, false) => (5, 20_000),
            (Scheduling, false) => (200, 20_000),
            (_, true) => (3, 5_000),
            _ => (5, 20_000),
        };
        var scaleOverridden = bots is not null || botProcesses is not null || slots is not null || jobs is not null || (benchmark == Scale && seconds is not null);
        var overridden = benchmark == Scale ? scaleOverridden
            : benchmark == Coverage ? pairs is not null || seconds is not null || rounds is not null || inputs is not null
            : benchmark == Bugs ? rounds is not null || seconds is not null : benchmark is Dedup or Journal or Recovery or Failover or Scheduling ? rounds is not null || reports is not null || overrides.Count > 0 || (benchmark == Recovery && seconds is not null) : pairs is not null || seconds is not null;
        var mode = overridden ? $"custom ({(isQuick ? "quick" : "full")} with overrides)" : isQuick ? "quick" : "full";
        var options = new BenchmarkOptions(benchmark, mode, pairs ?? defaultPairs, seconds ?? defaultSeconds, engines, core, parkCore, cores,
            target, output, nodeDir, keep, rounds ?? defaultRounds, reports ?? defaultReports, overrides)
        {
            Bots = bots ?? (isQuick ? 200 : 1_000),
            BotProcesses = botProcesses ?? (isQuick ? 2 : 4),
            Slots = slots ?? 4,
            Jobs = jobs ?? (isQuick ? 5_000 : 100_000),
            Only = only,
            Split = split,
            BotDataOnDisk = botDataOnDisk,
            ScaleCold = cold,
            Inputs = [.. (inputs ?? (isQuick ? [250, 1_000] : [1_000, 5_000])).Distinct().Order()],
            PinFuzzer = pinFuzzer,
            Cmplog = cmplog,
        };
        if (only.FirstOrDefault(o => SuiteBenchmark.Steps.All(s => s.Benchmark != o)) is { } unknown)
        {
            throw new UsageException($"--only: '{unknown}' is not one of {string.Join(", ", SuiteBenchmark.Steps.Select(s => s.Benchmark))}.");
        }

        if (options.BotProcesses > options.Bots)
        {
            throw new UsageException("--bot-processes must not exceed --bots.");
        }

        if (options.Seconds < 5)
        {
            throw new UsageException("--seconds must be at least 5.");
        }

        if (options.Reports < DedupBenchmark.UniqueEvery)
        {
            throw new UsageException($"--reports must be at least {DedupBenchmark.UniqueEvery} (1 % of them bring a new signature).");
        }

        if (cmplog && benchmark != Ensemble)
        {
            throw new UsageException("--cmplog is an option of ensemble only.");
        }

        if (benchmark is Overhead or FirstCrash && parkCore == core)
        {
            throw new UsageException("--park-core must differ from --core (or be none).");
        }

        return options;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new UsageException($"{name} takes a positive integer.");

    private static int NonNegative(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new UsageException($"{name} takes a core number.");
}
