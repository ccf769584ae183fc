using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// A webhook endpoint on 127.0.0.1 for the tests: records every POST body, and answers the first
/// <paramref name="failFirst"/> requests with 503 so the sender's retries are exercised.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly int _failFirst;
    private int _requests;

    public WebhookReceiver(int failFirst)
    {
        _failFirst = failFirst;
        Url = $"http://127.0.0.1:{FreePort.Next()}/hooks/crashes/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string Url { get; }

    /// <summary>Bodies of the requests that were answered 200, in order.</summary>
    public ConcurrentQueue<JsonElement> Accepted { get; } = new();

    /// <summary>The same requests as sent: the body's bytes and the X-PandaFuzz-Signature header, if any.</summary>
    public ConcurrentQueue<(byte[] Body, string? Signature)> Raw { get; } = new();

    public int Requests => Volatile.Read(ref _requests);

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using var bytes = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(bytes);
            var body = System.Text.Encoding.UTF8.GetString(bytes.ToArray());
            var number = Interlocked.Increment(ref _requests);
            if (number <= _failFirst || context.Request.HttpMethod != "POST")
            {
                context.Response.StatusCode = 503;
            }
            else
            {
                Accepted.Enqueue(JsonDocument.Parse(body).RootElement.Clone());
                Raw.Enqueue((bytes.ToArray(), context.Request.Headers["X-PandaFuzz-Signature"]));
                context.Response.StatusCode = 200;
            }

            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
