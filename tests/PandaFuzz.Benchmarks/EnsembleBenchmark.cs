using System.Globalization;
using System.IO.Compression;

namespace PandaFuzz.Benchmarks;

/// <summary>The standalone side of one ensemble pair: afl-fuzz -M main and -S sec, and the tuples of their queues' union.</summary>
public sealed record EnsembleStandaloneSide(long Tuples, int CorpusFiles, IReadOnlyList<AflResult> Instances, string ShowmapCommand);

/// <summary>A job of the ensemble campaign at its end.</summary>
public sealed record EnsembleJob(string Id, int? Index, string? Engine, string State, string? FailureReason, long Execs, long ExecsPerSecond, long Coverage, long CorpusUnits, double? JobSeconds);

/// <summary>
/// The PandaFuzz side of one ensemble pair: the campaign corpus downloaded at the end and its tuples. With --cmplog, the
/// AFL++ job's id, its command line as <c>GET /api/v1/jobs/{id}</c> shows it, and whether that runs the CMPLOG binary (<c>-c</c>).
/// </summary>
public sealed record EnsemblePandaFuzzSide(
    string CampaignId,
    long Tuples,
    int CorpusFiles,
    int? CorpusCount,
    long ArchiveBytes,
    IReadOnlyList<EnsembleJob> Jobs,
    double? NodeCpuSeconds,
    IReadOnlyList<string> FuzzerCores,
    IReadOnlyList<string> FuzzerCommands,
    string ShowmapCommand,
    string? AflJobId = null,
    string? AflCommandLine = null,
    bool? AflRunsCmplog = null);

public sealed record EnsemblePair(int Pair, EnsembleStandaloneSide? Standalone, EnsemblePandaFuzzSide? PandaFuzz, double? Ratio, string? Error);

/// <summary>
/// Edges found after a fixed time: a 2-job PandaFuzz ensemble (libFuzzer + AFL++) versus afl-fuzz -M + -S on the same cores,
/// both measured by afl-showmap -C with the AFL++ build over the corpus each side ends with. With --cmplog, AFL++'s CMPLOG
/// on both sides: the standalone secondary runs the CMPLOG build (-S sec -c), and the campaign fuzzes a named target whose
/// build holds it, so its only AFL++ job runs it (-c).
/// </summary>
public sealed class EnsembleBenchmark(BenchmarkOptions options, Workspace workspace)
{
    public const double Goal = 1.0;

    /// <summary>--cmplog: the named target whose build (1 on the benchmark's fresh node) holds the libFuzzer, AFL++ and CMPLOG binaries.</summary>
    public const string CmplogTargetName = "ensemble-bench";

    /// <summary>The standalone instance that runs the CMPLOG build with --cmplog (AFL++'s advice: one main, one secondary with -c).</summary>
    private const string CmplogInstance = "sec";

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var cores = options.Cores.ToArray();
        var online = Cpu.Online();
        if (cores.Length < 2 || cores.Any(c => !online.Contains(c)))
        {
            throw new UsageException($"--cores must name at least 2 online cores (given {Cpu.Format(cores)}, online {Cpu.Format(online)}).");
        }

        Toolchain.Require(["clang", "afl-clang-fast", "afl-fuzz", "afl-showmap", "taskset"]);
        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        var source = options.TargetSource ?? Path.Combine(RepoLayout.BenchmarkTargets, "bench_parser.c");
        Console.WriteLine($"ensemble: {options.Pairs} pairs x {options.Seconds} s per run, cores {Cpu.Format(cores)}, harness {source}, cmplog: {Flag(options.Cmplog)}");
        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");
        var targets = await Toolchain.BuildAsync(source, workspace.Dir("targets"), cancellationToken, cmplog: options.Cmplog);
        foreach (var command in targets.Commands)
        {
            Console.WriteLine($"built: {command}");
        }

