namespace PandaFuzz.Benchmarks;

/// <summary>A campaign run to its end on the benchmark's node.</summary>
/// <param name="NodeCpuSeconds">CPU time the node process's own threads used from submission to the end (fuzzers not included).</param>
/// <param name="FuzzerCpuSeconds">CPU time of the processes started under the node's job dirs (the fuzzers, any one-shot runs),
/// from their own <c>/proc/&lt;pid&gt;/stat</c> sampled every <see cref="CampaignRunner.SampleInterval"/> while they ran: the
/// sandbox (bwrap's pid namespace) keeps them out of the node's counters of ended children. Up to one interval of each
/// process's last CPU is missed.</param>
/// <param name="FuzzerCores">The distinct core sets the node's fuzzer processes were allowed on, sampled while they ran.</param>
/// <param name="FuzzerCommands">The distinct command lines of those processes.</param>
public sealed record CampaignOutcome(
    string CampaignId,
    CampaignView Final,
    DateTimeOffset SubmittedAt,
    DateTimeOffset SeenDoneAt,
    double? NodeCpuSeconds,
    double? FuzzerCpuSeconds,
    IReadOnlyList<string> FuzzerCores,
    IReadOnlyList<string> FuzzerCommands);

/// <summary>Submits a campaign, polls it until it has ended (bounded) and samples the fuzzers the node started.</summary>
public static class CampaignRunner
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>How often the fuzzers' CPU time and cores are read (the API is asked every <see cref="PollInterval"/>).</summary>
    public static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Beyond its duration, a campaign gets this long (scheduling, target fetch, corpus sync, the end) before it is stopped.</summary>
    public static readonly TimeSpan EndGrace = TimeSpan.FromSeconds(180);

    public static async Task<CampaignOutcome> RunAsync(NodeProcess node, ApiClient api, object request, int seconds, CancellationToken cancellationToken)
    {
        var cpuBefore = Cpu.CpuSeconds(node.Pid);
        var submitted = DateTimeOffset.UtcNow;
        var id = await api.CreateCampaignAsync(request, cancellationToken);
        var deadline = submitted + TimeSpan.FromSeconds(seconds) + EndGrace;
        var cores = new SortedSet<string>(StringComparer.Ordinal);
        var commands = new SortedSet<string>(StringComparer.Ordinal);
        var fuzzerCpu = new Dictionary<int, double>();
        while (true)
        {
            node.EnsureRunning();
            for (var sampled = TimeSpan.Zero; sampled < PollInterval; sampled += SampleInterval)
            {
                SampleFuzzers(node.DataDir, cores, commands, fuzzerCpu);
                await Task.Delay(SampleInterval, cancellationToken);
            }

            CampaignView campaign;
            try
            {
                campaign = await api.GetCampaignAsync(id, cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                Console.WriteLine($"    (GET campaign {id} failed, retrying: {ex.Message})");
                continue;
            }

            if (campaign.Status is { } status && status is "completed" or "stopped")
            {
                var cpuAfter = Cpu.CpuSeconds(node.Pid);
                return new CampaignOutcome(id, campaign, submitted, DateTimeOffset.UtcNow, cpuAfter - cpuBefore, fuzzerCpu.Count > 0 ? fuzzerCpu.Values.Sum() : null,
                    [.. cores], [.. commands]);
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                try
                {
                    await api.StopCampaignAsync(id, CancellationToken.None);
                }
                catch (Exception ex) when (ex is HttpRequestException or ApiException or TaskCanceledException)
                {
                    Console.WriteLine($"    (stopping campaign {id} failed: {ex.Message})");
                }

                var jobs = string.Join("; ", campaign.Jobs?.Select(j => $"job {j.Index} {j.State}{(j.FailureReason is null ? "" : ": " + j.FailureReason)}") ?? []);
                throw new TimeoutException(
                    $"Campaign {id} was still '{campaign.Status}' {(DateTimeOffset.UtcNow - submitted).TotalSeconds:0} s after submission " +
                    $"(duration {seconds} s + {EndGrace.TotalSeconds:0} s grace); it was stopped. Jobs: {jobs}.\n{node.LogTail()}");
            }
        }
    }

    private static void SampleFuzzers(string dataDir, SortedSet<string> cores, SortedSet<string> commands, Dictionary<int, double> cpu)
    {
        foreach (var (pid, commandLine) in Cpu.FindByCommandLine(dataDir))
        {
            if (Cpu.Allowed($"/proc/{pid}") is { } allowed)
            {
                cores.Add(Cpu.Format(allowed));
                commands.Add(commandLine.Length <= 400 ? commandLine : commandLine[..400] + " …");
            }

            // The processes that run the job's programs (bwrap and the shell wrappers only wait, so they add ~0).
            if (Cpu.CpuSeconds(pid) is { } seconds)
            {
                cpu[pid] = Math.Max(seconds, cpu.GetValueOrDefault(pid));
            }
        }
    }
}
