namespace PandaFuzz.Bot.Runner;

/// <summary>How one engine run ended.</summary>
public sealed record EngineRun(bool Found, bool Stalled, TimeSpan RanFor);

/// <summary>When to start the next run; null: give up, the job fails.</summary>
public sealed record EngineRestartDecision(int ConsecutiveFailures, TimeSpan? RestartAfter);

/// <summary>A run that found something or ran HealthyRun without hanging was fuzzing; the n-th failure in a row waits RestartDelay × 2^(n-1).</summary>
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
