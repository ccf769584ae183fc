using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace PandaFuzz.Benchmarks;

/// <summary>
/// One coverage report, every time in seconds after the moment just before <c>POST /api/v1/campaigns/{id}/coverage</c>.
/// </summary>
/// <param name="Cached">The report ran on a corpus this bot had fetched for an earlier report (its inputs were in the bot's store).</param>
/// <param name="Seconds">POST → <c>GET /api/v1/campaigns/{id}/coverage</c> answers with this job's report: what a user waits for.</param>
/// <param name="StartedSeconds">The job's startedAt (the bot took it).</param>
/// <param name="PulledSeconds">The bot's log line "Job … starts from N inputs of the campaign corpus": the corpus is on the bot's disk.</param>
/// <param name="FinishedSeconds">The job's finishedAt: the inputs ran, llvm-profdata, llvm-cov export and show ran, the report was zipped and handed over.</param>
/// <param name="JobSeconds">startedAt → finishedAt, the bot's side.</param>
/// <param name="StartedAt">The job's startedAt (master's clock).</param>
/// <param name="FinishedAt">The job's finishedAt (master's clock).</param>
/// <param name="MeasuredInputs">The report's <c>inputs</c>: what the bot measured.</param>
/// <param name="MachineBusyCores">Cores busy on the whole machine (/proc/stat) from the POST to the report: the report's work (the node's and
/// its tools') plus whatever else ran.</param>
public sealed record CoverageReportRun(
    int Inputs,
    int Round,
    bool Cached,
    string CampaignId,
    string JobId,
    double Seconds,
    double? StartedSeconds,
    double? PulledSeconds,
    double? FinishedSeconds,
    double? JobSeconds,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int MeasuredInputs,
    CoverageTotalsView? Totals,
    long ReportSize,
    double? MachineBusyCores,
    string? Error)
{
    /// <summary><see cref="Seconds"/> per 1,000 measured inputs.</summary>
    public double PerThousand => MeasuredInputs > 0 ? Seconds * 1000 / MeasuredInputs : double.NaN;

    public double? JobPerThousand => JobSeconds is { } job && MeasuredInputs > 0 ? job * 1000 / MeasuredInputs : null;
}

/// <summary>
/// Makes campaigns whose corpus is a fresh bench_parser corpus of N inputs, and times coverage reports on them on the
/// benchmark's node: the report's campaign, its inputs and every time of its way from the POST to the report.
/// </summary>
public sealed class CoverageReporter(NodeProcess node, ApiClient api, string targetName, Workspace workspace)
{
    /// <summary>The coverage job's own limit (the API's default): the wait for a report is this plus a minute.</summary>
    private static readonly TimeSpan ReportLimit = TimeSpan.FromSeconds(600 + 60);

    private static readonly TimeSpan EndLimit = TimeSpan.FromSeconds(60);

    private int _seed = 1000;

    /// <summary>
    /// A campaign of the coverage target whose corpus is exactly <paramref name="inputs"/> new inputs: created with a 1 s
    /// duration (its job ends without fuzzing: less than the bot's minimum run is left), then the inputs added as a zip.
    /// </summary>
    public async Task<(string CampaignId, int Inputs)> PrepareAsync(int inputs, string name, CancellationToken cancellationToken)
    {
        var campaignId = await api.CreateCampaignAsync(new { name, target = targetName, jobs = 1, durationSeconds = 1 }, cancellationToken);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            node.EnsureRunning();
            var campaign = await api.GetCampaignAsync(campaignId, cancellationToken);
            if (campaign.Status is "completed" or "stopped")
            {
                break;
            }

            if (clock.Elapsed > EndLimit)
            {
                throw new TimeoutException($"Corpus campaign {campaignId} was still '{campaign.Status}' {EndLimit.TotalSeconds:0} s after it was created.\n{node.LogTail(20)}");
            }

            await Task.Delay(100, cancellationToken);
        }

        var corpus = await api.AddCorpusAsync(campaignId, BenchParserCorpus.Zip(inputs, Interlocked.Increment(ref _seed)), cancellationToken);
        if (corpus.Count < inputs)
        {
            throw new InvalidOperationException($"Campaign {campaignId}'s corpus holds {corpus.Count} inputs after {inputs} were added.");
        }

