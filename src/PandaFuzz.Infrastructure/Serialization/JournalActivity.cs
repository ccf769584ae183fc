namespace PandaFuzz.Infrastructure.Serialization;

/// <summary>When this process last handed an event to the journal, so the read-model projection polls often only while
/// events are written. Fed before commit (<see cref="JournalWriteSignal"/>), so a reader polls on for a while.</summary>
public sealed class JournalActivity
{
    private const long NeverWritten = long.MinValue;

    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastWrite = NeverWritten;

    /// <summary>One journal per process.</summary>
    public static JournalActivity OfProcess { get; } = new();

    public void Writing()
    {
        Volatile.Write(ref _lastWrite, Environment.TickCount64);
        var next = Volatile.Read(ref _next);
        if (!next.Task.IsCompleted)
        {
            next.TrySetResult();
        }
    }

    public TimeSpan SinceLastWrite =>
        Volatile.Read(ref _lastWrite) is var last && last == NeverWritten ? TimeSpan.MaxValue : TimeSpan.FromMilliseconds(Environment.TickCount64 - last);

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
