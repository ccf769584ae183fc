using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipes;
using System.Text;
using FluentAssertions;
using PandaFuzz.Bot.Processes;
using Xunit;

namespace PandaFuzz.Bot.Tests.Processes;

/// <summary>A fuzzer's output read in batches through a real pipe: every line, whole, in order, in few batches.</summary>
public sealed class OutputPumpTests
{
    [Fact]
    public async Task Lines_written_a_piece_at_a_time_arrive_whole_and_in_order()
    {
        // Arrange: a pipe; a writer that cuts a two-byte character, a \r\n and a line across separate writes.
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        var received = new ConcurrentQueue<string>();
        var pump = OutputPump.RunAsync(client, lines => { foreach (var line in lines) { received.Enqueue(line); } }, TimeSpan.FromMilliseconds(20));
        var e = Encoding.UTF8.GetBytes("\u00e9");
        byte[][] pieces =
        [
            Encoding.UTF8.GetBytes("INFO: Seed: 1\n#2\tINITED "),
            Encoding.UTF8.GetBytes("cov: 3\r"),
            [.. Encoding.UTF8.GetBytes("\n==1==ERROR: caf"), e[0]],
            [e[1], (byte)'\n'],
            Encoding.UTF8.GetBytes("\r#9 lone cr\rlast, unended"),
        ];

        // Act
        foreach (var piece in pieces)
        {
            await server.WriteAsync(piece);
            await server.FlushAsync();
            await Task.Delay(30);
        }

        server.Dispose();
        await pump.WaitAsync(TimeSpan.FromSeconds(10));

        // Assert
        received.Should().Equal("INFO: Seed: 1", "#2\tINITED cov: 3", "==1==ERROR: caf\u00e9", "", "#9 lone cr", "last, unended");
    }

    [Fact]
    public async Task A_process_writing_many_lines_a_second_is_read_in_a_few_batches()
    {
        // Arrange: a real process printing 400 lines over about two seconds, each flushed alone (as AFL++ does).
        var info = new ProcessStartInfo("sh", ["-c", "i=0; while [ $i -lt 400 ]; do echo \"line $i\"; i=$((i+1)); [ $((i % 20)) -eq 0 ] && sleep 0.1; done"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var batches = new ConcurrentQueue<IReadOnlyList<string>>();

        // Act
        await OutputPump.RunAsync(process.StandardOutput.BaseStream, batches.Enqueue, TimeSpan.FromMilliseconds(250)).WaitAsync(TimeSpan.FromSeconds(30));

        // Assert: every line once, in order, in about one batch per interval rather than one per line.
        batches.SelectMany(b => b).Should().Equal(Enumerable.Range(0, 400).Select(i => $"line {i}"));
        batches.Count.Should().BeInRange(2, 20, "2 s of output read every 250 ms");
    }
}