        var pinning = options.Cmplog
            ? $"Both sides get cores {Cpu.Format(cores)}: two `taskset -c {Cpu.Format(cores)} afl-fuzz` (-M main, -S {CmplogInstance} with -c {Path.GetFileName(targets.Cmplog)}, " +
              $"AFL_NO_AFFINITY=1) versus one all-in-one node started with `taskset -c {Cpu.Format(cores)} dotnet pandafuzz.dll` running a 2-job campaign on " +
              $"target {CmplogTargetName}'s build of libFuzzer, AFL++ and CMPLOG binaries (job 0 libFuzzer, job 1 AFL++ with the build's CMPLOG binary, -c). " +
              "The idle node stays up (on the same cores) during standalone runs. cmplog: true."
            : $"Both sides get cores {Cpu.Format(cores)}: two `taskset -c {Cpu.Format(cores)} afl-fuzz` (-M main, -S sec, AFL_NO_AFFINITY=1) versus one all-in-one node " +
              $"started with `taskset -c {Cpu.Format(cores)} dotnet pandafuzz.dll` running a 2-job campaign (job 0 libFuzzer, job 1 AFL++). " +
              "The idle node stays up (on the same cores) during standalone runs. cmplog: false.";
        Console.WriteLine($"pinning: {pinning}");

        var pairs = new List<EnsemblePair>();
        string nodeCommand;
        double? idleNodeCpu = 0;
        await using (var node = NodeProcess.Start(options.NodeBuildDir, workspace.Root, cores))
        {
            nodeCommand = node.Command;
            using var api = new ApiClient(node.BaseAddress);
            var bot = await node.WaitReadyAsync(api, ["libfuzzer", "aflplusplus"], 2, TimeSpan.FromSeconds(120), cancellationToken);
            Console.WriteLine($"node: pid {node.Pid}, {node.BaseAddress}, bot {bot.Id} with {bot.Capabilities?.Slots} slot(s); log {node.LogPath}");
            var builds = options.Cmplog ? null : new Dictionary<string, string>
            {
                ["libfuzzer"] = await api.UploadTargetAsync("ensemble-libfuzzer", await File.ReadAllBytesAsync(targets.LibFuzzer, cancellationToken), cancellationToken),
                ["aflplusplus"] = await api.UploadTargetAsync("ensemble-afl", await File.ReadAllBytesAsync(targets.Afl, cancellationToken), cancellationToken),
            };
            int? build = options.Cmplog ? await UploadCmplogBuildAsync(api, targets, cancellationToken) : null;

            for (var pair = 1; pair <= options.Pairs; pair++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var prefix = $"[pair {pair}/{options.Pairs}]";
                EnsembleStandaloneSide standalone;
                try
                {
                    var cpuBefore = Cpu.CpuSeconds(node.Pid);
                    standalone = await RunStandaloneAsync(pair, targets.Afl, targets.Cmplog, cores, cancellationToken);
                    idleNodeCpu += Cpu.CpuSeconds(node.Pid) - cpuBefore;
                    Console.WriteLine($"{prefix} afl-fuzz -M/-S: {standalone.Tuples} tuples over {standalone.CorpusFiles} queue entries " +
                                      $"({string.Join(", ", standalone.Instances.Select(i => $"{i.ExecsDone:N0} execs, {i.EdgesFound} edges"))})");
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    workspace.Problem($"pair {pair} standalone failed: {ex.Message}");
                    pairs.Add(new EnsemblePair(pair, null, null, null, $"standalone: {ex.Message}"));
                    continue;
                }

                try
                {
                    var pandaFuzz = await RunPandaFuzzAsync(pair, node, api, builds, build, targets.Afl, cancellationToken);
                    var ratio = standalone.Tuples > 0 ? (double)pandaFuzz.Tuples / standalone.Tuples : double.NaN;
                    Console.WriteLine($"{prefix} pandafuzz ensemble: {pandaFuzz.Tuples} tuples over {pandaFuzz.CorpusFiles} corpus entries " +
                                      $"({string.Join(", ", pandaFuzz.Jobs.Select(j => $"{j.Engine} {j.State} {j.Execs:N0} execs cov {j.Coverage}"))})  ratio {ratio:0.000}");
                    if (options.Cmplog)
                    {
                        Console.WriteLine($"{prefix} pandafuzz AFL++ job {pandaFuzz.AflJobId ?? "(none)"} runs CMPLOG (-c): {Flag(pandaFuzz.AflRunsCmplog)}; " +
                                          $"command line: {pandaFuzz.AflCommandLine ?? "(none)"}");
                    }

                    pairs.Add(new EnsemblePair(pair, standalone, pandaFuzz, ratio, null));
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    workspace.Problem($"pair {pair} PandaFuzz run failed: {ex.Message}");
                    pairs.Add(new EnsemblePair(pair, standalone, null, null, $"pandafuzz: {ex.Message}"));
                }
            }
        }

