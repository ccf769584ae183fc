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

            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            var number = Interlocked.Increment(ref _requests);
            if (number <= _failFirst || context.Request.HttpMethod != "POST")
            {
                context.Response.StatusCode = 503;
            }
            else
            {
                Accepted.Enqueue(JsonDocument.Parse(body).RootElement.Clone());
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
