using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace PandaFuzz.Benchmarks;

/// <summary>One benchmark of the suite: its name, the arguments of its quick and full runs.</summary>
public sealed record SuiteStep(string Benchmark, IReadOnlyList<string> Quick, IReadOnlyList<string> Full);

/// <summary>What one step did: its exit code, its JSON and the rows it contributed.</summary>
public sealed record SuiteResult(string Benchmark, IReadOnlyList<string> Arguments, int ExitCode, double Seconds, string? Json, IReadOnlyList<MeasureSummary> Measures);

/// <summary>
/// Every measure of the issue in one run: each benchmark in its own process (one failing or hanging does not take the
/// others with it, and none inherits another's threads or memory), one after the other so none loads the machine under
/// another, then one table of every row and one JSON. Quick: shortened runs, minutes in all, to see that everything
/// works and roughly where it stands; full: each benchmark's full mode, for the figures.
/// </summary>
public sealed class SuiteBenchmark(BenchmarkOptions options, Workspace workspace)
{
    public static readonly IReadOnlyList<SuiteStep> Steps =
    [
        new(BenchmarkOptions.Overhead, ["--pairs", "2", "--seconds", "10"], []),
        new(BenchmarkOptions.FirstCrash, ["--quick", "--rounds", "3"], []),
        new(BenchmarkOptions.Scheduling, ["--quick", "--rounds", "30"], []),
        new(BenchmarkOptions.Failover, ["--quick", "--rounds", "2"], []),
        new(BenchmarkOptions.Scale, ["--quick", "--bots", "200", "--jobs", "2000", "--seconds", "20"], []),
        new(BenchmarkOptions.Recovery, ["--quick", "--rounds", "1", "--reports", "100000", "--seconds", "15"], []),
        new(BenchmarkOptions.Ensemble, ["--pairs", "1", "--seconds", "30"], []),
        new(BenchmarkOptions.Bugs, ["--quick", "--rounds", "1"], []),
        new(BenchmarkOptions.Coverage, ["--quick", "--rounds", "2", "--pairs", "2", "--seconds", "20"], []),
        new(BenchmarkOptions.Dedup, ["--quick"], []),
    ];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var quick = options.Mode.StartsWith("quick", StringComparison.Ordinal);
        var steps = Steps.Where(s => options.Only.Count == 0 || options.Only.Contains(s.Benchmark)).ToList();
        Console.WriteLine($"suite ({(quick ? "quick" : "full")}): {string.Join(", ", steps.Select(s => s.Benchmark))}, one after the other");
        var results = new List<SuiteResult>();
        foreach (var step in steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var outDir = workspace.Dir("results", step.Benchmark);
            string[] arguments = [step.Benchmark, .. quick ? step.Quick : ["--full", .. step.Full], "--out", outDir, "--node-dir", options.NodeBuildDir];
            Console.WriteLine();
            Console.WriteLine($"=== {step.Benchmark}: pandafuzz-bench {string.Join(' ', arguments)}");
            var clock = Stopwatch.StartNew();
            var exit = await RunChildAsync(arguments, cancellationToken);
            var json = Directory.EnumerateFiles(outDir, "*.json").OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault();
            var measures = json is null ? [] : ReadMeasures(json);
            results.Add(new SuiteResult(step.Benchmark, arguments, exit, clock.Elapsed.TotalSeconds, json, measures));
            if (exit == 2 || measures.Count == 0)
            {
                workspace.Problem($"{step.Benchmark} {(exit == 2 ? "failed (exit 2)" : "wrote no measures")}; see its output above");
            }
        }

        var rows = results.SelectMany(r => r.Measures).ToList();
        Console.WriteLine();
        Console.WriteLine($"suite ({(quick ? "quick" : "full")}) in {(DateTimeOffset.UtcNow - startedAt).TotalMinutes:0.0} min:");
        Console.WriteLine(Summary.Table(rows));
        foreach (var result in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {result.Benchmark,-12} exit {result.ExitCode} in {result.Seconds,6:0} s  {result.Json ?? "(no JSON)"}"));
        }

        var path = Summary.WriteJson(new
        {
            benchmark = BenchmarkOptions.Suite,
            mode = quick ? "quick" : "full",
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken),
            measures = rows,
            steps = results,
            problems = workspace.Problems,
        }, options.OutputDir, BenchmarkOptions.Suite, startedAt);
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();
        return workspace.Problems.Count > 0 || results.Any(r => r.ExitCode == 2) ? 2 : rows.Any(r => r.GoalMet == false) ? 1 : 0;
    }

    /// <summary>This program again, with the step's arguments; its output goes straight to ours.</summary>
    private static async Task<int> RunChildAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) is "dotnet")
        {
            info.ArgumentList.Add(typeof(SuiteBenchmark).Assembly.Location);
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var child = Process.Start(info)!;
        try
        {
            await child.WaitForExitAsync(cancellationToken);
            return child.ExitCode;
        }
        catch (OperationCanceledException)
        {
            // The child cleans up on SIGINT like a run started by hand; the tree is killed if it does not.
            ProcessRunner.KillTree(child);
            throw;
        }
    }

    private static List<MeasureSummary> ReadMeasures(string json)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        return document.RootElement.TryGetProperty("measures", out var measures)
            ? measures.Deserialize<List<MeasureSummary>>(Json) ?? []
            : [];
    }
}
