using System.Diagnostics;
using System.Globalization;

namespace PandaFuzz.Benchmarks;

/// <summary>One fuzzing window of the exec/s pairs: a 1-job libFuzzer campaign, with coverage reports running beside it or none.</summary>
/// <param name="ExecsPerSecond">libFuzzer's own final figure, its DONE line as the bot reported it (jobs[0].stats.execsPerSecond): runs / whole seconds.</param>
/// <param name="JobExecsPerSecond">Final execs / the job's startedAt → finishedAt.</param>
/// <param name="FuzzerCpuShare">The fuzzer process's own CPU seconds over its life (its /proc/&lt;pid&gt;/stat, sampled every 250 ms, so up to
/// 250 ms of its end is missed).</param>
/// <param name="FuzzerCpuSeconds">The fuzzer process's own CPU seconds (up to its last sample).</param>
/// <param name="NodeCpuShare">The node process's own CPU seconds (fuzzers and tools not included) / the job's seconds.</param>
/// <param name="MachineBusyCores">Cores busy on the whole machine (/proc/stat) from the fuzzer's start to the job's end: the fuzzer, the node,
/// the coverage jobs, this program and anything else running.</param>
/// <param name="StealCores">Cores' worth of time the hypervisor took from this VM meanwhile.</param>
/// <param name="OtherCores">Busy cores that were neither the fuzzer nor the node process: the coverage jobs' tools, this program, and
/// anything else on the machine (on the quiet side: this program and the machine's other load).</param>
/// <param name="ReportDuty">The share of the job's time during which a coverage job of a report ran (its startedAt → finishedAt).</param>
public sealed record ExecsWindow(
    int Pair,
    bool WithReports,
    string CampaignId,
    string JobId,
    double ExecsPerSecond,
    long Execs,
    double JobSeconds,
    double JobExecsPerSecond,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    double? FuzzerCpuShare,
    double? FuzzerCpuSeconds,
    double? NodeCpuShare,
    double? MachineBusyCores,
    double? StealCores,
    IReadOnlyList<string> FuzzerCores,
    string? FuzzerCommand,
    int Reports,
    int CachedReports,
    double? ReportDuty,
    IReadOnlyList<CoverageReportRun> ReportRuns,
    string LoadAverage,
    string? Error)
{
    public double? OtherCores => MachineBusyCores - FuzzerCpuShare - NodeCpuShare;

    /// <summary>Executions per second of the fuzzer's own CPU time: what the reports do to the fuzzer beyond taking its core (caches, memory, I/O).</summary>
    public double? ExecsPerCpuSecond => FuzzerCpuSeconds is > 0 ? Execs / FuzzerCpuSeconds : null;
}

/// <summary>One A/B pair: the same campaign without reports and with reports back to back in the bot's other slot.</summary>
public sealed record ExecsPair(int Pair, ExecsWindow? Quiet, ExecsWindow? Reporting, double? Ratio);

/// <summary>
/// What a coverage report costs: seconds per 1,000 corpus inputs from the POST to the report, on a real all-in-one node;
/// and what it takes from a campaign fuzzing on the same bot: a 1-job libFuzzer campaign's exec/s with coverage reports
/// running back to back in the bot's other slot, against the same campaign with none, A/B interleaved.
/// </summary>
public sealed class CoverageBenchmark(BenchmarkOptions options, Workspace workspace)
{
    /// <summary>The campaign keeps at least this share of its exec/s while reports run (median pair ratio).</summary>
    public const double Goal = 0.98;

    /// <summary>The largest corpus a report is timed on: what one corpus upload takes (<c>CorpusArchive.Default</c>).</summary>
    public const int MaxInputs = 100_000;

    private const string CoverageTarget = "coverage-bench-parser";

    /// <summary>How often a report is looked for in the cost runs (the resolution of their times).</summary>
    private static readonly TimeSpan CostPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>Length of each side of the unmeasured warm-up pair.</summary>
    private const int WarmUpSeconds = 10;

