using System.Text.Json;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>Polls an observation until it satisfies a condition or a deadline passes (Task.Delay, never a bare sleep).</summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(300);
    private static readonly JsonSerializerOptions DescribeOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// Observes repeatedly until <paramref name="isSatisfied"/> holds and returns that observation.
    /// Transient failures (the node still starting, a 404 before a projection catches up) are retried;
    /// on timeout the last observation or error is in the message. <paramref name="guard"/> runs before
    /// every attempt and should throw when waiting is pointless (a node process has exited).
    /// </summary>
    public static async Task<T> SatisfyAsync<T>(
        string condition,
        TimeSpan timeout,
        Func<CancellationToken, Task<T>> observe,
        Func<T, bool> isSatisfied,
        CancellationToken cancellationToken,
        Action? guard = null,
        TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var lastObservation = "nothing observed yet";
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            guard?.Invoke();
            try
            {
                var observation = await observe(cancellationToken);
                if (isSatisfied(observation))
                {
                    return observation;
                }

                lastObservation = Describe(observation);
            }
            catch (Exception ex) when (IsTransient(ex, cancellationToken))
            {
                lastObservation = $"{ex.GetType().Name}: {ex.Message}";
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException(
                    $"Condition not met within {timeout.TotalSeconds:0} s: {condition}.{Environment.NewLine}Last observation: {lastObservation}");
            }

            await Task.Delay(interval ?? DefaultInterval, cancellationToken);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds for a synchronous check.</summary>
    public static Task<T> SatisfyAsync<T>(
        string condition,
        TimeSpan timeout,
        Func<T> observe,
        Func<T, bool> isSatisfied,
        CancellationToken cancellationToken,
        Action? guard = null) =>
        SatisfyAsync(condition, timeout, _ => Task.FromResult(observe()), isSatisfied, cancellationToken, guard);

    private static bool IsTransient(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        HttpRequestException or ApiException or JsonException or IOException => true,
        _ => false,
    };

    private static string Describe<T>(T observation) => observation switch
    {
        null => "null",
        string text => text,
        _ => JsonSerializer.Serialize(observation, DescribeOptions),
    };
}
