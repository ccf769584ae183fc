namespace PandaFuzz.Bot.Runner;

/// <summary>How one engine run ended: with a finding, hung (killed by the watchdog), and how long it ran.</summary>
public sealed record EngineRun(bool Found, bool Stalled, TimeSpan RanFor);

/// <summary>After a run: the failures in a row so far, and when to start the next run (null: give up, the job fails).</summary>
public sealed record EngineRestartDecision(int ConsecutiveFailures, TimeSpan? RestartAfter);

/// <summary>
/// When a job's engine is started again. A run that found something, or ran at least <paramref name="HealthyRun"/> without
/// hanging, was fuzzing: the count starts over and the next run starts after <paramref name="RestartDelay"/>. Any other run
/// failed; the n-th failure in a row waits <paramref name="RestartDelay"/> × 2^(n-1), at most <paramref name="MaxDelay"/>,
/// and the <paramref name="MaxFailures"/>-th gives up.
/// </summary>
public sealed record EngineRestartPolicy(TimeSpan RestartDelay, TimeSpan MaxDelay, int MaxFailures, TimeSpan HealthyRun)
{
    public EngineRestartDecision After(int consecutiveFailures, EngineRun run)
    {
        if (run.Found || !run.Stalled && run.RanFor >= HealthyRun)
        {
            return new EngineRestartDecision(0, RestartDelay);
        }

        var failures = consecutiveFailures + 1;
        if (failures >= MaxFailures)
        {
            return new EngineRestartDecision(failures, null);
        }

        var delay = Math.Min(MaxDelay.Ticks, RestartDelay.Ticks * Math.Pow(2, Math.Min(failures - 1, 62)));
        return new EngineRestartDecision(failures, TimeSpan.FromTicks((long)delay));
    }
}