        var ok = pairs.Where(p => p.Ratio is not null).ToList();
        var summaries = new List<MeasureSummary>
        {
            Summary.Of("edges (afl-showmap -C tuples)", "tuples", [.. ok.Select(p => ((double)p.Standalone!.Tuples, (double)p.PandaFuzz!.Tuples))], Goal,
                "afl-showmap -C with the AFL++ build: union of the -M/-S queues vs. the campaign corpus archive"),
            Summary.Of("corpus entries", "inputs", [.. ok.Select(p => ((double)p.Standalone!.CorpusFiles, (double)p.PandaFuzz!.CorpusFiles))], null,
                "inputs measured on each side; informational"),
        };
        Console.WriteLine();
        Console.WriteLine($"ensemble ({options.Pairs} pairs x {options.Seconds} s, harness {Path.GetFileName(source)}, cores {Cpu.Format(cores)} on both sides, " +
                          $"cmplog: {Flag(options.Cmplog)}):");
        Console.Write(Summary.Table(summaries));
        var sample = ok.FirstOrDefault();
        if (sample is not null)
        {
            Console.WriteLine($"standalone ran: {string.Join("  &  ", sample.Standalone!.Instances.Select(i => i.Command))}");
            if (options.Cmplog)
            {
                Console.WriteLine($"PandaFuzz AFL++ job ran: {sample.PandaFuzz!.AflCommandLine ?? "(no command line)"}");
            }

            Console.WriteLine($"measured with: {sample.Standalone.ShowmapCommand}");
            Console.WriteLine($"PandaFuzz fuzzer processes allowed on core(s) {string.Join(" / ", ok.SelectMany(p => p.PandaFuzz!.FuzzerCores).Distinct())}; " +
                              $"node's own CPU per run, median {Summary.Median([.. ok.Where(p => p.PandaFuzz!.NodeCpuSeconds is not null).Select(p => p.PandaFuzz!.NodeCpuSeconds!.Value)]):0.00} s; " +
                              $"idle node during all standalone runs {idleNodeCpu:0.00} s");
        }

        var report = new
        {
            benchmark = "ensemble",
            mode = options.Mode,
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            settings = new { options.Pairs, options.Seconds, cores, harness = source, goal = Goal, cmplog = options.Cmplog },
            cmplog = options.Cmplog,
            machine,
            pinning,
            commands = new { build = targets.Commands, node = nodeCommand },
            idleNodeCpuSecondsDuringStandalone = idleNodeCpu,
            summary = summaries,
            measures = summaries,
            pairs,
            problems = workspace.Problems,
        };
        var path = Summary.WriteJson(report, options.OutputDir, "ensemble", startedAt);
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();

        if (pairs.Any(p => p.Error is not null))
        {
            workspace.Failed = true;
            return 2;
        }

        // --cmplog measured without CMPLOG on the PandaFuzz side is not the comparison asked for.
        if (options.Cmplog && ok.Any(p => p.PandaFuzz!.AflRunsCmplog != true))
        {
            workspace.Failed = true;
            return 2;
        }

