using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace PandaFuzz.Benchmarks;

/// <summary>An HTTP answer other than the one expected; the message carries method, path, status and body.</summary>
public sealed class ApiException(string message) : Exception(message);

/// <summary>A job's progress as its bot last reported it (libFuzzer's status lines, AFL++'s fuzzer_stats).</summary>
public sealed record JobStats(long Execs, long ExecsPerSecond, long Coverage, long CorpusUnits, DateTimeOffset? UpdatedAt, long TotalEdges = 0);

/// <summary>A job of <c>GET /api/v1/campaigns/{id}</c>.</summary>
public sealed record JobView(
    string Id,
    int? Index,
    string State,
    string? BotId,
    string? Engine,
    string? FailureReason,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? AssignedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    JobStats? Stats)
{
    /// <summary>How the bot runs the job's engine (environment, program, arguments), once it has run it; null before.</summary>
    public string? CommandLine { get; init; }
}

/// <summary><c>GET /api/v1/campaigns/{id}</c>, the fields the benchmarks read.</summary>
public sealed record CampaignView(string Id, string Name, string? Status, IReadOnlyList<JobView>? Jobs, DateTimeOffset? CreatedAt, DateTimeOffset? FinishedAt);

/// <summary><c>GET /api/v1/campaigns/{id}/corpus</c>.</summary>
public sealed record CorpusView(int Version, int Count, long Bytes);

/// <summary>Lines, functions or regions run at least once of how many there are.</summary>
public sealed record CoverageCountView(long Covered, long Count, double Percent);

public sealed record CoverageTotalsView(CoverageCountView Lines, CoverageCountView Functions, CoverageCountView Regions);

/// <summary><c>GET /api/v1/campaigns/{id}/coverage</c>, the fields the benchmarks read.</summary>
public sealed record CoverageView(string JobId, int? Build, int CorpusVersion, int Inputs, DateTimeOffset MeasuredAt, CoverageTotalsView? Totals, int Files, long ReportSize);

/// <summary>An item of <c>GET /api/v1/bots</c>.</summary>
public sealed record BotView(string Id, string State, BotCapabilities? Capabilities);

public sealed record BotCapabilities(IReadOnlyList<EngineView>? Engines, int? Slots);

public sealed record EngineView(string Name, string? Version);

