using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace PandaFuzz.CommandHost.Palettes;

/// <summary>
/// The fuzzing palettes read and act through this master's own HTTP API on loopback, so the CLI shows exactly what
/// the API shows and goes through the same validation. A refusal (4xx/5xx) becomes the problem's detail.
/// </summary>
public sealed class GatewayClient(Uri apiBase, string apiToken) : IDisposable
{
    private readonly HttpClient _http = new()
    {
        BaseAddress = apiBase,
        Timeout = TimeSpan.FromSeconds(30),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", apiToken) },
    };

    public async Task<JsonElement> GetAsync(string path, CancellationToken ct) => await SendAsync(HttpMethod.Get, path, ct);

    public async Task<JsonElement> PostAsync(string path, CancellationToken ct) => await SendAsync(HttpMethod.Post, path, ct);

    /// <summary>POST with a JSON body (a null field means the default).</summary>
    public async Task<JsonElement> PostJsonAsync(string path, object body, CancellationToken ct) => await SendAsync(HttpMethod.Post, path, ct, body);

    /// <summary>PATCH with a JSON body (the fields to set).</summary>
    public async Task<JsonElement> PatchAsync(string path, object body, CancellationToken ct) => await SendAsync(HttpMethod.Patch, path, ct, body);

    /// <summary>POST with a file as the body (a target binary).</summary>
    public async Task<JsonElement> PostFileAsync(string path, string file, CancellationToken ct)
    {
        await using var body = File.OpenRead(file);
        using var content = new StreamContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return await SendAsync(HttpMethod.Post, path, ct, content: content);
    }

    public async Task<byte[]> GetBytesAsync(string path, CancellationToken ct)
    {
        using var response = await _http.GetAsync(path, ct);
        await EnsureAsync(response, ct);
        return await response.Content.ReadAsByteArrayAsync(ct);
    }

    public void Dispose() => _http.Dispose();

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, CancellationToken ct, object? json = null, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Content = json is not null ? System.Net.Http.Json.JsonContent.Create(json) : content;

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new CommandFailedException($"this node's API at {apiBase} does not answer: {e.Message}");
        }

        using (response)
        {
            await EnsureAsync(response, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync(ct);
        var detail = body;
        try
        {
            using var problem = JsonDocument.Parse(body);
            if (problem.RootElement.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String)
            {
                detail = d.GetString()!;
            }

            // A validation problem names its fields: the generic detail alone does not say what to fix.
            if (problem.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
            {
                detail += ": " + string.Join("; ", errors.EnumerateObject().SelectMany(f => f.Value.EnumerateArray().Select(m => $"{f.Name}: {m.GetString()}")));
            }
        }
        catch (JsonException)
        {
        }

        throw new CommandFailedException(response.StatusCode == HttpStatusCode.NotFound && detail.Length == 0 ? "not found" : detail);
    }
}
