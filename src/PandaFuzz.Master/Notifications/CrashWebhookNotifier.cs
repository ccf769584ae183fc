using PandaFuzz.Infrastructure.Logging;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Protocol;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace PandaFuzz.Master.Notifications;

/// <summary>A campaign found a new unique crash, sent once it is durable; <paramref name="NewBug"/> for a bug's first crash.</summary>
public sealed record NewUniqueCrash(CampaignId CampaignId, string CampaignName, UniqueCrash Crash, BugId? BugId = null, bool NewBug = true);

/// <summary>A fix verification changed a bug's status (fixed or regressed) in <paramref name="Build"/>.</summary>
public sealed record BugStatusChanged(CampaignId CampaignId, string CampaignName, BugGroup Bug, int Build);

/// <summary>A webhook POST's body: <c>bug.new</c> for a new bug's first crash, <c>crash.new</c> for every new unique crash.</summary>
public sealed record CrashWebhookPayload(
    string Event,
    string CampaignId,
    string CampaignName,
    string CrashId,
    string Signature,
    string Kind,
    string State,
    bool Security,
    bool Reproducible,
    double ReproducibleRate,
    string JobId,
    string BotId,
    DateTimeOffset FirstSeen,
    string CrashPath,
    string InputPath,
    string? BugId = null,
    string? BugPath = null,
    bool NewBug = false)
{
    public const string NewCrashEvent = "crash.new";

    public const string NewBugEvent = "bug.new";

    public static CrashWebhookPayload From(NewUniqueCrash found, string @event = NewCrashEvent)
    {
        var crash = found.Crash;
        return new(@event, found.CampaignId.Value, found.CampaignName, crash.Id.Value, crash.Signature, crash.Kind, crash.State,
            crash.Security, crash.IsReproducible, Math.Round(crash.ReproducibleRate, 4), crash.First.JobId.Value, crash.First.BotId.Value,
            crash.FirstSeen, $"/api/v1/crashes/{crash.Id.Value}", $"/api/v1/crashes/{crash.Id.Value}/input",
            found.BugId?.Value, found.BugId is { } bug ? $"/api/v1/bugs/{bug.Value}" : null, found.NewBug);
    }
}

/// <summary>
/// A webhook POST's body when a fix verification changed a bug: <c>bug.fixed</c> (no longer crashes in <c>build</c>) or
/// <c>bug.regressed</c> (a fixed bug crashes again in <c>build</c>), with the ranges of builds as the API shows them.
/// </summary>
public sealed record BugWebhookPayload(
    string Event,
    string CampaignId,
    string CampaignName,
    string BugId,
    string BugPath,
    string Status,
    int Build,
    string Kind,
    string State,
    bool Security,
    int? FixedIn,
    int? LastReproducedIn,
    int? RegressedIn,
    int? LastFixedIn)
{
    public const string FixedEvent = "bug.fixed";

    public const string RegressedEvent = "bug.regressed";

    public static BugWebhookPayload From(BugStatusChanged changed)
    {
        var bug = changed.Bug;
        return new(bug.Status == BugStatus.Regressed ? RegressedEvent : FixedEvent, changed.CampaignId.Value, changed.CampaignName, bug.Id.Value,
            $"/api/v1/bugs/{bug.Id.Value}", bug.Status.ToString().ToLowerInvariant(), changed.Build, bug.Leader.Kind, bug.Leader.State, bug.Security,
            bug.FixedRange.First, bug.FixedRange.LastBefore, bug.RegressedRange.First, bug.RegressedRange.LastBefore);
    }
}

/// <summary>
/// POSTs each new unique crash to the webhooks, each retried on its own with backoff and jitter; the campaign only
/// tells, so a slow receiver never holds up fuzzing. Past <see cref="MaxInFlight"/> pending, the oldest are dropped.
/// </summary>
public sealed class CrashWebhookNotifier : ReceiveActor
{
    public const int MaxInFlight = 1000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HttpClient _http;
    private WebhookSettings _settings;
    private ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly CancellationTokenSource _stopping = new();
    private int _inFlight;

