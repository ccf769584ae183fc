namespace PandaFuzz.Bot.Outbox;

/// <summary>
/// Exponential backoff with jitter: the n-th retry waits between half and all of min(max, first × 2^(n-1)). Jitter
/// spreads the retries of many bots; taking at most half off keeps each delay at least as long as the one before.
/// </summary>
public sealed record RetryBackoff(TimeSpan First, TimeSpan Max)
{
    /// <summary><paramref name="attempt"/> 1 is the first retry; <paramref name="random"/> in [0, 1).</summary>
    public TimeSpan Delay(int attempt, double random)
    {
        var doublings = Math.Clamp(attempt - 1, 0, 62);
        var capped = Math.Min(Max.Ticks, First.Ticks * Math.Pow(2, doublings));
        return TimeSpan.FromTicks((long)(capped * (1 - 0.5 * Math.Clamp(random, 0, 1))));
    }
}