    /// <summary>Below this share of a core over its life the quiet side's fuzzer was disturbed by another process.</summary>
    private const double DisturbedBelow = 0.9;

    /// <summary>Below this share of the job's time with a report running, a reporting side measured too little of one.</summary>
    private const double DutyAtLeast = 0.9;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        if (options.TargetSource is not null)
        {
            throw new UsageException("coverage: --target is not taken (the corpora are generated in targets/bench_parser.c's format).");
        }

        var cores = options.Cores.ToArray();
        var online = Cpu.Online();
        if (cores.Length < 2 || cores.Any(c => !online.Contains(c)))
        {
            throw new UsageException($"coverage needs --cores with 2 online cores or more (2 slots), got {Cpu.Format(cores)} (online: {Cpu.Format(online)}).");
        }

        // --pin-fuzzer: the fuzzer on --core, the node (and so the coverage jobs) and this program on the others.
        if (options.PinFuzzer && !cores.Contains(options.Core))
        {
            throw new UsageException($"--core {options.Core} is not one of --cores {Cpu.Format(cores)}.");
        }

        var fuzzerCore = options.Core;
        int[] nodeCores = options.PinFuzzer ? [.. cores.Where(c => c != fuzzerCore)] : cores;
        Toolchain.Require(["clang", "taskset", "llvm-profdata", "llvm-cov"]);
        if (options.Pairs < 5)
        {
            workspace.Problem($"only {options.Pairs} pair(s): the benchmark's medians are meant over at least 5");
        }

        // This program's polling goes on a core the fuzzer does not get: with --pin-fuzzer the node's first; as shipped, the
        // bot pins the first job (the fuzzer) to the core with the fewest interrupts so far, so this program takes the one with
        // the most, as the coverage jobs and the node's own threads will.
        var interrupts = PandaFuzz.Bot.Sandboxing.CoreLeases.InterruptsByCore();
        var programCore = options.PinFuzzer ? nodeCores[0] : nodeCores.OrderByDescending(c => interrupts.GetValueOrDefault(c)).ThenByDescending(c => c).First();
        await Cpu.PinAllThreadsAsync(Environment.ProcessId, [programCore], cancellationToken);
        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        var sizes = options.Inputs;
        var reportInputs = sizes[^1];
        Console.WriteLine($"coverage: reports of {string.Join(" and ", sizes.Select(s => s.ToString("N0", CultureInfo.InvariantCulture)))} inputs x {options.Rounds} " +
                          $"(each on a corpus new to the bot, then again cached); {options.Pairs} pairs x {options.Seconds} s of a 1-job libFuzzer campaign, " +
                          $"without and with reports of {reportInputs:N0} inputs back to back in the other slot");
        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");
        Console.WriteLine($"load average at start: {LoadAverage()}");

        var targetsDir = workspace.Dir("targets");
        var coverageSource = Path.Combine(RepoLayout.BenchmarkTargets, "bench_parser.c");
        var fuzzSource = Path.Combine(RepoLayout.TargetSources, "no_bug.c");
        var reportFuzzer = Path.Combine(targetsDir, "bench_parser_libfuzzer");
        var reportCoverage = Path.Combine(targetsDir, "bench_parser_coverage");
        var fuzzTarget = Path.Combine(targetsDir, "no_bug_libfuzzer");
        List<string> builds =
        [
            await CompileAsync(["-O1", "-fsanitize=fuzzer", coverageSource, "-o", reportFuzzer], cancellationToken),
            await CompileAsync(["-g", "-O1", "-fprofile-instr-generate", "-fcoverage-mapping", "-fsanitize=fuzzer", coverageSource, "-o", reportCoverage], cancellationToken),
            await CompileAsync(["-O1", "-fsanitize=fuzzer", fuzzSource, "-o", fuzzTarget], cancellationToken),
        ];
        foreach (var command in builds)
        {
            Console.WriteLine($"built: {command}");
        }

