using System.Globalization;
using System.IO.Compression;

namespace PandaFuzz.Benchmarks;

/// <summary>The standalone side of one ensemble pair: afl-fuzz -M main and -S sec, and the tuples of their queues' union.</summary>
public sealed record EnsembleStandaloneSide(long Tuples, int CorpusFiles, IReadOnlyList<AflResult> Instances, string ShowmapCommand);

/// <summary>A job of the ensemble campaign at its end.</summary>
public sealed record EnsembleJob(string Id, int? Index, string? Engine, string State, string? FailureReason, long Execs, long ExecsPerSecond, long Coverage, long CorpusUnits, double? JobSeconds);

/// <summary>The PandaFuzz side of one ensemble pair: the campaign corpus downloaded at the end and its tuples.</summary>
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
    string ShowmapCommand);

public sealed record EnsemblePair(int Pair, EnsembleStandaloneSide? Standalone, EnsemblePandaFuzzSide? PandaFuzz, double? Ratio, string? Error);

/// <summary>
/// Edges found after a fixed time: a 2-job PandaFuzz ensemble (libFuzzer + AFL++) versus afl-fuzz -M + -S on the same cores,
/// both measured by afl-showmap -C with the AFL++ build over the corpus each side ends with.
/// </summary>
public sealed class EnsembleBenchmark(BenchmarkOptions options, Workspace workspace)
{
    public const double Goal = 1.0;

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
        Console.WriteLine($"ensemble: {options.Pairs} pairs x {options.Seconds} s per run, cores {Cpu.Format(cores)}, harness {source}");
        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");
        var targets = await Toolchain.BuildAsync(source, workspace.Dir("targets"), cancellationToken);
        foreach (var command in targets.Commands)
        {
            Console.WriteLine($"built: {command}");
        }

        var pinning =
            $"Both sides get cores {Cpu.Format(cores)}: two `taskset -c {Cpu.Format(cores)} afl-fuzz` (-M main, -S sec, AFL_NO_AFFINITY=1) versus one all-in-one node " +
            $"started with `taskset -c {Cpu.Format(cores)} dotnet pandafuzz.dll` running a 2-job campaign (job 0 libFuzzer, job 1 AFL++). " +
            "The idle node stays up (on the same cores) during standalone runs.";
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
            var builds = new Dictionary<string, string>
            {
                ["libfuzzer"] = await api.UploadTargetAsync("ensemble-libfuzzer", await File.ReadAllBytesAsync(targets.LibFuzzer, cancellationToken), cancellationToken),
                ["aflplusplus"] = await api.UploadTargetAsync("ensemble-afl", await File.ReadAllBytesAsync(targets.Afl, cancellationToken), cancellationToken),
            };

            for (var pair = 1; pair <= options.Pairs; pair++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var prefix = $"[pair {pair}/{options.Pairs}]";
                EnsembleStandaloneSide standalone;
                try
                {
                    var cpuBefore = Cpu.CpuSeconds(node.Pid);
                    standalone = await RunStandaloneAsync(pair, targets.Afl, cores, cancellationToken);
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
                    var pandaFuzz = await RunPandaFuzzAsync(pair, node, api, builds, targets.Afl, cancellationToken);
                    var ratio = standalone.Tuples > 0 ? (double)pandaFuzz.Tuples / standalone.Tuples : double.NaN;
                    Console.WriteLine($"{prefix} pandafuzz ensemble: {pandaFuzz.Tuples} tuples over {pandaFuzz.CorpusFiles} corpus entries " +
                                      $"({string.Join(", ", pandaFuzz.Jobs.Select(j => $"{j.Engine} {j.State} {j.Execs:N0} execs cov {j.Coverage}"))})  ratio {ratio:0.000}");
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
        Console.WriteLine($"ensemble ({options.Pairs} pairs x {options.Seconds} s, harness {Path.GetFileName(source)}, cores {Cpu.Format(cores)} on both sides):");
        Console.Write(Summary.Table(summaries));
        var sample = ok.FirstOrDefault();
        if (sample is not null)
        {
            Console.WriteLine($"standalone ran: {string.Join("  &  ", sample.Standalone!.Instances.Select(i => i.Command))}");
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
            settings = new { options.Pairs, options.Seconds, cores, harness = source, goal = Goal },
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

        return summaries.All(s => s.GoalMet != false) ? 0 : 1;
    }

    private async Task<EnsembleStandaloneSide> RunStandaloneAsync(int pair, string target, int[] cores, CancellationToken cancellationToken)
    {
        var runDir = workspace.Dir("runs", $"pair{pair:D2}-standalone");
        var instances = await Standalone.RunAflAsync(target, cores, options.Seconds, runDir, [("-M", "main"), ("-S", "sec")], cancellationToken);
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
        int pair, NodeProcess node, ApiClient api, Dictionary<string, string> builds, string aflTarget, CancellationToken cancellationToken)
    {
        var runDir = workspace.Dir("runs", $"pair{pair:D2}-pandafuzz");
        var request = new
        {
            name = $"ensemble-{pair.ToString(CultureInfo.InvariantCulture)}",
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
        return new EnsemblePandaFuzzSide(outcome.CampaignId, tuples, files, corpusCount, archiveBytes, jobs, outcome.NodeCpuSeconds,
            outcome.FuzzerCores, outcome.FuzzerCommands, command);
    }
}
