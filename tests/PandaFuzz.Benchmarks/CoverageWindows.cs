using System.Diagnostics;
using System.Globalization;

namespace PandaFuzz.Benchmarks;

/// <summary>
/// The coverage benchmark's exec/s windows: one 1-job libFuzzer campaign each, quiet or with coverage reports running back
/// to back in the bot's other slot from the moment its fuzzer runs until its job ends.
/// </summary>
public sealed class CoverageWindows(
    BenchmarkOptions options,
    Workspace workspace,
    NodeProcess node,
    ApiClient api,
    CoverageReporter reporter,
    string botId,
    string fuzzTargetId,
    int fuzzerCore,
    string quietPollCampaign)
{
    /// <summary>How often the API is asked during a window, with reports or not (both sides ask alike), and the fuzzer's CPU read.</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan JobPoll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FuzzerStartLimit = TimeSpan.FromSeconds(30);

    public async Task<ExecsWindow> RunAsync(int pair, bool withReports, int seconds, Queue<(string Campaign, int Inputs)> pool, CancellationToken cancellationToken)
    {
        await reporter.WaitIdleAsync(botId, cancellationToken);
        var load = CoverageBenchmark.LoadAverage();
        var request = new
        {
            name = $"coverage-fuzz-{pair.ToString(CultureInfo.InvariantCulture)}-{(withReports ? "reports" : "quiet")}",
            targetId = fuzzTargetId,
            engine = "libfuzzer",
            jobs = 1,
            durationSeconds = seconds,
            memoryLimitMb = Standalone.MemoryLimitMb,
            timeoutMs = Standalone.TimeoutMs,
        };
        var nodeCpuBefore = Cpu.CpuSeconds(node.Pid);
        var created = await api.CreateCampaignViewAsync(request, cancellationToken);
        if (created.Jobs is not [var job])
        {
            return Failed(pair, withReports, created.Id, "", load, $"campaign {created.Id} was created with {created.Jobs?.Count ?? 0} jobs");
        }

        // The fuzzer itself: the process whose argv[0] is the job's target (inside the bot's sandbox).
        var target = Path.Combine(node.DataDir, "bot", "jobs", job.Id, "target");
        var clock = Stopwatch.StartNew();
        int? pid = null;
        string? command = null;
        while (pid is null)
        {
            foreach (var (candidate, commandLine) in Cpu.FindByCommandLine(target))
            {
                if (ProcessClock.Arguments(candidate) is [var program, ..] && program == target)
                {
                    (pid, command) = (candidate, commandLine);
                    break;
                }
            }

            if (pid is null)
            {
                if (clock.Elapsed > FuzzerStartLimit)
                {
                    await StopQuietlyAsync(created.Id);
                    return Failed(pair, withReports, created.Id, job.Id, load, $"no fuzzer process of job {job.Id} within {FuzzerStartLimit.TotalSeconds:0} s.\n{node.LogTail(20)}");
                }

                node.EnsureRunning();
                await Task.Delay(50, cancellationToken);
            }
        }

        if (options.PinFuzzer)
        {
            await Cpu.PinAllThreadsAsync(pid.Value, [fuzzerCore], cancellationToken);
        }

        // Beside the fuzzer: reports back to back, or (quiet) the same polling of the API without a report.
        using var fuzzing = new CancellationTokenSource();
        var beside = withReports
            ? ReportLoopAsync(pair, pool, fuzzing.Token, cancellationToken)
            : PollLoopAsync(fuzzing.Token, cancellationToken);
        var machineBefore = Cpu.MachineSeconds();
        var machineClock = Stopwatch.StartNew();
        var fuzzerCpu = 0.0;
        var fuzzerStart = ProcessClock.StartedAt(pid.Value);
        var fuzzerSeen = ProcessClock.Now();
        var fuzzerCores = new SortedSet<string>(StringComparer.Ordinal);
        JobView? final = null;
        double? nodeCpu = null;
        (double Busy, double Steal)? machine = null;
        string? error = null;
        var deadline = TimeSpan.FromSeconds(seconds) + CampaignRunner.EndGrace;
        var nextJobRead = JobPoll;
        try
        {
            while (final is null)
            {
                node.EnsureRunning();
                if (Cpu.CpuSeconds(pid.Value) is { } cpu)
                {
                    fuzzerCpu = Math.Max(fuzzerCpu, cpu);
                    fuzzerSeen = ProcessClock.Now();
                    if (Cpu.Allowed($"/proc/{pid.Value}") is { } allowed)
                    {
                        fuzzerCores.Add(Cpu.Format(allowed));
                    }
                }

                await Task.Delay(Poll, cancellationToken);
                if (clock.Elapsed < nextJobRead)
                {
                    continue;
                }

                nextJobRead = clock.Elapsed + JobPoll;
                try
                {
                    var view = await api.GetJobAsync(job.Id, cancellationToken);
                    if (view.State is "completed" or "failed" or "cancelled")
                    {
                        final = view;
                        nodeCpu = Cpu.CpuSeconds(node.Pid) - nodeCpuBefore;
                        if (Cpu.MachineSeconds() is { } after && machineBefore is { } before)
                        {
                            var elapsed = machineClock.Elapsed.TotalSeconds;
                            machine = ((after.Busy - before.Busy) / elapsed, (after.Steal - before.Steal) / elapsed);
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    Console.WriteLine($"    (GET job {job.Id} failed, retrying: {ex.Message})");
                }

                if (final is null && clock.Elapsed > deadline)
                {
                    await StopQuietlyAsync(created.Id);
                    error = $"job {job.Id} had not ended {deadline.TotalSeconds:0} s after it was submitted; the campaign was stopped.\n{node.LogTail(20)}";
                    break;
                }
            }
        }
        finally
        {
            // The report in flight runs to its end: it must not overlap the next window.
            fuzzing.Cancel();
        }

        var reports = await beside;
        if (error is not null)
        {
            return Failed(pair, withReports, created.Id, job.Id, load, error) with { ReportRuns = reports };
        }

        if (final!.State != "completed")
        {
            return Failed(pair, withReports, created.Id, job.Id, load, $"job {job.Id} ended '{final.State}': {final.FailureReason ?? "no reason given"}\n{node.LogTail(20)}")
                with { ReportRuns = reports };
        }

        if (final.Stats is not { Execs: > 0, ExecsPerSecond: > 0 } stats || final.StartedAt is not { } started || final.FinishedAt is not { } finished)
        {
            return Failed(pair, withReports, created.Id, job.Id, load,
                $"job {job.Id} completed without final stats or times (stats {final.Stats}, startedAt {final.StartedAt}, finishedAt {final.FinishedAt})") with { ReportRuns = reports };
        }

        var jobSeconds = (finished - started).TotalSeconds;
        if (stats.UpdatedAt is { } updated && (finished - updated).TotalSeconds > 5)
        {
            workspace.Problem($"pair {pair}: job {job.Id}'s last stats are {(finished - updated).TotalSeconds:0.0} s older than its end; its final figure may not be libFuzzer's DONE line");
        }

        var failedReport = reports.FirstOrDefault(r => r.Error is not null);
        return new ExecsWindow(pair, withReports, created.Id, job.Id, stats.ExecsPerSecond, stats.Execs, jobSeconds, stats.Execs / jobSeconds, started, finished,
            fuzzerStart is { } born && fuzzerSeen > born ? fuzzerCpu / (fuzzerSeen - born).TotalSeconds : null, fuzzerCpu, nodeCpu / jobSeconds, machine?.Busy, machine?.Steal, [.. fuzzerCores], command, reports.Count, reports.Count(r => r.Cached),
            withReports ? Duty(reports, started, finished) : null, reports, load,
            failedReport is null ? null : $"a report beside the job failed: {failedReport.Error}");
    }

    public static string Describe(ExecsWindow window)
    {
        var side = window.WithReports ? "reports" : "quiet  ";
        if (window.Error is not null)
        {
            return $"{side}: FAILED: {window.Error.Split('\n')[0]}";
        }

        var reports = window.WithReports
            ? string.Create(CultureInfo.InvariantCulture, $"; {window.Reports} reports ({window.CachedReports} cached) during {100 * window.ReportDuty:0} % of it")
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{side}: {window.ExecsPerSecond,10:N0} exec/s ({window.Execs:N0} execs, job {window.JobSeconds:0.0} s, fuzzer CPU {100 * window.FuzzerCpuShare:0.0} %, " +
            $"node CPU {100 * window.NodeCpuShare:0.0} %, machine busy {window.MachineBusyCores:0.00} cores ({window.OtherCores:0.00} besides both){reports}; " +
            $"load {window.LoadAverage})");
    }

    /// <summary>Fresh corpora from the pool, one report after the other, until the fuzzing job has ended; the last corpus again when the pool is empty.</summary>
    private async Task<List<CoverageReportRun>> ReportLoopAsync(int pair, Queue<(string Campaign, int Inputs)> pool, CancellationToken fuzzing, CancellationToken cancellationToken)
    {
        var runs = new List<CoverageReportRun>();
        (string Campaign, int Inputs)? last = null;
        while (!fuzzing.IsCancellationRequested)
        {
            var cached = !pool.TryDequeue(out var next);
            if (cached)
            {
                if (last is null)
                {
                    break;
                }

                next = last.Value;
            }

            var run = await reporter.MeasureAsync(next.Campaign, next.Inputs, pair, cached, Poll, cancellationToken);
            runs.Add(run);
            last = next;
            if (run.Error is not null)
            {
                break;
            }
        }

        return runs;
    }

    /// <summary>The quiet side asks the API as often as the reporting side does, about a report that exists already.</summary>
    private async Task<List<CoverageReportRun>> PollLoopAsync(CancellationToken fuzzing, CancellationToken cancellationToken)
    {
        while (!fuzzing.IsCancellationRequested)
        {
            try
            {
                await api.GetCoverageAsync(quietPollCampaign, cancellationToken);
                await Task.Delay(Poll, fuzzing);
            }
            catch (OperationCanceledException) when (fuzzing.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is HttpRequestException or ApiException)
            {
                Console.WriteLine($"    (GET coverage of {quietPollCampaign} failed: {ex.Message})");
            }
        }

        return [];
    }

    /// <summary>The share of [start, end] covered by the reports' coverage jobs (startedAt → finishedAt).</summary>
    private static double Duty(IReadOnlyList<CoverageReportRun> reports, DateTimeOffset start, DateTimeOffset end)
    {
        var covered = 0.0;
        var at = start;
        foreach (var (from, to) in reports.Where(r => r.StartedAt is not null && r.FinishedAt is not null)
                     .Select(r => (From: r.StartedAt!.Value, To: r.FinishedAt!.Value)).OrderBy(r => r.From))
        {
            var begin = from > at ? from : at;
            var stop = to < end ? to : end;
            if (stop > begin)
            {
                covered += (stop - begin).TotalSeconds;
                at = stop;
            }
        }

        return covered / (end - start).TotalSeconds;
    }

    private async Task StopQuietlyAsync(string campaignId)
    {
        try
        {
            await api.StopCampaignAsync(campaignId, CancellationToken.None);
        }
        catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException)
        {
            Console.WriteLine($"    (stopping campaign {campaignId} failed: {ex.Message})");
        }
    }

    private static ExecsWindow Failed(int pair, bool withReports, string campaignId, string jobId, string load, string error) =>
        new(pair, withReports, campaignId, jobId, 0, 0, 0, 0, null, null, null, null, null, null, null, [], null, 0, 0, null, [], load, error);
}
