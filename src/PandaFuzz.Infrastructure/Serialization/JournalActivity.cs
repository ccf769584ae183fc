namespace PandaFuzz.Infrastructure.Serialization;

/// <summary>
/// When this process last handed an event to the journal, and a wait for the next one: lets the read-model projection poll
/// the journal often only while events are written, and sleep otherwise. Process-wide, fed by <see cref="EntityTagger"/>,
/// which sees every tagged event on its way to the journal (before it is committed, so a reader polls on for a while).
/// </summary>
public static class JournalActivity
{
    private static TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private static long _lastWrite = long.MinValue / 2;

    /// <summary>An event is on its way to the journal.</summary>
    public static void Writing()
    {
        Volatile.Write(ref _lastWrite, Environment.TickCount64);
        var next = Volatile.Read(ref _next);
        if (!next.Task.IsCompleted)
        {
            next.TrySetResult();
        }
    }

    /// <summary>How long ago this process last handed an event to the journal.</summary>
    public static TimeSpan SinceLastWrite => TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _lastWrite));

    /// <summary>Completes at the next event handed to the journal (after this call).</summary>
    public static Task NextWrite()
    {
        var current = Volatile.Read(ref _next);
        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        }

        return Volatile.Read(ref _next).Task;
    }
}