        return (campaignId, corpus.Count);
    }

    /// <summary>
    /// POSTs a coverage report of <paramref name="campaignId"/> and waits until the API answers with it and its job has ended;
    /// the API is asked every <paramref name="pollInterval"/>. A report that fails is returned with its error.
    /// </summary>
    public async Task<CoverageReportRun> MeasureAsync(
        string campaignId, int inputs, int round, bool cached, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        // The job's id is known only once the POST answers; its log line may come before that, so the watch is set first.
        var pulledLine = node.WaitForLineAsync(line => line.Contains($"Job {campaignId}-", StringComparison.Ordinal) &&
                                                       line.Contains(" starts from ", StringComparison.Ordinal));
        var machineBefore = Cpu.MachineSeconds();
        var startTimestamp = Stopwatch.GetTimestamp();
        var wallAt = DateTimeOffset.UtcNow;
        string jobId;
        try
        {
            jobId = await api.MeasureCoverageAsync(campaignId, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return Failed(campaignId, "", inputs, round, cached, $"POST coverage failed: {ex.Message}");
        }

        double? reportSeconds = null;
        double? busy = null;
        CoverageView? report = null;
        JobView? ended = null;
        var nextJobRead = TimeSpan.FromSeconds(2);
        while (reportSeconds is null || ended is null)
        {
            node.EnsureRunning();
            await Task.Delay(pollInterval, cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(startTimestamp);
            try
            {
                if (reportSeconds is null && await api.GetCoverageAsync(campaignId, cancellationToken) is { } view && view.JobId == jobId)
                {
                    reportSeconds = Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
                    report = view;
                    if (Cpu.MachineSeconds() is { } after && machineBefore is { } before)
                    {
                        busy = (after.Busy - before.Busy) / reportSeconds.Value;
                    }
                }

                // The job is read once the report is there (it has ended by then, or soon), or to see it fail.
                if (ended is null && (reportSeconds is not null || elapsed >= nextJobRead))
                {
                    nextJobRead = elapsed + TimeSpan.FromSeconds(2);
                    var job = await api.GetJobAsync(jobId, cancellationToken);
                    if (job.State is "completed" or "failed" or "cancelled")
                    {
                        ended = job;
                        if (job.State != "completed")
                        {
                            return Failed(campaignId, jobId, inputs, round, cached, $"coverage job {jobId} {job.State}: {job.FailureReason}\n{node.LogTail(20)}");
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                Console.WriteLine($"    (reading coverage job {jobId} failed, retrying: {ex.Message})");
            }

            if (elapsed > ReportLimit)
            {
                return Failed(campaignId, jobId, inputs, round, cached,
                    $"coverage job {jobId}: {(reportSeconds is null ? "no report" : "no end")} within {ReportLimit.TotalSeconds:0} s\n{node.LogTail(20)}");
            }
        }

        double? pulled = pulledLine.IsCompletedSuccessfully && pulledLine.Result.Line.Contains($"Job {jobId} ", StringComparison.Ordinal)
            ? (pulledLine.Result.At - Stopwatch.GetElapsedTime(node.StartedAt, startTimestamp)).TotalSeconds
            : null;
        if (pulled is null)
        {
            workspace.Problem($"coverage job {jobId}: the node logged no \"starts from N inputs\" line; the pull's time is missing");
        }

        double? Wall(DateTimeOffset? at) => at is { } value ? (value - wallAt).TotalSeconds : null;
        return new CoverageReportRun(inputs, round, cached, campaignId, jobId, reportSeconds!.Value, Wall(ended.StartedAt), pulled, Wall(ended.FinishedAt),
            ended.StartedAt is { } s && ended.FinishedAt is { } f ? (f - s).TotalSeconds : null, ended.StartedAt, ended.FinishedAt,
            report!.Inputs, report.Totals, report.ReportSize, busy, null);
    }

    /// <summary>Until the bot runs no job and no process of any job is left.</summary>
    public Task WaitIdleAsync(string botId, CancellationToken cancellationToken) =>
        BotIdle.WaitAsync(node, api, botId, Path.Combine(node.DataDir, "bot", "jobs"), EndLimit, cancellationToken);

    private static CoverageReportRun Failed(string campaignId, string jobId, int inputs, int round, bool cached, string error) =>
        new(inputs, round, cached, campaignId, jobId, double.NaN, null, null, null, null, null, null, 0, null, 0, null, error);

    public static string Describe(CoverageReportRun run) =>
        run.Error is not null
            ? $"FAILED: {run.Error.Split('\n')[0]}"
            : string.Create(CultureInfo.InvariantCulture,
                $"{run.Seconds,6:0.00} s for {run.MeasuredInputs:N0} inputs = {run.PerThousand,5:0.00} s per 1,000 " +
                $"(job taken {run.StartedSeconds:0.00} s, corpus pulled {run.PulledSeconds:0.00} s, job ended {run.FinishedSeconds:0.00} s; " +
                $"machine busy {run.MachineBusyCores:0.00} cores; " +
                $"lines {run.Totals?.Lines.Covered}/{run.Totals?.Lines.Count})");
}
