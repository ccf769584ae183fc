using System.Diagnostics;
using System.Text;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Sandboxing;

namespace PandaFuzz.Bot.Processes;

/// <summary>Runs a short command (a reproduction, a merge) in its own process group, bounded in time and output.</summary>
public static class OneShotRun
{
    /// <summary>The exit code is null when the run was killed at the time limit; a sandbox kill is named at the output's end.</summary>
    public static async Task<(int? ExitCode, string Output)> RunAsync(FuzzerLaunch launch, TimeSpan timeLimit, int maxOutputChars, CancellationToken ct = default,
        Sandbox? sandbox = null, int memoryLimitMb = 0)
    {
        using var run = sandbox?.Prepare(launch, memoryLimitMb, timeLimit) ?? SandboxedRun.None(launch);
        var info = ProcessGroups.StartInfo(run.Launch);

        var output = new StringBuilder();
        void Collect(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                if (output.Length + line.Length < maxOutputChars)
                {
                    output.Append(line).Append('\n');
                }
            }
        }

        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
        process.Start();
        // A reproduction or a minimization may run for minutes: it dies with the bot too, however the bot dies.
        using var deadMansSwitch = DeadMansSwitch.Arm(process.Id);
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeLimit);
        int? exitCode;
        try
        {
            await process.WaitForExitAsync(limit.Token);
            exitCode = process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            ProcessGroups.KillGroup(process.Id);
            await process.WaitForExitAsync(CancellationToken.None);
            exitCode = null;
        }
        finally
        {
            // Whatever the target forked dies with it.
            ProcessGroups.KillGroup(process.Id);
        }

        if (exitCode is { } code && run.Explain(code) is { } why)
        {
            Collect($"pandafuzz: {why}");
        }

        lock (output)
        {
            return (exitCode, output.ToString());
        }
    }
}
