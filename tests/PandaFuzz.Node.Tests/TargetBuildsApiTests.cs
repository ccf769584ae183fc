using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>
/// <c>POST /api/v1/targets?name=N</c> adds builds to the named target, over real HTTP and a real target entity: numbered
/// in order, a binary of another kind joins the build its revision (or <c>build</c>) names, the same upload again
/// changes nothing, and <c>GET /targets/{name}/builds</c> lists them.
/// </summary>
public sealed class TargetBuildsApiTests : IAsyncLifetime
{
    private MasterApiHost? _host;

    public async Task InitializeAsync() => _host = await MasterApiHost.StartAsync();

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task Uploads_under_one_name_are_numbered_builds_and_a_revision_gathers_the_binaries_of_one_build()
    {
        using var http = _host!.Client(token: true);

        var first = await Upload(http, "name=parser&revision=abc123&createdAt=2026-12-01T10:00:00Z", "one");
        first.Status.Should().Be(HttpStatusCode.Created);
        first.Body.GetProperty("newBuild").GetBoolean().Should().BeTrue();
        first.Body.GetProperty("build").GetInt32().Should().Be(1);
        first.Body.GetProperty("kind").GetString().Should().Be("fuzzer");
        first.Body.GetProperty("revision").GetString().Should().Be("abc123");
        first.Location.Should().Be("/api/v1/targets/parser/builds/1");

        // Its AFL++ binary and its coverage build join build 1 by its revision.
        (await Upload(http, "name=parser&revision=abc123&kind=aflplusplus", "one-afl")).Body.GetProperty("newBuild").GetBoolean().Should().BeFalse();
        (await Upload(http, "name=parser&build=1&kind=coverage", "one-cov")).Body.GetProperty("build").GetInt32().Should().Be(1);
        // The same binary again is the same build.
        var again = await Upload(http, "name=parser&revision=abc123", "one");
        again.Status.Should().Be(HttpStatusCode.Created, "an upload answers 201 whether its build is new or not");
        again.Body.GetProperty("newBuild").GetBoolean().Should().BeFalse();
        again.Body.GetProperty("build").GetInt32().Should().Be(1);

        var second = await Upload(http, "name=parser&revision=def456", "two");
        second.Status.Should().Be(HttpStatusCode.Created);
        second.Body.GetProperty("build").GetInt32().Should().Be(2);
        // Without a label, a new binary is a new build; the newest build's binary again is not.
        (await Upload(http, "name=parser", "three")).Body.GetProperty("build").GetInt32().Should().Be(3);
        (await Upload(http, "name=parser", "three")).Body.GetProperty("newBuild").GetBoolean().Should().BeFalse();

        var builds = await http.GetFromJsonAsync<JsonElement>("/api/v1/targets/parser/builds");
        builds.EnumerateArray().Select(b => b.GetProperty("number").GetInt32()).Should().Equal(1, 2, 3);
        var one = builds[0];
        one.GetProperty("revision").GetString().Should().Be("abc123");
        one.GetProperty("createdAt").GetDateTimeOffset().Should().Be(DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        one.GetProperty("binaries").EnumerateArray().Select(b => b.GetProperty("kind").GetString()).Should().BeEquivalentTo("fuzzer", "aflplusplus", "coverage");
        one.GetProperty("binaries")[0].GetProperty("id").GetString().Should().Be(first.Body.GetProperty("id").GetString());
        builds[2].GetProperty("revision").ValueKind.Should().Be(JsonValueKind.Null);

        var build2 = await http.GetFromJsonAsync<JsonElement>("/api/v1/targets/parser/builds/2");
        build2.GetProperty("revision").GetString().Should().Be("def456");
    }

    [Fact]
    public async Task A_build_keeps_one_binary_per_kind_and_bad_parameters_are_problems_naming_them()
    {
        using var http = _host!.Client(token: true);
        (await Upload(http, "name=lib&revision=r1", "a")).Status.Should().Be(HttpStatusCode.Created);

        var clash = await Upload(http, "name=lib&revision=r1", "b");
        clash.Status.Should().Be(HttpStatusCode.Conflict);
        clash.Body.GetProperty("detail").GetString().Should().Contain("already has a fuzzer binary");

        (await Upload(http, "name=lib&build=7&kind=coverage", "c")).Status.Should().Be(HttpStatusCode.NotFound);
        await Invalid(http, "name=lib&kind=debug", "kind");
        await Invalid(http, "name=lib&build=0", "build");
        await Invalid(http, "name=lib&createdAt=yesterday", "createdAt");
        await Invalid(http, "name=lib&revision=a%20b", "revision");

        (await http.GetAsync("/api/v1/targets/nothing-here/builds")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await http.GetAsync("/api/v1/targets/lib/builds/2")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await http.GetFromJsonAsync<JsonElement>("/api/v1/targets/lib/builds")).GetArrayLength().Should().Be(1);
    }

    private static async Task Invalid(HttpClient http, string query, string field)
    {
        var answer = await Upload(http, query, "x");
        answer.Status.Should().Be(HttpStatusCode.BadRequest, query);
        answer.Body.GetProperty("errors").TryGetProperty(field, out _).Should().BeTrue($"the problem of {query} names {field}");
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body, string? Location)> Upload(HttpClient http, string query, string content)
    {
        using var response = await http.PostAsync($"/api/v1/targets?{query}", new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(content)));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (response.StatusCode, body, response.Headers.Location?.OriginalString);
    }
}
