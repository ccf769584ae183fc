using System.Diagnostics;
using System.Text.Json;

namespace PandaFuzz.Benchmarks;

/// <summary>Waits between measurements until a bot is idle: no job listed on it and no process of any job left.</summary>
public static class BotIdle
{
    public static async Task WaitAsync(NodeProcess node, ApiClient api, string botId, string jobsDir, TimeSpan limit, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (true)
        {
            node.EnsureRunning();
            var processes = Cpu.FindByCommandLine(jobsDir);
            if (processes.Count == 0)
            {
                var bot = await api.GetJsonAsync<JsonElement>($"api/v1/bots/{Uri.EscapeDataString(botId)}", cancellationToken);
                if (!bot.TryGetProperty("currentJobs", out var jobs) || jobs.ValueKind != JsonValueKind.Array || jobs.GetArrayLength() == 0)
                {
                    return;
                }

                last = $"the bot still lists jobs {jobs}";
            }
            else
            {
                last = $"{processes.Count} job process(es) left, e.g. {processes[0].CommandLine[..Math.Min(200, processes[0].CommandLine.Length)]}";
            }

            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"The bot was not idle within {limit.TotalSeconds:0} s: {last}.\n{node.LogTail(20)}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}
