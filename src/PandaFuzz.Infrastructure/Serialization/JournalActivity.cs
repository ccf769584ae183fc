namespace PandaFuzz.Infrastructure.Serialization;

/// <summary>
/// When this process last handed an event to the journal, and a wait for the next one: lets the read-model projection poll
/// the journal often only while events are written, and sleep otherwise. <see cref="OfProcess"/> is fed by
/// <see cref="JournalWriteSignal"/>, which sees every event on its way to the journal (before it is committed, so a
/// reader polls on for a while).
/// </summary>
public sealed class JournalActivity
{
    private const long NeverWritten = long.MinValue;

    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastWrite = NeverWritten;

    /// <summary>The journal writes of this process (one journal per process).</summary>
    public static JournalActivity OfProcess { get; } = new();

    /// <summary>An event is on its way to the journal.</summary>
    public void Writing()
    {
        Volatile.Write(ref _lastWrite, Environment.TickCount64);
        var next = Volatile.Read(ref _next);
        if (!next.Task.IsCompleted)
        {
            next.TrySetResult();
        }
    }

    /// <summary>How long ago an event was last handed to the journal; <see cref="TimeSpan.MaxValue"/> before the first.</summary>
    public TimeSpan SinceLastWrite =>
        Volatile.Read(ref _lastWrite) is var last && last == NeverWritten ? TimeSpan.MaxValue : TimeSpan.FromMilliseconds(Environment.TickCount64 - last);

    /// <summary>Completes at the next event handed to the journal (after this call).</summary>
    public Task NextWrite()
    {
        var current = Volatile.Read(ref _next);
        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        }

        return Volatile.Read(ref _next).Task;
    }
}
