using System.Threading.Channels;
using Serilog.Core;
using Serilog.Events;

namespace PandaFuzz.CommandHost;

/// <summary>
/// A Serilog sink that keeps this node's last log lines for <c>log peek</c> and hands new ones to each <c>log tail</c>.
/// Bounded: the last <see cref="Capacity"/> lines; a tail that cannot keep up drops its oldest lines, never the node's.
/// </summary>
public sealed class RecentLog : ILogEventSink
{
    public const int Capacity = 2000;

    public static readonly RecentLog Instance = new();

    /// <summary>The process's own is <see cref="Instance"/>; a test may keep a log of its own.</summary>
    public RecentLog()
    {
    }

    private readonly Queue<string> _lines = new();
    private readonly List<ChannelWriter<string>> _tails = [];
    private readonly Lock _gate = new();

    public void Emit(LogEvent logEvent)
    {
        var line = $"{logEvent.Timestamp.UtcDateTime:HH:mm:ss.fff} {Level(logEvent.Level)} {logEvent.RenderMessage()}"
                   + (logEvent.Exception is { } e ? $" ({e.GetType().Name}: {PandaFuzz.Infrastructure.Logging.SecretUrls.Redact(e.Message)})" : "");
        lock (_gate)
        {
            _lines.Enqueue(line);
            while (_lines.Count > Capacity)
            {
                _lines.Dequeue();
            }

            foreach (var tail in _tails)
            {
                tail.TryWrite(line);
            }
        }
    }

    /// <summary>The last <paramref name="count"/> lines, oldest first.</summary>
    public IReadOnlyList<string> Peek(int count)
    {
        lock (_gate)
        {
            return [.. _lines.Skip(Math.Max(0, _lines.Count - count))];
        }
    }

    /// <summary>Every line logged from now on, until <paramref name="ct"/> ends the tail.</summary>
    public async IAsyncEnumerable<string> TailAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_gate)
        {
            _tails.Add(channel.Writer);
        }

        try
        {
            await foreach (var line in channel.Reader.ReadAllAsync(ct))
            {
                yield return line;
            }
        }
        finally
        {
            lock (_gate)
            {
                _tails.Remove(channel.Writer);
            }
        }
    }

    private static string Level(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "VRB",
        LogEventLevel.Debug => "DBG",
        LogEventLevel.Information => "INF",
        LogEventLevel.Warning => "WRN",
        LogEventLevel.Error => "ERR",
        _ => "FTL",
    };
}