    public CrashWebhookNotifier(WebhookSettings settings, HttpClient http)
    {
        _settings = settings;
        _http = http;
        _pipeline = Pipeline(settings);

        Receive<NewUniqueCrash>(Announce);
        Receive<BugStatusChanged>(changed =>
        {
            var payload = BugWebhookPayload.From(changed);
            Post(payload, payload.BugId);
        });
        // A configuration reload: announcements from now on go to the new targets; those under way finish as they started.
        Receive<WebhookSettings>(changed =>
        {
            _settings = changed;
            _pipeline = Pipeline(changed);
            _log.Info("Crash webhooks are now {Webhooks}", changed.Urls.Count == 0 ? "none" : string.Join(", ", changed.Urls.Select(SecretUrls.Display)));
        });
        Receive<Delivered>(delivered =>
        {
            _inFlight--;
            if (delivered.Error is null)
            {
                _log.Info("Announced {About} to {Webhook}", delivered.About, SecretUrls.Display(delivered.Url));
            }
            else
            {
                _log.Warning("Could not announce {About} to {Webhook} after {Attempts} attempts: {Reason}",
                    delivered.About, SecretUrls.Display(delivered.Url), _settings.MaxAttempts, delivered.Error);
            }
        });
    }

    protected override void PostStop() => _stopping.Cancel();

    private static ResiliencePipeline<HttpResponseMessage> Pipeline(WebhookSettings settings) =>
        new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(0, settings.MaxAttempts - 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.FirstRetry,
                MaxDelay = TimeSpan.FromMinutes(5),
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutRejectedException>()
                    .HandleResult(r => !r.IsSuccessStatusCode),
            })
            .AddTimeout(settings.Timeout)
            .Build();

    private void Announce(NewUniqueCrash found)
    {
        // A new bug first, so a receiver that follows bugs hears of it before its crash.
        if (found.NewBug && found.BugId is not null)
        {
            Post(CrashWebhookPayload.From(found, CrashWebhookPayload.NewBugEvent), found.Crash.Id.Value);
        }

        Post(CrashWebhookPayload.From(found), found.Crash.Id.Value);
    }

    /// <summary>The header of a signed body: <c>sha256=</c> and the hex HMAC-SHA256 of the body's bytes under the secret.</summary>
    public const string SignatureHeader = "X-PandaFuzz-Signature";

    public static string Sign(byte[] body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), body));

    private void Post(object payload, string about)
    {
        // Serialized once: the signature covers exactly the bytes sent.
        var body = JsonSerializer.SerializeToUtf8Bytes(payload, payload.GetType(), Json);
        var signature = _settings.Secret.Length > 0 ? Sign(body, _settings.Secret) : null;
        foreach (var url in _settings.Urls)
        {
            if (_inFlight >= MaxInFlight)
            {
                _log.Warning("{Count} webhook announcements are pending; {About} is not announced to {Webhook}", _inFlight, about, SecretUrls.Display(url));
                continue;
            }

            _inFlight++;
            DeliverAsync(url, body, signature, about).PipeTo(Self);
        }
    }

    private async Task<Delivered> DeliverAsync(Uri url, byte[] body, string? signature, string about)
    {
        try
        {
            using var response = await _pipeline.ExecuteAsync(
                async ct =>
                {
                    using var content = new ByteArrayContent(body);
                    content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                    using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
                    if (signature is not null)
                    {
                        request.Headers.Add(SignatureHeader, signature);
                    }

                    return await _http.SendAsync(request, ct);
                },
                _stopping.Token);
            return response.IsSuccessStatusCode
                ? new Delivered(about, url, null)
                : new Delivered(about, url, $"HTTP {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException or OperationCanceledException)
        {
            return new Delivered(about, url, e.Message);
        }
    }

    private sealed record Delivered(string About, Uri Url, string? Error);
}

/// <summary>Registry key of the master's crash webhook notifier.</summary>
public sealed class CrashNotifier;

/// <summary>Hosting for the crash webhook notifier, one per master node.</summary>
public static class CrashWebhookNotifierHosting
{
    public static AkkaConfigurationBuilder AddCrashWebhookNotifier(this AkkaConfigurationBuilder builder, WebhookSettings settings) =>
        builder.WithActors((system, registry) =>
        {
            var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            {
                Timeout = Timeout.InfiniteTimeSpan, // each attempt has its own timeout in the pipeline
            };
            registry.Register<CrashNotifier>(system.ActorOf(Props.Create(() => new CrashWebhookNotifier(settings, http)), "crash-webhooks"));
        });
}