        var pinning = options.PinFuzzer
            ? $"One all-in-one node started with `taskset -c {Cpu.Format(cores)}` ({cores.Length} slots). For the exec/s pairs the node is moved to core(s) " +
              $"{Cpu.Format(nodeCores)} (`taskset -a -p`), so the coverage jobs it starts run there, and each fuzzing job's process to core {fuzzerCore} once it " +
              $"is seen (--pin-fuzzer, --core). This program runs on core {programCore}."
            : $"One all-in-one node started with `taskset -c {Cpu.Format(cores)}` ({cores.Length} slots), pinning as shipped (pandafuzz.bot.cpu-pinning): " +
              "the fuzzer on a core of its own (the one with the fewest interrupts), the coverage jobs' tools and the node's own threads on the other. " +
              $"This program runs on core {programCore} (the most interrupts so far), where the coverage jobs go.";
        Console.WriteLine($"pinning: {pinning}");
        var clocks =
            "cost: from just before POST /api/v1/campaigns/{id}/coverage until GET /api/v1/campaigns/{id}/coverage answers with that job's report " +
            $"(asked every {CostPoll.TotalMilliseconds:0} ms); the bot's side from the job's startedAt to finishedAt; the pull until the node logs " +
            "\"starts from N inputs\". exec/s: libFuzzer's own figure of each whole job (its DONE line: runs / whole seconds of the run), fuzzing in " +
            "libFuzzer's plain mode (the node runs with libfuzzer-fork = off): the API's live figures of a running job come from status lines that libFuzzer " +
            "prints only at powers of two of its runs (and in -fork mode its children's counts arrive when each child ends), so no window inside a running " +
            "job can be measured to within 2 %; each window is one whole job instead.";
        Console.WriteLine($"clocks: {clocks}");

        var reports = new List<CoverageReportRun>();
        var pairs = new List<ExecsPair>();
        string nodeCommand;
        var environment = new Dictionary<string, string>
        {
            ["PANDAFUZZ__PANDAFUZZ__BOT__SLOTS"] = cores.Length.ToString(CultureInfo.InvariantCulture),
            ["PANDAFUZZ__PANDAFUZZ__BOT__LIBFUZZER_FORK"] = "off",
        };
        await using (var node = NodeProcess.Start(options.NodeBuildDir, workspace.Root, cores, environment: environment))
        {
            nodeCommand = node.Command;
            using var api = new ApiClient(node.BaseAddress);
            var bot = await node.WaitReadyAsync(api, ["libfuzzer"], cores.Length, TimeSpan.FromSeconds(120), cancellationToken);
            Console.WriteLine($"node: pid {node.Pid}, {node.BaseAddress}, bot {bot.Id} with {bot.Capabilities?.Slots} slot(s); log {node.LogPath}");
            await api.UploadTargetBinaryAsync(CoverageTarget, "fuzzer", null, await File.ReadAllBytesAsync(reportFuzzer, cancellationToken), cancellationToken);
            await api.UploadTargetBinaryAsync(CoverageTarget, "coverage", 1, await File.ReadAllBytesAsync(reportCoverage, cancellationToken), cancellationToken);
            var fuzzTargetId = await api.UploadTargetAsync("coverage-fuzz-no-bug", await File.ReadAllBytesAsync(fuzzTarget, cancellationToken), cancellationToken);
            var reporter = new CoverageReporter(node, api, CoverageTarget, workspace);

            // Warm-up, not measured: the node's first coverage job JIT-compiles its path and fetches the coverage binary.
            var (warmUpCampaign, warmUpInputs) = await reporter.PrepareAsync(sizes[0], "coverage-warm-up", cancellationToken);
            await reporter.WaitIdleAsync(bot.Id, cancellationToken);
            var warmUp = await reporter.MeasureAsync(warmUpCampaign, warmUpInputs, 0, false, CostPoll, cancellationToken);
            Console.WriteLine($"[warm-up] {warmUpInputs,6:N0} inputs, new:    {CoverageReporter.Describe(warmUp)}");
            if (warmUp.Error is not null)
            {
                throw new InvalidOperationException($"The warm-up report failed, so the others would too: {warmUp.Error}");
            }

            // (1) The cost: each round, each size on a fresh corpus (new to the bot), then the same report again (cached).
            for (var round = 1; round <= options.Rounds; round++)
            {
                foreach (var size in sizes.Skip((round - 1) % sizes.Count).Concat(sizes.Take((round - 1) % sizes.Count)))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await reporter.WaitIdleAsync(bot.Id, cancellationToken);
                    var (campaign, inputs) = await reporter.PrepareAsync(size, $"coverage-{size}-{round}", cancellationToken);
                    foreach (var cached in new[] { false, true })
                    {
                        await reporter.WaitIdleAsync(bot.Id, cancellationToken);
                        var run = await reporter.MeasureAsync(campaign, inputs, round, cached, CostPoll, cancellationToken);
                        reports.Add(run);
                        Console.WriteLine($"[round {round}/{options.Rounds}] {inputs,6:N0} inputs, {(cached ? "cached:" : "new:   ")} {CoverageReporter.Describe(run)}  (load {LoadAverage()})");
                        if (run.Error is not null)
                        {
                            workspace.Problem($"round {round}, {inputs} inputs{(cached ? ", cached" : "")}: {run.Error}");
                            break;
                        }
                    }
                }
            }

