using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// <c>Idempotency-Key</c> on <c>POST /api/v1/campaigns</c>: retries of one submit, even concurrent ones, make one
/// campaign; the key with another request is a 409; a malformed key is a 400 naming the header.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class IdempotentSubmitTests(TargetBuilder targets) : EndToEndTest
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public Task Retried_submits_with_one_key_make_one_campaign() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: a master without bots, so the campaigns only queue.
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master"), ct);
            using var api = new ApiClient(master.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, targets.NoBug, ct);
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = master.Options.BaseAddress };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiClient.TestToken);
            var request = new CampaignRequest("retried", target.Id, DurationSeconds: 60);
            var key = Guid.NewGuid().ToString();

            // Act: eight submits with the key at once, as a client retrying on a timeout might.
            var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostAsync(http, request, key, ct)));

            // Assert: all 201 with the one campaign; one of them made it, the others replay it.
            answers.Should().OnlyContain(a => a.Status == HttpStatusCode.Created, string.Join("\n", answers.Select(a => a.Body)));
            answers.Select(a => a.CampaignId).Distinct().Should().ContainSingle();
            var id = answers[0].CampaignId!;
            (await PostAsync(http, request, key, ct)).Should().Match<Answer>(a => a.Status == HttpStatusCode.Created && a.CampaignId == id && a.Replayed);
            var listed = await Eventually.SatisfyAsync("the read model lists the campaign", TimeSpan.FromSeconds(30),
                api.ListCampaignsAsync, list => list.Any(c => c.Id == id), ct, master.EnsureRunning);
            listed.Count(c => c.Name == "retried").Should().Be(1, "retries made no second campaign");
            (await api.GetCampaignAsync(id, ct)).Jobs.Should().HaveCount(1);

            // The key with another request is a conflict; a malformed key is refused naming the header.
            var other = await PostAsync(http, request with { Jobs = 2 }, key, ct);
            other.Status.Should().Be(HttpStatusCode.Conflict, other.Body);
            other.Body.Should().Contain("Idempotency-Key");
            var malformed = await PostAsync(http, request, "has spaces in it", ct);
            malformed.Status.Should().Be(HttpStatusCode.BadRequest, malformed.Body);
            malformed.Body.Should().Contain("\"Idempotency-Key\"");

            // Without a key every submit is a campaign of its own.
            var first = await PostAsync(http, request with { Name = "unkeyed" }, null, ct);
            var second = await PostAsync(http, request with { Name = "unkeyed" }, null, ct);
            first.CampaignId.Should().NotBe(second.CampaignId);
        });

    private static async Task<Answer> PostAsync(HttpClient http, CampaignRequest request, string? key, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "api/v1/campaigns") { Content = JsonContent.Create(request, options: Json) };
        if (key is not null)
        {
            message.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        using var response = await http.SendAsync(message, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        string? id = null;
        if (response.StatusCode == HttpStatusCode.Created)
        {
            using var json = JsonDocument.Parse(body);
            id = json.RootElement.GetProperty("id").GetString();
        }

        return new Answer(response.StatusCode, body, id, response.Headers.TryGetValues("Idempotent-Replayed", out var replayed) && replayed.Contains("true"));
    }

    private sealed record Answer(HttpStatusCode Status, string Body, string? CampaignId, bool Replayed);
}
