using FluentAssertions;
using PandaFuzz.CommandHost;
using PandaFuzz.Infrastructure.Logging;
using PandaFuzz.Node.Observability;
using Serilog;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>Secrets in URLs never reach a log line: user info and token query values are masked, webhooks show only their host.</summary>
public sealed class SecretUrlsTests
{
    [Theory]
    [InlineData("https://alice:s3cret@hooks.example/crash", "https://***@hooks.example/crash")]
    [InlineData("posting to http://token123@10.0.0.1:8080/x and https://b:c@d.example", "posting to http://***@10.0.0.1:8080/x and https://***@d.example")]
    [InlineData("https://hooks.example/x?token=abc&name=ok&api_key=k1", "https://hooks.example/x?token=***&name=ok&api_key=***")]
    [InlineData("Host=db;Username=pf;Password=hunter2;Database=x", "Host=db;Username=pf;Password=***;Database=x")]
    [InlineData("no secrets here: exit code 139, 3 jobs", "no secrets here: exit code 139, 3 jobs")]
    public void Redact_masks_user_info_and_secret_query_values(string text, string expected) =>
        SecretUrls.Redact(text).Should().Be(expected);

    [Theory]
    [InlineData("https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com/***")]
    [InlineData("http://127.0.0.1:9999/", "http://127.0.0.1:9999")]
    [InlineData("https://u:p@example.org:8443/hook?k=v", "https://example.org:8443/***")]
    [InlineData("not a url", "***")]
    public void A_webhook_shows_only_where_it_goes(string url, string shown) =>
        SecretUrls.Display(url).Should().Be(shown);

    [Fact]
    public void Every_property_of_a_log_event_is_redacted_before_the_log_peek_sees_it()
    {
        var peek = new RecentLog();
        using var logger = new LoggerConfiguration().Enrich.With<SecretRedactingEnricher>().WriteTo.Sink(peek).CreateLogger();

        logger.Information("Webhooks {Urls}, proxy {Proxy}, {Count} tries", new[] { "https://a:b@x.example/h" }, new Uri("http://user:pw@proxy.example:3128/"), 3);

        var line = peek.Peek(10).Should().ContainSingle().Subject;
        line.Should().NotContain("a:b").And.NotContain("user:pw").And.Contain("https://***@x.example/h").And.Contain("3 tries");
    }
}