            // (2) The campaign's exec/s beside reports. Each reporting window takes corpora new to the bot from this pool.
            if (options.PinFuzzer)
            {
                await Cpu.PinAllThreadsAsync(node.Pid, nodeCores, cancellationToken);
            }

            var coldSeconds = Summary.Median([.. reports.Where(r => r.Error is null && !r.Cached && r.Inputs == reportInputs).Select(r => r.Seconds)]);
            var pool = new Queue<(string Campaign, int Inputs)>();
            var windows = new CoverageWindows(options, workspace, node, api, reporter, bot.Id, fuzzTargetId, fuzzerCore, warmUpCampaign);
            for (var pair = 0; pair <= options.Pairs; pair++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var seconds = pair == 0 ? WarmUpSeconds : options.Seconds;
                // Enough fresh corpora for the window at the cost measured above, and one more.
                var needed = (int)Math.Ceiling(seconds * 1.3 / (double.IsNaN(coldSeconds) ? 3 : Math.Max(coldSeconds, 1))) + 1;
                await reporter.WaitIdleAsync(bot.Id, cancellationToken);
                while (pool.Count < needed)
                {
                    pool.Enqueue(await reporter.PrepareAsync(reportInputs, $"coverage-pool-{pair}-{pool.Count}", cancellationToken));
                }

                // A/B interleaved: odd pairs quiet first, even pairs reporting first.
                ExecsWindow? quiet = null, reporting = null;
                foreach (var withReports in pair % 2 == 1 ? new[] { false, true } : [true, false])
                {
                    var window = await windows.RunAsync(pair, withReports, seconds, pool, cancellationToken);
                    Console.WriteLine($"{(pair == 0 ? $"[warm-up, {seconds} s]" : $"[pair {pair}/{options.Pairs}]")} {CoverageWindows.Describe(window)}");
                    if (window.Error is not null)
                    {
                        if (pair == 0)
                        {
                            throw new InvalidOperationException($"The warm-up pair failed, so the pairs would too: {window.Error}");
                        }

                        workspace.Problem($"pair {pair}, {(withReports ? "with reports" : "quiet")}: {window.Error}");
                    }

                    if (withReports)
                    {
                        reporting = window;
                    }
                    else
                    {
                        quiet = window;
                    }
                }

                if (pair > 0)
                {
                    CheckWindows(pair, quiet, reporting);
                    var ratio = quiet?.Error is null && reporting?.Error is null && quiet is { ExecsPerSecond: > 0 }
                        ? reporting!.ExecsPerSecond / quiet.ExecsPerSecond
                        : (double?)null;
                    pairs.Add(new ExecsPair(pair, quiet, reporting, ratio));
                    if (ratio is { } r)
                    {
                        Console.WriteLine($"[pair {pair}/{options.Pairs}] ratio {r:0.000}");
                    }
                }
            }
        }

        var measures = CostMeasures(reports, sizes);
        var ok = pairs.Where(p => p.Ratio is not null).ToList();
        measures.Add(Summary.Of("campaign exec/s, coverage reports in the other slot vs. none", "exec/s",
            [.. ok.Select(p => (p.Quiet!.ExecsPerSecond, p.Reporting!.ExecsPerSecond))], Goal,
            $"libFuzzer's own figure of each {options.Seconds} s job (DONE line); reports of {reportInputs:N0} inputs new to the bot, back to back; goal on the median pair ratio"));
        measures.Add(Summary.Of("campaign exec/s over the job's wall-clock, reports vs. none", "exec/s",
            [.. ok.Select(p => (p.Quiet!.JobExecsPerSecond, p.Reporting!.JobExecsPerSecond))], null,
            "final execs / job startedAt -> finishedAt (start-up included); informational"));
        var shares = ok.Where(p => p.Quiet!.FuzzerCpuShare is not null && p.Reporting!.FuzzerCpuShare is not null).ToList();
        measures.Add(Summary.Of("fuzzer CPU share, reports vs. none", "%",
            [.. shares.Select(p => (100 * p.Quiet!.FuzzerCpuShare!.Value, 100 * p.Reporting!.FuzzerCpuShare!.Value))], null,
            "the fuzzer process's CPU seconds / its life (from /proc, sampled); informational"));
        var nodeShares = ok.Where(p => p.Quiet!.NodeCpuShare is not null && p.Reporting!.NodeCpuShare is not null).ToList();
        measures.Add(Summary.Of("node CPU share, reports vs. none", "%",
            [.. nodeShares.Select(p => (100 * p.Quiet!.NodeCpuShare!.Value, 100 * p.Reporting!.NodeCpuShare!.Value))], null,
            "the node process's own CPU seconds (not its jobs' processes) / the job's seconds; informational"));
        var efficiency = ok.Where(p => p.Quiet!.ExecsPerCpuSecond is not null && p.Reporting!.ExecsPerCpuSecond is not null).ToList();
        measures.Add(Summary.Of("fuzzer execs per CPU second, reports vs. none", "exec/s",
            [.. efficiency.Select(p => (p.Quiet!.ExecsPerCpuSecond!.Value, p.Reporting!.ExecsPerCpuSecond!.Value))], null,
            "final execs / the fuzzer's own CPU seconds: the loss that is not CPU time taken from the fuzzer; informational"));
        var busy = ok.Where(p => p.Quiet!.MachineBusyCores is not null && p.Reporting!.MachineBusyCores is not null).ToList();
        measures.Add(Summary.Of("machine busy, reports vs. none", "cores",
            [.. busy.Select(p => (p.Quiet!.MachineBusyCores!.Value, p.Reporting!.MachineBusyCores!.Value))], null,
            "all cores' busy time (/proc/stat) from the fuzzer's start to the job's end, whatever ran; informational"));
        var other = ok.Where(p => p.Quiet!.OtherCores is not null && p.Reporting!.OtherCores is not null).ToList();
        measures.Add(Summary.Of("machine busy besides fuzzer and node, reports vs. none", "cores",
            [.. other.Select(p => (p.Quiet!.OtherCores!.Value, p.Reporting!.OtherCores!.Value))], null,
            "busy cores minus the fuzzer's and the node's shares: the reports' tools, this program, anything else; informational"));

        Console.WriteLine();
        Console.WriteLine($"coverage ({options.Rounds} reports per size; {options.Pairs} pairs x {options.Seconds} s; node on cores {Cpu.Format(cores)}" +
                          $"{(options.PinFuzzer ? ", fuzzer pinned" : "")}; load average now {LoadAverage()}):");
        Console.Write(PhaseTable(reports, sizes));
        Console.WriteLine();
        Console.Write(Summary.Table(measures));
        var duty = ok.Select(p => p.Reporting!.ReportDuty).OfType<double>().ToList();
        if (duty.Count > 0)
        {
            Console.WriteLine($"reports ran during {100 * duty.Min():0}-{100 * duty.Max():0} % of the reporting jobs' time " +
                              $"({ok.Sum(p => p.Reporting!.Reports)} reports, {ok.Sum(p => p.Reporting!.CachedReports)} of them on a corpus already cached)");
        }

        var failed = reports.Count(r => r.Error is not null) + pairs.Count(p => p.Ratio is null) + (options.Pairs - pairs.Count);
        var report = new
        {
            benchmark = BenchmarkOptions.Coverage,
            mode = options.Mode,
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            settings = new
            {
                inputs = sizes,
                reportsPerSize = options.Rounds,
                options.Pairs,
                options.Seconds,
                options.Cores,
                options.PinFuzzer,
                fuzzerCore = options.PinFuzzer ? fuzzerCore : (int?)null,
                reportInputs,
                coverageHarness = coverageSource,
                fuzzHarness = fuzzSource,
                goal = Goal,
                warmUpSeconds = WarmUpSeconds,
                costPollMs = CostPoll.TotalMilliseconds,
                windowPollMs = CoverageWindows.Poll.TotalMilliseconds,
            },
            machine,
            pinning,
            clocks,
            commands = new { build = builds, node = nodeCommand },
            measures,
            reports,
            pairs,
            problems = workspace.Problems,
        };
        var path = Summary.WriteJson(report, options.OutputDir, BenchmarkOptions.Coverage, startedAt);
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();
        if (failed > 0)
        {
            workspace.Failed = true;
            return 2;
        }

        return measures.All(m => m.GoalMet != false) ? 0 : 1;
    }

    private void CheckWindows(int pair, ExecsWindow? quiet, ExecsWindow? reporting)
    {
        if (quiet is { Error: null, FuzzerCpuShare: < DisturbedBelow })
        {
            workspace.Problem($"pair {pair}: the quiet side's fuzzer got only {quiet.FuzzerCpuShare:P0} of a core over its life; another process had its core");
        }

        if (reporting is { Error: null } && (reporting.ReportDuty ?? 0) < DutyAtLeast)
        {
            workspace.Problem($"pair {pair}: reports ran during only {reporting.ReportDuty ?? 0:P0} of the reporting side's job");
        }
    }

    /// <summary>Per corpus size: seconds per 1,000 inputs, new to the bot and cached, and the marginal cost between sizes.</summary>
    private static List<MeasureSummary> CostMeasures(IReadOnlyList<CoverageReportRun> reports, IReadOnlyList<int> sizes)
    {
        var measures = new List<MeasureSummary>();
        List<CoverageReportRun> Of(int size, bool cached) => [.. reports.Where(r => r.Error is null && r.Inputs == size && r.Cached == cached)];
        foreach (var size in sizes)
        {
            var fresh = Of(size, false);
            var cached = Of(size, true);
            measures.Add(Summary.Bounded($"coverage report, {size:N0} inputs new to the bot: s per 1,000 inputs", "s", [.. fresh.Select(r => r.PerThousand)], null, null, true,
                $"POST -> report available; median {Summary.Median([.. fresh.Select(r => r.Seconds)]):0.00} s per report"));
            measures.Add(Summary.Bounded($"  ... the bot's job (startedAt -> finishedAt)", "s", [.. fresh.Select(r => r.JobPerThousand).OfType<double>()], null, null, true,
                $"median {Summary.Median([.. fresh.Select(r => r.JobSeconds).OfType<double>()]):0.00} s per job"));
            measures.Add(Summary.Bounded($"coverage report, {size:N0} inputs cached on the bot: s per 1,000 inputs", "s", [.. cached.Select(r => r.PerThousand)], null, null, true,
                $"the same corpus again; median {Summary.Median([.. cached.Select(r => r.Seconds)]):0.00} s per report"));
        }

        if (sizes.Count >= 2)
        {
            // What each further 1,000 inputs add, and the fixed part, from the medians of the smallest and largest corpus.
            var (small, large) = (sizes[0], sizes[^1]);
            var smallSeconds = Summary.Median([.. Of(small, false).Select(r => r.Seconds)]);
            var largeSeconds = Summary.Median([.. Of(large, false).Select(r => r.Seconds)]);
            var slope = (largeSeconds - smallSeconds) / ((large - small) / 1000.0);
            measures.Add(Summary.Bounded($"coverage report: s per further 1,000 inputs ({small:N0} -> {large:N0}, new)", "s", [slope], null, null, true,
                $"fixed part of a report {smallSeconds - slope * small / 1000.0:0.00} s"));
        }

        return measures;
    }

    /// <summary>Where each report's time goes, medians per corpus size and cache state.</summary>
    private static string PhaseTable(IReadOnlyList<CoverageReportRun> reports, IReadOnlyList<int> sizes)
    {
        string[] header = ["report", "n", "POST -> report", "-> job taken", "-> corpus pulled", "-> job ended", "-> report seen", "s per 1,000", "machine busy"];
        var rows = new List<string[]>();
        foreach (var size in sizes)
        {
            foreach (var cached in new[] { false, true })
            {
                var runs = reports.Where(r => r.Error is null && r.Inputs == size && r.Cached == cached).ToList();
                if (runs.Count == 0)
                {
                    continue;
                }

                string Median(Func<CoverageReportRun, double?> of)
                {
                    var values = runs.Select(of).OfType<double>().ToList();
                    return values.Count == 0 ? "n/a" : Summary.Median(values).ToString("0.00", CultureInfo.InvariantCulture) + " s";
                }

                rows.Add([
                    $"{size:N0} inputs, {(cached ? "cached" : "new")}",
                    runs.Count.ToString(CultureInfo.InvariantCulture),
                    Median(r => r.Seconds),
                    Median(r => r.StartedSeconds),
                    Median(r => r.PulledSeconds - r.StartedSeconds),
                    Median(r => r.FinishedSeconds - r.PulledSeconds),
                    Median(r => r.Seconds - r.FinishedSeconds),
                    Median(r => r.PerThousand),
                    runs.Select(r => r.MachineBusyCores).OfType<double>().ToList() is { Count: > 0 } busy
                        ? Summary.Median(busy).ToString("0.00", CultureInfo.InvariantCulture) + " cores"
                        : "n/a",
                ]);
            }
        }

        return "Each phase from the one before (medians): the bot takes the job, pulls the corpus from the master, runs it through the coverage binary, " +
               "llvm-profdata, llvm-cov export and show and hands the zip over; then the API lists the report. Machine busy: all cores' busy time " +
               "(/proc/stat) over POST -> report, whatever ran (the node, the tools, this program's polling, and anything else on the machine).\n" + Summary.FixedWidth(header, rows);
    }

    private static async Task<string> CompileAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var command = ProcessRunner.Describe("clang", arguments);
        var result = await ProcessRunner.RunAsync("clang", arguments, TimeSpan.FromMinutes(3), cancellationToken, Path.GetDirectoryName(arguments[^1]));
        if (!result.Succeeded || !File.Exists(arguments[^1]))
        {
            throw new InvalidOperationException($"`{command}` failed (exit {result.ExitCode}{(result.TimedOut ? ", killed at the time limit" : "")}):\n{result.Tail()}");
        }

        return command;
    }

    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
