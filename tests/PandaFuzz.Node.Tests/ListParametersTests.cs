using FluentAssertions;
using Microsoft.AspNetCore.Http.HttpResults;
using PandaFuzz.Gateway;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>The list routes' query parameters: good values parsed, bad ones a 400 problem naming the parameter.</summary>
public sealed class ListParametersTests
{
    [Fact]
    public void No_paging_parameters_give_the_first_hundred()
    {
        ListParameters.TryPage(null, null, out var page).Should().BeNull();

        page.Should().Be(new Page(100, 0));
    }

    [Theory]
    [InlineData("1", "0", 1, 0)]
    [InlineData("1000", "2500", 1000, 2500)]
    [InlineData("50", null, 50, 0)]
    public void Paging_parameters_in_range_are_taken(string? limit, string? offset, int expectedLimit, int expectedOffset)
    {
        ListParameters.TryPage(limit, offset, out var page).Should().BeNull();

        page.Should().Be(new Page(expectedLimit, expectedOffset));
    }

    [Theory]
    [InlineData("0", null, "limit")]
    [InlineData("1001", null, "limit")]
    [InlineData("-1", null, "limit")]
    [InlineData("ten", null, "limit")]
    [InlineData("", null, "limit")]
    [InlineData("10", "-5", "offset")]
    [InlineData("10", "1e3", "offset")]
    [InlineData(null, "99999999999", "offset")]
    public void Paging_parameters_out_of_range_are_refused_by_name(string? limit, string? offset, string parameter)
    {
        ShouldName(ListParameters.TryPage(limit, offset, out _), parameter);
    }

    [Theory]
    [InlineData("running", CampaignStatus.Running)]
    [InlineData("Stopped", CampaignStatus.Stopped)]
    public void A_campaign_status_is_read_by_name(string text, CampaignStatus expected)
    {
        ListParameters.TryStatus<CampaignStatus>(text, out var status).Should().BeNull();

        status.Should().Be(expected);
    }

    [Theory]
    [InlineData("paused")]
    [InlineData("1")]
    [InlineData("")]
    [InlineData("running,stopped")]
    public void An_unknown_status_is_refused_by_name(string text)
    {
        var problem = ListParameters.TryStatus<JobStatus>(text, out _);

        ShouldName(problem, "status");
        problem!.ProblemDetails.Detail.Should().Contain("pending").And.Contain("cancelled");
    }

    [Fact]
    public void Engines_are_the_known_ones_in_their_canonical_spelling()
    {
        ListParameters.TryEngine("LibFuzzer", out var engine).Should().BeNull();
        engine.Should().Be(EngineNames.LibFuzzer);

        ShouldName(ListParameters.TryEngine("honggfuzz", out _), "engine");
        ShouldName(ListParameters.TryEngine("%", out _), "engine");
    }

    [Fact]
    public void Since_is_an_iso_time_and_a_time_without_offset_is_utc()
    {
        ListParameters.TrySince("2026-11-26T10:00:00+02:00", out var since).Should().BeNull();
        since.Should().Be(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
        ListParameters.TrySince("2026-11-26T10:00:00", out var local).Should().BeNull();
        local.Should().Be(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));

        ShouldName(ListParameters.TrySince("yesterday", out _), "since");
        ShouldName(ListParameters.TrySince("", out _), "since");
    }

    [Fact]
    public void Ids_are_checked_in_their_own_format()
    {
        ListParameters.TryId<CampaignId>("campaign", "0123456789ab", CampaignId.TryParse, out var campaign).Should().BeNull();
        campaign.Should().Be(new CampaignId("0123456789ab"));

        ShouldName(ListParameters.TryId<CampaignId>("campaign", "not-a-campaign", CampaignId.TryParse, out _), "campaign");
        ShouldName(ListParameters.TryId<BotId>("bot", "bad bot", BotId.TryParse, out _), "bot");
    }

    [Fact]
    public void Security_is_true_or_false_and_a_kind_is_not_empty()
    {
        ListParameters.TryFlag("security", "true", out var security).Should().BeNull();
        security.Should().BeTrue();
        ListParameters.TryFlag("security", null, out var none).Should().BeNull();
        none.Should().BeNull();
        ShouldName(ListParameters.TryFlag("security", "yes", out _), "security");

        ListParameters.TryKind("heap-buffer-overflow", out var kind).Should().BeNull();
        kind.Should().Be("heap-buffer-overflow");
        ShouldName(ListParameters.TryKind("", out _), "kind");
        ShouldName(ListParameters.TryKind(new string('k', 201), out _), "kind");
    }

    [Fact]
    public void The_first_problem_is_the_one_answered()
    {
        var problem = ListParameters.First(
            ListParameters.TryEngine("libfuzzer", out _),
            ListParameters.TrySince("never", out _),
            ListParameters.TryPage("0", null, out _));

        ShouldName(problem, "since");
    }

    private static void ShouldName(ProblemHttpResult? problem, string parameter)
    {
        problem.Should().NotBeNull();
        problem!.StatusCode.Should().Be(400);
        problem.ProblemDetails.Type.Should().Be(Problems.InvalidType);
        problem.ProblemDetails.Extensions["errors"].Should().BeAssignableTo<IDictionary<string, string[]>>()
            .Which.Keys.Should().Equal(parameter);
    }
}
