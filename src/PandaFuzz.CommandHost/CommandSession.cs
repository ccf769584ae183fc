using System.Text;
using System.Text.Json;
using PandaFuzz.Protocol;

namespace PandaFuzz.CommandHost;

/// <summary>One client's command: where its answer frames go, whether it asked for JSON, and when it hung up.</summary>
public sealed class CommandSession(Stream stream, bool json, CancellationToken hungUp)
{
    private readonly SemaphoreSlim _writing = new(1, 1);

    /// <summary>The operator asked for JSON (<c>--json</c>).</summary>
    public bool Json { get; } = json;

    /// <summary>The file the client sent with the command (<c>ci</c>'s binary), in a temporary folder of this node; null when none.</summary>
    public string? Upload { get; init; }

    /// <summary>Cancelled when the client hangs up (Ctrl-C ends a streaming command that way).</summary>
    public CancellationToken HungUp { get; } = hungUp;

    public Task OutAsync(string text) => SendAsync(CommandFrame.Out(text));

    public Task RefreshAsync(string text) => SendAsync(CommandFrame.Refresh(text));

    /// <summary>A result for scripts: any object, serialized as the API does (camelCase).</summary>
    public Task JsonAsync(object value) => SendAsync(new CommandFrame("json", Data: JsonSerializer.SerializeToElement(value, CommandWire.Json)));

    /// <summary>Text when the operator reads, the data itself when a script does.</summary>
    public Task ResultAsync(string text, object data) => Json ? JsonAsync(data) : OutAsync(text);

    public Task FileAsync(string path, byte[] bytes) => SendAsync(new CommandFrame("file", Path: path, Base64: Convert.ToBase64String(bytes)));

    public async Task SendAsync(CommandFrame frame)
    {
        var line = JsonSerializer.Serialize(frame, CommandWire.Json) + "\n";
        await _writing.WaitAsync(HungUp);
        try
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(line), HungUp);
            await stream.FlushAsync(HungUp);
        }
        finally
        {
            _writing.Release();
        }
    }
}
