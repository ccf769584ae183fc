using System.Text;

namespace PandaFuzz.Bot.Processes;

/// <summary>
/// Reads a process's output in batches of lines, at most one batch per interval: headless AFL++ flushes ~80 lines a second,
/// and reading each as it came woke the node on the fuzzer's core. Meanwhile lines wait in the pipe; none is lost.
/// </summary>
public static class OutputPump
{
    /// <summary>
    /// Reads block on a thread of their own: an asynchronous read of a pipe is .NET's socket engine, which wakes at every
    /// write to the pipe even while no read waits.
    /// </summary>
    public static Task RunAsync(Stream stream, Action<IReadOnlyList<string>> lines, TimeSpan interval)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(stream, lines, interval);
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "fuzzer output",
        };
        thread.Start();
        return done.Task;
    }

    private static void Run(Stream stream, Action<IReadOnlyList<string>> lines, TimeSpan interval)
    {
        var splitter = new LineSplitter();
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = stream.Read(buffer);
                if (read == 0)
                {
                    break;
                }

                if (splitter.Add(buffer.AsSpan(0, read)) is { Count: > 0 } complete)
                {
                    lines(complete);
                }

                Thread.Sleep(interval);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe broke with the process: what was read is handed on below.
        }

        if (splitter.Finish() is { } last)
        {
            lines([last]);
        }
    }

    /// <summary>Cuts decoded text into lines across reads: a multi-byte character or a <c>\r\n</c> may straddle two reads.</summary>
    public sealed class LineSplitter
    {
        private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
        private readonly StringBuilder _line = new();
        private char[] _chars = new char[1024];
        private bool _afterCarriageReturn;

        public IReadOnlyList<string> Add(ReadOnlySpan<byte> bytes)
        {
            var needed = _decoder.GetCharCount(bytes, flush: false);
            if (needed > _chars.Length)
            {
                _chars = new char[needed];
            }

            var count = _decoder.GetChars(bytes, _chars, flush: false);
            var complete = new List<string>();
            foreach (var c in _chars.AsSpan(0, count))
            {
                if (c == '\n' && _afterCarriageReturn)
                {
                    _afterCarriageReturn = false;
                    continue;
                }

                _afterCarriageReturn = c == '\r';
                if (c is '\n' or '\r')
                {
                    complete.Add(_line.ToString());
                    _line.Clear();
                }
                else
                {
                    _line.Append(c);
                }
            }

            return complete;
        }

        /// <summary>The last line when the stream ended without a line break.</summary>
        public string? Finish()
        {
            var rest = new char[4];
            var count = _decoder.GetChars([], rest, flush: true);
            _line.Append(rest, 0, count);
            return _line.Length > 0 ? _line.ToString() : null;
        }
    }
}