/// <summary>A thin client of a master node's HTTP API on 127.0.0.1 (adapted from the end-to-end tests).</summary>
public sealed class ApiClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;

    /// <summary>The API token every test node is started with (PANDAFUZZ_API_TOKENS); writes need it.</summary>
    public const string TestToken = "pandafuzz-test-token-0123456789abcdef";

    public ApiClient(Uri baseAddress, string? token = null)
    {
        // No proxy: a proxy variable must not route loopback calls elsewhere.
        var handler = new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) };
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token ?? TestToken);
    }

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync("health/ready", cancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    public Task<List<BotView>> GetBotsAsync(CancellationToken cancellationToken) => GetAsync<List<BotView>>("api/v1/bots", cancellationToken);

    /// <summary><c>POST /api/v1/targets?name=</c> with the raw binary; returns the target id.</summary>
    public async Task<string> UploadTargetAsync(string name, byte[] binary, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(binary);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.PostAsync($"api/v1/targets?name={Uri.EscapeDataString(name)}", content, cancellationToken);
        var body = await ReadAsync<JsonElement>(response, HttpStatusCode.Created, cancellationToken);
        return body.GetProperty("id").GetString() ?? throw new ApiException("POST /api/v1/targets answered without an id.");
    }

    /// <summary>
    /// <c>POST /api/v1/targets?name=&amp;kind=&amp;build=</c>: another binary of a target's build (a coverage build, say), or
    /// without <paramref name="build"/> a new build; returns the build's number.
    /// </summary>
    public async Task<int> UploadTargetBinaryAsync(string name, string kind, int? build, byte[] binary, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(binary);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var query = $"api/v1/targets?name={Uri.EscapeDataString(name)}&kind={Uri.EscapeDataString(kind)}" + (build is { } number ? $"&build={number}" : "");
        using var response = await _http.PostAsync(query, content, cancellationToken);
        var body = await ReadAsync<JsonElement>(response, HttpStatusCode.Created, cancellationToken);
        return body.GetProperty("build").GetInt32();
    }

    /// <summary><c>POST /api/v1/campaigns/{id}/corpus</c> with a zip of inputs; returns the corpus as it is then.</summary>
    public async Task<CorpusView> AddCorpusAsync(string campaignId, byte[] zip, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(zip);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        using var response = await _http.PostAsync($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/corpus", content, cancellationToken);
        return await ReadAsync<CorpusView>(response, HttpStatusCode.OK, cancellationToken);
    }

    /// <summary><c>POST /api/v1/campaigns/{id}/coverage</c> (202); returns the coverage job's id.</summary>
    public async Task<string> MeasureCoverageAsync(string campaignId, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/coverage", content: null, cancellationToken);
        var body = await ReadAsync<JsonElement>(response, HttpStatusCode.Accepted, cancellationToken);
        return body.GetProperty("jobId").GetString() ?? throw new ApiException("POST /api/v1/campaigns/{id}/coverage answered without a jobId.");
    }

    /// <summary><c>GET /api/v1/campaigns/{id}/coverage</c>: the latest report, or null while there is none (404).</summary>
    public async Task<CoverageView?> GetCoverageAsync(string campaignId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/coverage", cancellationToken);
        return response.StatusCode == HttpStatusCode.NotFound ? null : await ReadAsync<CoverageView>(response, HttpStatusCode.OK, cancellationToken);
    }

    /// <summary><c>GET /api/v1/jobs/{id}</c>.</summary>
    public Task<JobView> GetJobAsync(string jobId, CancellationToken cancellationToken) =>
        GetAsync<JobView>($"api/v1/jobs/{Uri.EscapeDataString(jobId)}", cancellationToken);

    /// <summary><c>POST /api/v1/campaigns</c> with <paramref name="request"/> (any JSON shape); returns the campaign id.</summary>
    public async Task<string> CreateCampaignAsync(object request, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("api/v1/campaigns", request, Json, cancellationToken);
        var body = await ReadAsync<JsonElement>(response, HttpStatusCode.Created, cancellationToken);
        return body.GetProperty("id").GetString() ?? throw new ApiException("POST /api/v1/campaigns answered without an id.");
    }

    /// <summary><c>POST /api/v1/campaigns</c> with <paramref name="request"/>; returns the created campaign as answered (its jobs' ids included).</summary>
    public async Task<CampaignView> CreateCampaignViewAsync(object request, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("api/v1/campaigns", request, Json, cancellationToken);
        return await ReadAsync<CampaignView>(response, HttpStatusCode.Created, cancellationToken);
    }

    public Task<CampaignView> GetCampaignAsync(string campaignId, CancellationToken cancellationToken) =>
        GetAsync<CampaignView>($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}", cancellationToken);

    public async Task StopCampaignAsync(string campaignId, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/stop", content: null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new ApiException($"{Describe(response)} returned {(int)response.StatusCode}: {Truncate(await response.Content.ReadAsStringAsync(cancellationToken))}");
        }
    }

    /// <summary><c>GET /api/v1/campaigns/{id}/corpus</c>: the current corpus version's number of inputs and bytes.</summary>
    public Task<CorpusView> GetCorpusAsync(string campaignId, CancellationToken cancellationToken) =>
        GetAsync<CorpusView>($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/corpus", cancellationToken);

    /// <summary><c>GET /api/v1/campaigns/{id}/corpus/archive</c> saved to <paramref name="zipPath"/>; returns its size.</summary>
    public async Task<long> DownloadCorpusArchiveAsync(string campaignId, string zipPath, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(
            $"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/corpus/archive", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new ApiException($"{Describe(response)} returned {(int)response.StatusCode}: {Truncate(await response.Content.ReadAsStringAsync(cancellationToken))}");
        }

        await using (var file = File.Create(zipPath))
        {
            await response.Content.CopyToAsync(file, cancellationToken);
        }

        return new FileInfo(zipPath).Length;
    }

    public void Dispose() => _http.Dispose();

    /// <summary>POST without a body (drain, resume, stop); any 2xx is success.</summary>
    public async Task PostEmptyAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync(path, content: null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new ApiException($"{Describe(response)} returned {(int)response.StatusCode}: {Truncate(await response.Content.ReadAsStringAsync(cancellationToken))}");
        }
    }

    /// <summary>GET of a path whose body is text (such as /metrics); 200 expected.</summary>
    public async Task<string> GetTextAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.StatusCode == HttpStatusCode.OK
            ? body
            : throw new ApiException($"{Describe(response)} returned {(int)response.StatusCode}: {Truncate(body)}");
    }

    /// <summary>GET of any API path, the body read as <typeparamref name="T"/> (200 expected).</summary>
    public Task<T> GetJsonAsync<T>(string path, CancellationToken cancellationToken) => GetAsync<T>(path, cancellationToken);

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken);
        return await ReadAsync<T>(response, HttpStatusCode.OK, cancellationToken);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != expected)
        {
            throw new ApiException($"{Describe(response)} returned {(int)response.StatusCode}, expected {(int)expected}: {Truncate(body)}");
        }

        try
        {
            return JsonSerializer.Deserialize<T>(body, Json) ?? throw new ApiException($"{Describe(response)} returned a null body.");
        }
        catch (JsonException ex)
        {
            throw new ApiException($"{Describe(response)} returned a body that is not a {typeof(T).Name}: {ex.Message}: {Truncate(body)}");
        }
    }

    private static string Describe(HttpResponseMessage response) =>
        $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}";

    private static string Truncate(string body) => body.Length <= 2_000 ? body : body[..2_000] + " …";
}
