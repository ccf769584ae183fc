using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using PandaFuzz.Protocol;

namespace PandaFuzz.Cmd;

/// <summary>Sends one command to a node's command host and prints its answer as it comes.</summary>
public sealed class CommandClient(string host, int port, string? token, bool json, TextWriter output, TextWriter error)
{
    /// <summary>
    /// The exit code when the command host cannot be reached or hangs up before the command ends: 2 is
    /// <c>campaign watch --fail-on-crash</c>'s, 3 the host's refusal without a token.
    /// </summary>
    public const int NoAnswer = 4;

    /// <summary>Runs <paramref name="args"/>; returns its exit code (<see cref="NoAnswer"/> when the node does not answer).</summary>
    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken ct, string? upload = null)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(host, port, ct);
        }
        catch (SocketException e)
        {
            await error.WriteLineAsync($"cannot reach the command host at {host}:{port}: {e.Message}");
            return NoAnswer;
        }

        var stream = client.GetStream();
        var size = upload is null ? (long?)null : new FileInfo(upload).Length;
        var request = JsonSerializer.Serialize(new CommandRequest(args, token, json, size), CommandWire.Json) + "\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request), ct);
        if (upload is not null)
        {
            try
            {
                await using var file = File.OpenRead(upload);
                await file.CopyToAsync(stream, ct);
            }
            catch (IOException)
            {
                // The host hung up before taking the file (a refused token): its answer says why.
            }
        }

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var refreshLines = 0;
        try
        {
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                var frame = JsonSerializer.Deserialize<CommandFrame>(line, CommandWire.Json);
                switch (frame?.Kind)
                {
                    case "out":
                        refreshLines = 0;
                        await output.WriteLineAsync(frame.Text);
                        break;
                    case "refresh":
                        refreshLines = await RefreshAsync(frame.Text ?? "", refreshLines);
                        break;
                    case "json":
                        await output.WriteLineAsync(frame.Data?.GetRawText());
                        break;
                    case "file":
                        await WriteFileAsync(frame, args, ct);
                        break;
                    case "exit":
                        await output.FlushAsync(ct);
                        return frame.Code ?? 1;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C: hanging up ends the command on the node.
            return 130;
        }

        await error.WriteLineAsync("the command host closed the connection before the command ended");
        return NoAnswer;
    }

    /// <summary>A live view: on a terminal the previous block is overwritten in place; otherwise each block is printed after the last.</summary>
    private async Task<int> RefreshAsync(string text, int previousLines)
    {
        if (previousLines > 0 && output == Console.Out && !Console.IsOutputRedirected)
        {
            await output.WriteAsync($"\u001b[{previousLines}F\u001b[J");
        }

        await output.WriteLineAsync(text);
        return text.Split('\n').Length;
    }

    /// <summary>Writes bytes only to the file the operator named after -o/--output (ci's --sarif): a node never picks the client's paths.</summary>
    private async Task WriteFileAsync(CommandFrame frame, IReadOnlyList<string> args, CancellationToken ct)
    {
        var asked = args.Select((a, i) => (a, i)).Where(x => x.a is "-o" or "--output" or "--sarif" && x.i + 1 < args.Count).Select(x => args[x.i + 1]).LastOrDefault();
        if (asked is null || frame.Path != asked || frame.Base64 is null)
        {
            await error.WriteLineAsync($"ignored a file the command did not ask for ({frame.Path})");
            return;
        }

        await File.WriteAllBytesAsync(asked, Convert.FromBase64String(frame.Base64), ct);
    }
}
