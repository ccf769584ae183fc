using PandaFuzz.Benchmarks;

// On-demand benchmarks of PandaFuzz against the same fuzzers run standalone, and of the master's crash de-duplication
// against its raw journal; see README.md beside this file.
BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (UsageException ex)
{
    if (ex.Message.Length > 0)
    {
        Console.Error.WriteLine(ex.Message);
        Console.Error.WriteLine();
    }

    Console.Error.WriteLine(BenchmarkOptions.Usage);
    return ex.Message.Length > 0 ? 2 : 0;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Ctrl-C: stop at the next step and clean up (the node and every fuzzer are killed on the way out).
    e.Cancel = true;
    Console.Error.WriteLine("Cancelling: killing the node and fuzzers ...");
    cancel.Cancel();
};

using var workspace = new Workspace(options.Benchmark, options.KeepWork);
try
{
    return options.Benchmark switch
    {
        BenchmarkOptions.Overhead => await new OverheadBenchmark(options, workspace).RunAsync(cancel.Token),
        BenchmarkOptions.Ensemble => await new EnsembleBenchmark(options, workspace).RunAsync(cancel.Token),
        BenchmarkOptions.Journal => await new JournalBenchmark(options, workspace).RunAsync(cancel.Token),
        BenchmarkOptions.Recovery => await new RecoveryBenchmark(options, workspace).RunAsync(cancel.Token),
        BenchmarkOptions.Scale => await new ScaleBenchmark(options, workspace).RunAsync(cancel.Token),
        BenchmarkOptions.Suite => await new SuiteBenchmark(options, workspace).RunAsync(cancel.Token),
        BenchmarkOptions.Failover => await new FailoverBenchmark(options, workspace).RunAsync(cancel.Token),
        BenchmarkOptions.FirstCrash => await new FirstCrashBenchmark(options, workspace).RunAsync(cancel.Token),
        BenchmarkOptions.Scheduling => await new SchedulingBenchmark(options, workspace).RunAsync(cancel.Token),
        BenchmarkOptions.Bugs => await new BugsBenchmark(options, workspace).RunAsync(cancel.Token),
        BenchmarkOptions.Coverage => await new CoverageBenchmark(options, workspace).RunAsync(cancel.Token),
        _ => await new DedupBenchmark(options, workspace).RunAsync(cancel.Token),
    };
}
catch (UsageException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    workspace.Failed = true;
    Console.Error.WriteLine("Cancelled.");
    return 2;
}
catch (Exception ex)
{
    workspace.Failed = true;
    Console.Error.WriteLine($"The {options.Benchmark} benchmark failed: {ex}");
    return 2;
}
