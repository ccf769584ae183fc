using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>An HTTP answer other than the one expected; the message carries method, path, status and body.</summary>
public sealed class ApiException(string message, HttpStatusCode statusCode) : Exception(message)
{
    public HttpStatusCode StatusCode { get; } = statusCode;
}

/// <summary>A thin typed client for a master node's HTTP API on 127.0.0.1.</summary>
public sealed class ApiClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;

    /// <summary>The API token every test node is started with (PANDAFUZZ_API_TOKENS); writes need it.</summary>
    public const string TestToken = "pandafuzz-test-token-0123456789abcdef";

    public ApiClient(Uri baseAddress, string? token = null)
    {
        // No proxy: a CI proxy variable must not route loopback calls elsewhere.
        var handler = new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) };
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token ?? TestToken);
    }

    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary><c>GET /health/ready</c> answered 200; false for any other answer or no answer yet.</summary>
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

    public async Task<TargetInfo> UploadTargetAsync(string name, byte[] binary, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(binary);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.PostAsync($"api/v1/targets?name={Uri.EscapeDataString(name)}", content, cancellationToken);
        return await ReadAsync<TargetInfo>(response, HttpStatusCode.Created, cancellationToken);
    }

    /// <summary><c>POST /api/v1/targets?name=N&amp;revision=R</c>: a build of the named target.</summary>
    public async Task<TargetBuildInfo> UploadBuildAsync(string name, string? revision, byte[] binary, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(binary);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var query = $"name={Uri.EscapeDataString(name)}" + (revision is null ? "" : $"&revision={Uri.EscapeDataString(revision)}");
        using var response = await _http.PostAsync($"api/v1/targets?{query}", content, cancellationToken);
        return await ReadAsync<TargetBuildInfo>(response, HttpStatusCode.Created, cancellationToken);
    }

    public Task<IReadOnlyList<TargetBuildSummary>> ListBuildsAsync(string name, CancellationToken cancellationToken) =>
        GetAsync<IReadOnlyList<TargetBuildSummary>>($"api/v1/targets/{Uri.EscapeDataString(name)}/builds", cancellationToken);

    public async Task<CampaignDetail> CreateCampaignAsync(NamedTargetCampaignRequest request, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("api/v1/campaigns", request, Json, cancellationToken);
        return await ReadAsync<CampaignDetail>(response, HttpStatusCode.Created, cancellationToken);
    }

    /// <summary><c>POST /api/v1/campaigns/{id}/rebase</c>: the campaign moves to its target's newest build.</summary>
    public async Task<CampaignDetail> RebaseCampaignAsync(string campaignId, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/rebase", content: null, cancellationToken);
        return await ReadAsync<CampaignDetail>(response, HttpStatusCode.OK, cancellationToken);
    }

    /// <summary>Creates a campaign; returns its body and the Location header.</summary>
    public async Task<(CampaignDetail Campaign, Uri? Location)> CreateCampaignAsync(CampaignRequest request, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("api/v1/campaigns", request, Json, cancellationToken);
        var campaign = await ReadAsync<CampaignDetail>(response, HttpStatusCode.Created, cancellationToken);
        return (campaign, response.Headers.Location);
    }

    /// <summary>Creates an ensemble campaign (one build per engine); returns its body and the Location header.</summary>
    public async Task<(CampaignDetail Campaign, Uri? Location)> CreateCampaignAsync(EnsembleCampaignRequest request, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync("api/v1/campaigns", request, Json, cancellationToken);
        var campaign = await ReadAsync<CampaignDetail>(response, HttpStatusCode.Created, cancellationToken);
        return (campaign, response.Headers.Location);
    }

    public Task<IReadOnlyList<CampaignSummary>> ListCampaignsAsync(CancellationToken cancellationToken) =>
        GetAsync<IReadOnlyList<CampaignSummary>>("api/v1/campaigns", cancellationToken);

    /// <summary>One page of <c>GET /api/v1/campaigns?limit=L&amp;offset=O</c> and the <c>X-Total-Count</c> header.</summary>
    public async Task<(IReadOnlyList<CampaignSummary> Campaigns, int Total)> ListCampaignsPageAsync(int limit, int offset, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(
            $"api/v1/campaigns?limit={limit.ToString(System.Globalization.CultureInfo.InvariantCulture)}&offset={offset.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            cancellationToken);
        var campaigns = await ReadAsync<IReadOnlyList<CampaignSummary>>(response, HttpStatusCode.OK, cancellationToken);
        var total = response.Headers.TryGetValues("X-Total-Count", out var values) && int.TryParse(values.FirstOrDefault(), out var parsed)
            ? parsed
            : throw new ApiException($"{Describe(response)} has no X-Total-Count header.", response.StatusCode);
        return (campaigns, total);
    }

    public Task<CampaignDetail> GetCampaignAsync(string campaignId, CancellationToken cancellationToken) =>
        GetAsync<CampaignDetail>($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}", cancellationToken);

    public async Task StopCampaignAsync(string campaignId, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/stop", content: null, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    public Task<IReadOnlyList<CrashSummary>> GetCampaignCrashesAsync(string campaignId, CancellationToken cancellationToken) =>
        GetAsync<IReadOnlyList<CrashSummary>>($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/crashes", cancellationToken);

    public Task<IReadOnlyList<BugSummary>> GetCampaignBugsAsync(string campaignId, CancellationToken cancellationToken, string? status = null) =>
        GetAsync<IReadOnlyList<BugSummary>>($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/bugs" + (status is null ? "" : $"?status={status}"), cancellationToken);

    /// <summary><c>PATCH /api/v1/bugs/{id}</c> with a JSON body of the fields to set.</summary>
    public async Task<BugSummary> TriageBugAsync(string bugId, object fields, CancellationToken cancellationToken)
    {
        using var response = await _http.PatchAsJsonAsync($"api/v1/bugs/{Uri.EscapeDataString(bugId)}", fields, Json, cancellationToken);
        return await ReadAsync<BugSummary>(response, HttpStatusCode.OK, cancellationToken);
    }

    /// <summary>Any request with an optional JSON body: its status and body, whatever they are.</summary>
    public async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, object? json, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = json is null ? null : JsonContent.Create(json, options: Json) };
        using var response = await _http.SendAsync(request, cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public Task<BugSummary> GetBugAsync(string bugId, CancellationToken cancellationToken) =>
        GetAsync<BugSummary>($"api/v1/bugs/{Uri.EscapeDataString(bugId)}", cancellationToken);

    public Task<CrashDetail> GetCrashAsync(string crashId, CancellationToken cancellationToken) =>
        GetAsync<CrashDetail>($"api/v1/crashes/{Uri.EscapeDataString(crashId)}", cancellationToken);

    public Task<byte[]> GetCrashInputAsync(string crashId, CancellationToken cancellationToken) =>
        GetBytesAsync($"api/v1/crashes/{Uri.EscapeDataString(crashId)}/input", cancellationToken);

    public Task<byte[]> GetMinimizedCrashInputAsync(string crashId, CancellationToken cancellationToken) =>
        GetBytesAsync($"api/v1/crashes/{Uri.EscapeDataString(crashId)}/input/minimized", cancellationToken);

    public async Task<byte[]> GetBytesAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken);
        await EnsureStatusAsync(response, HttpStatusCode.OK, cancellationToken);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    public Task<JobSummary> GetJobAsync(string jobId, CancellationToken cancellationToken) =>
        GetAsync<JobSummary>($"api/v1/jobs/{Uri.EscapeDataString(jobId)}", cancellationToken);

    public Task<IReadOnlyList<BotInfo>> GetBotsAsync(CancellationToken cancellationToken) =>
        GetAsync<IReadOnlyList<BotInfo>>("api/v1/bots", cancellationToken);

    public Task<BotInfo> GetBotAsync(string botId, CancellationToken cancellationToken) =>
        GetAsync<BotInfo>($"api/v1/bots/{Uri.EscapeDataString(botId)}", cancellationToken);

    /// <summary>A GET whose answer is returned as is, whatever its status.</summary>
    public async Task<RawResponse> GetRawAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken);
        return await ToRawAsync(response, cancellationToken);
    }

    /// <summary>A PUT of a JSON body whose answer is returned as is.</summary>
    public async Task<RawResponse> PutJsonRawAsync(string path, object body, CancellationToken cancellationToken)
    {
        using var response = await _http.PutAsJsonAsync(path, body, Json, cancellationToken);
        return await ToRawAsync(response, cancellationToken);
    }

    /// <summary>A POST of a JSON body (any shape, so invalid ones too) whose answer is returned as is.</summary>
    public async Task<RawResponse> PostJsonRawAsync(string path, object body, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync(path, body, Json, cancellationToken);
        return await ToRawAsync(response, cancellationToken);
    }

    public async Task<RawResponse> PatchJsonRawAsync(string path, object body, CancellationToken cancellationToken)
    {
        using var response = await _http.PatchAsJsonAsync(path, body, Json, cancellationToken);
        return await ToRawAsync(response, cancellationToken);
    }

    /// <summary><c>POST /api/v1/corpora?name=N</c> with an archive body (zip, tar or tar.gz); expects 201.</summary>
    public async Task<CorpusArchiveInfo> UploadCorpusAsync(string name, byte[] archive, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(archive);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.PostAsync($"api/v1/corpora?name={Uri.EscapeDataString(name)}", content, cancellationToken);
        return await ReadAsync<CorpusArchiveInfo>(response, HttpStatusCode.Created, cancellationToken);
    }

    /// <summary>A POST of raw bytes whose answer is returned as is, whatever its status.</summary>
    public async Task<RawResponse> PostBytesRawAsync(string path, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.PostAsync(path, content, cancellationToken);
        return await ToRawAsync(response, cancellationToken);
    }

    /// <summary>A POST without a body whose answer is returned as is, whatever its status.</summary>
    public async Task<RawResponse> PostEmptyRawAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync(path, content: null, cancellationToken);
        return await ToRawAsync(response, cancellationToken);
    }

    public Task<CorpusInfo> GetCorpusAsync(string campaignId, CancellationToken cancellationToken) =>
        GetAsync<CorpusInfo>($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/corpus", cancellationToken);

    /// <summary><c>GET /api/v1/campaigns/{id}/corpus/archive</c>: the zip of the corpus's current version.</summary>
    public async Task<byte[]> DownloadCorpusArchiveAsync(string campaignId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/corpus/archive", cancellationToken);
        await EnsureStatusAsync(response, HttpStatusCode.OK, cancellationToken);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    /// <summary><c>POST /api/v1/campaigns/{id}/corpus/minimize?timeLimitSeconds=N</c>; expects 202 with the job's id.</summary>
    public async Task<MinimizationInfo> MinimizeCorpusAsync(string campaignId, int timeLimitSeconds, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync(
            $"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/corpus/minimize?timeLimitSeconds={timeLimitSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            content: null,
            cancellationToken);
        return await ReadAsync<MinimizationInfo>(response, HttpStatusCode.Accepted, cancellationToken);
    }

    public Task<StatsSeries> GetCampaignStatsSeriesAsync(string campaignId, CancellationToken cancellationToken) =>
        GetAsync<StatsSeries>($"api/v1/campaigns/{Uri.EscapeDataString(campaignId)}/stats", cancellationToken);

    public Task<StatsSeries> GetJobStatsSeriesAsync(string jobId, CancellationToken cancellationToken, string query = "") =>
        GetAsync<StatsSeries>($"api/v1/jobs/{Uri.EscapeDataString(jobId)}/stats{query}", cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken);
        return await ReadAsync<T>(response, HttpStatusCode.OK, cancellationToken);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        await EnsureStatusAsync(response, expected, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            return JsonSerializer.Deserialize<T>(body, Json)
                ?? throw new ApiException($"{Describe(response)} returned a null body.", response.StatusCode);
        }
        catch (JsonException ex)
        {
            throw new ApiException(
                $"{Describe(response)} returned a body that is not a {typeof(T).Name}: {ex.Message}{Environment.NewLine}{Truncate(body)}",
                response.StatusCode);
        }
    }

    private static async Task EnsureStatusAsync(HttpResponseMessage response, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        if (response.StatusCode != expected)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new ApiException(
                $"{Describe(response)} returned {(int)response.StatusCode} {response.StatusCode}, expected {(int)expected}: {Truncate(body)}",
                response.StatusCode);
        }
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new ApiException(
                $"{Describe(response)} returned {(int)response.StatusCode} {response.StatusCode}: {Truncate(body)}",
                response.StatusCode);
        }
    }

    private static async Task<RawResponse> ToRawAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        new(
            (int)response.StatusCode,
            response.Content.Headers.ContentType?.MediaType,
            await response.Content.ReadAsStringAsync(cancellationToken),
            response.Headers.Location);

    private static string Describe(HttpResponseMessage response) =>
        $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}";

    private static string Truncate(string body) => body.Length <= 2_000 ? body : body[..2_000] + " …";
}