        return summaries.All(s => s.GoalMet != false) ? 0 : 1;
    }

    private static string Flag(bool? value) => value switch { true => "true", false => "false", null => "unknown" };

    /// <summary>
    /// --cmplog: the libFuzzer binary as a new build of <see cref="CmplogTargetName"/>, then the AFL++ and CMPLOG binaries
    /// added to that build; returns its number.
    /// </summary>
    private static async Task<int> UploadCmplogBuildAsync(ApiClient api, BuiltTargets targets, CancellationToken cancellationToken)
    {
        var build = await api.UploadTargetBinaryAsync(CmplogTargetName, "libfuzzer", null, await File.ReadAllBytesAsync(targets.LibFuzzer, cancellationToken), cancellationToken);
        foreach (var (kind, path) in new[] { ("aflplusplus", targets.Afl), ("cmplog", targets.Cmplog!) })
        {
            var added = await api.UploadTargetBinaryAsync(CmplogTargetName, kind, build, await File.ReadAllBytesAsync(path, cancellationToken), cancellationToken);
            if (added != build)
            {
                throw new ApiException($"POST /api/v1/targets?name={CmplogTargetName}&kind={kind}&build={build} answered build {added}.");
            }
        }

        Console.WriteLine($"target: {CmplogTargetName} build {build} with kinds libfuzzer, aflplusplus, cmplog");
        return build;
    }

    private async Task<EnsembleStandaloneSide> RunStandaloneAsync(int pair, string target, string? cmplogTarget, int[] cores, CancellationToken cancellationToken)
    {
        var runDir = workspace.Dir("runs", $"pair{pair:D2}-standalone");
        var instances = await Standalone.RunAflAsync(target, cores, options.Seconds, runDir, [("-M", "main"), ("-S", "sec")], cancellationToken,
            cmplogTarget is null ? null : (CmplogInstance, cmplogTarget));
        var output = Path.Combine(runDir, "out");

        // The union of both queues, each file under a name that keeps the two apart.
        var union = Path.Combine(runDir, "union");
        Directory.CreateDirectory(union);
        var files = 0;
        foreach (var instance in new[] { "main", "sec" })
        {
            var queue = Path.Combine(output, instance, "queue");
            foreach (var file in Directory.Exists(queue) ? Directory.EnumerateFiles(queue) : [])
            {
                if (!Path.GetFileName(file).StartsWith('.'))
                {
                    File.Copy(file, Path.Combine(union, $"{instance}_{files++:D6}"));
                }
            }
        }

        var (tuples, command) = await Standalone.CountTuplesAsync(target, union, Path.Combine(runDir, "showmap.log"), cancellationToken);
        return new EnsembleStandaloneSide(tuples, files, instances, command);
    }

    private async Task<EnsemblePandaFuzzSide> RunPandaFuzzAsync(
        int pair, NodeProcess node, ApiClient api, Dictionary<string, string>? builds, int? build, string aflTarget, CancellationToken cancellationToken)
    {
        var runDir = workspace.Dir("runs", $"pair{pair:D2}-pandafuzz");
        var name = $"ensemble-{pair.ToString(CultureInfo.InvariantCulture)}";
        object request = build is { } number
            ? new
            {
                name,
                target = CmplogTargetName,
                build = number,
                engines = new[] { "libfuzzer", "aflplusplus" },
                jobs = 2,
                durationSeconds = options.Seconds,
                memoryLimitMb = Standalone.MemoryLimitMb,
                timeoutMs = Standalone.TimeoutMs,
            }
            : new
            {
                name,
                targets = builds,
                jobs = 2,
                durationSeconds = options.Seconds,
                memoryLimitMb = Standalone.MemoryLimitMb,
                timeoutMs = Standalone.TimeoutMs,
            };
        var outcome = await CampaignRunner.RunAsync(node, api, request, options.Seconds, cancellationToken);
        var jobs = (outcome.Final.Jobs ?? []).OrderBy(j => j.Index).Select(j => new EnsembleJob(
            j.Id, j.Index, j.Engine, j.State, j.FailureReason, j.Stats?.Execs ?? 0, j.Stats?.ExecsPerSecond ?? 0, j.Stats?.Coverage ?? 0, j.Stats?.CorpusUnits ?? 0,
            j.StartedAt is { } s && j.FinishedAt is { } f ? (f - s).TotalSeconds : null)).ToList();
        if (jobs.Count != 2 || jobs.Any(j => !string.Equals(j.State, "completed", StringComparison.OrdinalIgnoreCase)))
        {
            workspace.Problem($"pair {pair}: campaign {outcome.CampaignId} ended '{outcome.Final.Status}' with jobs " +
                              string.Join("; ", jobs.Select(j => $"{j.Index} {j.Engine} {j.State}{(j.FailureReason is null ? "" : ": " + j.FailureReason)}")));
        }

        // The corpus as a user gets it once the campaign has completed.
        var zip = Path.Combine(runDir, "corpus.zip");
        var archiveBytes = await api.DownloadCorpusArchiveAsync(outcome.CampaignId, zip, cancellationToken);
        int? corpusCount = null;
        try
        {
            corpusCount = (await api.GetCorpusAsync(outcome.CampaignId, cancellationToken)).Count;
        }
        catch (Exception ex) when (ex is ApiException or HttpRequestException)
        {
            workspace.Problem($"pair {pair}: GET corpus of {outcome.CampaignId} failed: {ex.Message}");
        }

        var corpus = Path.Combine(runDir, "corpus");
        Directory.CreateDirectory(corpus);
        var files = 0;
        using (var archive = ZipFile.OpenRead(zip))
        {
            foreach (var entry in archive.Entries.Where(e => !e.FullName.EndsWith('/')))
            {
                // Flat names: entries are content hashes, but never trust a path from an archive.
                entry.ExtractToFile(Path.Combine(corpus, $"entry_{files++:D6}"));
            }
        }

        if (files == 0)
        {
            throw new InvalidOperationException($"The corpus archive of campaign {outcome.CampaignId} is empty ({archiveBytes} bytes).");
        }

        if (corpusCount is { } count && count != files)
        {
            workspace.Problem($"pair {pair}: the corpus archive holds {files} inputs, GET corpus says {count}");
        }

        var (tuples, command) = await Standalone.CountTuplesAsync(aflTarget, corpus, Path.Combine(runDir, "showmap.log"), cancellationToken);
        var side = new EnsemblePandaFuzzSide(outcome.CampaignId, tuples, files, corpusCount, archiveBytes, jobs, outcome.NodeCpuSeconds,
            outcome.FuzzerCores, outcome.FuzzerCommands, command);
        return options.Cmplog ? await WithAflCommandLineAsync(pair, api, side, cancellationToken) : side;
    }

    /// <summary>
    /// --cmplog: the AFL++ job's command line as <c>GET /api/v1/jobs/{id}</c> shows it, and whether it runs the build's
    /// CMPLOG binary (<c> -c </c>); a job without it is a problem of the run.
    /// </summary>
    private async Task<EnsemblePandaFuzzSide> WithAflCommandLineAsync(int pair, ApiClient api, EnsemblePandaFuzzSide side, CancellationToken cancellationToken)
    {
        var afl = side.Jobs.Where(j => string.Equals(j.Engine, "aflplusplus", StringComparison.OrdinalIgnoreCase)).ToList();
        if (afl.Count != 1)
        {
            workspace.Problem($"pair {pair}: campaign {side.CampaignId} has {afl.Count} AFL++ jobs, not 1");
            return side with { AflRunsCmplog = false };
        }

        string? commandLine;
        try
        {
            commandLine = (await api.GetJobAsync(afl[0].Id, cancellationToken)).CommandLine;
        }
        catch (Exception ex) when (ex is ApiException or HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            workspace.Problem($"pair {pair}: GET /api/v1/jobs/{afl[0].Id} failed: {ex.Message}");
            return side with { AflJobId = afl[0].Id, AflRunsCmplog = false };
        }

        var cmplog = commandLine?.Contains(" -c ", StringComparison.Ordinal) == true;
        if (!cmplog)
        {
            workspace.Problem($"pair {pair}: the AFL++ job {afl[0].Id} of campaign {side.CampaignId} ran without the build's CMPLOG binary (no -c in its command line: " +
                              $"{commandLine ?? "none shown by GET /api/v1/jobs/{id}"})");
        }

        return side with { AflJobId = afl[0].Id, AflCommandLine = commandLine, AflRunsCmplog = cmplog };
    }
}
