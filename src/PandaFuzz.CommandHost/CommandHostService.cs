using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using PandaFuzz.Protocol;
using Serilog;

namespace PandaFuzz.CommandHost;

/// <summary>
/// Listens for <c>pandafuzz-cmd</c> on the configured endpoint. Each connection carries one command: its first line is
/// the <see cref="CommandRequest"/>, the rest are the answer's frames; a client that hangs up cancels its command.
/// A node that cannot bind the port (another node on this machine has it) runs on without a command host and says so.
/// </summary>
public sealed class CommandHostService(CommandHostSettings settings, CommandPalettes palettes) : BackgroundService
{
    private const int MaxRequestBytes = 64 * 1024;
    private readonly TaskCompletionSource<IPEndPoint?> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Where the host listens once it does (port 0 in the settings: the port the OS gave); null when it does not.</summary>
    public Task<IPEndPoint?> Listening => _listening.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!settings.Enabled)
        {
            Log.Information("Command host off ({Variable}=off)", CommandHostSettings.EndpointVariable);
            _listening.TrySetResult(null);
            return;
        }

        var listener = new TcpListener(settings.Address, settings.Port);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            Log.Warning("Command host not started: cannot listen on {Address}:{Port} ({Reason}); set {Variable} to another port",
                settings.Address, settings.Port, e.Message, CommandHostSettings.EndpointVariable);
            _listening.TrySetResult(null);
            return;
        }

        _listening.TrySetResult((IPEndPoint)listener.LocalEndpoint);
        Log.Information("Command host listening on {Endpoint} (pandafuzz-cmd {Endpoint}); token: {TokenSource}",
            listener.LocalEndpoint, listener.LocalEndpoint, settings.TokenSource);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(stoppingToken);
                _ = Task.Run(() => ServeAsync(client, stoppingToken), stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            listener.Stop();
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken stopping)
    {
        using var connection = client;
        using var hungUp = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var stream = connection.GetStream();
        string? upload = null;
        try
        {
            var line = await ReadLineAsync(stream, hungUp.Token);
            var request = line is null ? null : JsonSerializer.Deserialize<CommandRequest>(line, CommandWire.Json);
            var session = new CommandSession(stream, request?.Json == true, hungUp.Token);
            if (request?.Args is null)
            {
                await session.OutAsync("not a command request: use pandafuzz-cmd");
                await session.SendAsync(CommandFrame.Exit(2));
                return;
            }

            var who = PeerIdentity.Describe(connection.Client.RemoteEndPoint as IPEndPoint);
            if (!Authorized(request.Token))
            {
                Log.Warning("Command host refused {Command} from {Peer}: no valid token", string.Join(' ', request.Args), who);
                await session.OutAsync(
                    $"this command host wants a token: pass --token, set {CommandHostSettings.TokenVariable}, or run as a user who can read the node's {CommandHostSettings.GeneratedTokenFile} file");
                await session.SendAsync(CommandFrame.Exit(3));
                return;
            }

            // Who asked what: the commands can down nodes, drain bots and stop campaigns.
            Log.Information("Command {Command} from {Peer}", string.Join(' ', request.Args), who);
            if (request.UploadBytes is { } size)
            {
                // Read only once the token is known good: a stranger cannot fill this node's disk.
                if (size is <= 0 or > CommandWire.MaxUploadBytes)
                {
                    await session.OutAsync($"a command may carry 1 to {CommandWire.MaxUploadBytes} bytes, not {size}");
                    await session.SendAsync(CommandFrame.Exit(1));
                    return;
                }

                upload = Directory.CreateTempSubdirectory("pandafuzz-upload-").FullName;
                var file = Path.Combine(upload, "upload");
                if (!await ReceiveAsync(stream, file, size, hungUp.Token))
                {
                    return;
                }

                session = new CommandSession(stream, request.Json, hungUp.Token) { Upload = file };
            }

            // The client sends nothing after its request: a read that ends means it hung up (Ctrl-C).
            _ = WatchHangUpAsync(stream, hungUp);
            var code = await palettes.RunAsync(request.Args, session);
            await session.SendAsync(CommandFrame.Exit(code));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or JsonException)
        {
            // The client went away, or sent something that is not a request: nothing to answer.
        }
        finally
        {
            if (upload is not null)
            {
                Directory.Delete(upload, recursive: true);
            }
        }
    }

    /// <summary>Exactly <paramref name="size"/> bytes into <paramref name="path"/>; false when the client hangs up first.</summary>
    private static async Task<bool> ReceiveAsync(Stream stream, string path, long size, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        var buffer = new byte[81920];
        for (var left = size; left > 0;)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct);
            if (read == 0)
            {
                return false;
            }

            await file.WriteAsync(buffer.AsMemory(0, read), ct);
            left -= read;
        }

        return true;
    }

    private bool Authorized(string? token)
    {
        if (settings.Token is null)
        {
            // A host without a token (a node always gives it one: WithLocalToken) takes no command.
            return false;
        }

        var expected = Encoding.UTF8.GetBytes(settings.Token);
        var given = Encoding.UTF8.GetBytes(token ?? "");
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    private static async Task WatchHangUpAsync(Stream stream, CancellationTokenSource hungUp)
    {
        try
        {
            var buffer = new byte[1];
            while (await stream.ReadAsync(buffer, hungUp.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
        }

        await hungUp.CancelAsync();
    }

    private static async Task<string?> ReadLineAsync(Stream stream, CancellationToken ct)
    {
        var bytes = new List<byte>();
        var buffer = new byte[1];
        while (bytes.Count < MaxRequestBytes)
        {
            if (await stream.ReadAsync(buffer, ct) == 0)
            {
                return null;
            }

            if (buffer[0] == (byte)'\n')
            {
                return Encoding.UTF8.GetString([.. bytes]);
            }

            bytes.Add(buffer[0]);
        }

        return null;
    }
}
