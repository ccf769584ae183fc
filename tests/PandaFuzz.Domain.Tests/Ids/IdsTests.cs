using FluentAssertions;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Domain.Tests.Ids;

public sealed class IdsTests
{
    private const string Sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    [Theory]
    [InlineData("3f2a9c1b0d4e")]
    [InlineData("000000000000")]
    public void CampaignId_accepts_twelve_lowercase_hex_digits(string text)
    {
        CampaignId.TryParse(text, out var id).Should().BeTrue();
        id.Should().Be(new CampaignId(text));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("3f2a9c1b0d4")]
    [InlineData("3f2a9c1b0d4e0")]
    [InlineData("3F2A9C1B0D4E")]
    [InlineData("3f2a9c1b0d4g")]
    [InlineData("../x")]
    [InlineData("../../etc/pa")]
    [InlineData("3f2a9c1b0d4e\n")]
    public void CampaignId_rejects_other_shapes(string? text)
    {
        CampaignId.TryParse(text, out _).Should().BeFalse();
    }

    [Fact]
    public void New_campaign_ids_have_the_parsable_shape()
    {
        var id = CampaignId.New();

        CampaignId.TryParse(id.Value, out _).Should().BeTrue();
        CampaignId.New().Should().NotBe(id);
    }

    [Theory]
    [InlineData("3f2a9c1b0d4e-0")]
    [InlineData("3f2a9c1b0d4e-255")]
    [InlineData("3f2a9c1b0d4e-99999")]
    public void JobId_accepts_a_campaign_id_and_an_index(string text)
    {
        JobId.TryParse(text, out var id).Should().BeTrue();
        id.Value.Should().Be(text);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("3f2a9c1b0d4e")]
    [InlineData("3f2a9c1b0d4e-")]
    [InlineData("3f2a9c1b0d4e-100000")]
    [InlineData("3f2a9c1b0d4e--1")]
    [InlineData("3f2a9c1b0d4e-x")]
    [InlineData("3F2A9C1B0D4E-0")]
    [InlineData("../x")]
    [InlineData("3f2a9c1b0d4e-0/../../x")]
    [InlineData("3f2a9c1b0d4e-0\n")]
    public void JobId_rejects_other_shapes(string? text)
    {
        JobId.TryParse(text, out _).Should().BeFalse();
    }

    [Fact]
    public void JobId_For_joins_campaign_and_index()
    {
        JobId.For(new CampaignId("3f2a9c1b0d4e"), 7).Should().Be(new JobId("3f2a9c1b0d4e-7"));
    }

    [Theory]
    [InlineData("bot-a1b2c3d4e5")]
    [InlineData("fuzz-box-1.example.org")]
    [InlineData("B")]
    [InlineData("worker_07")]
    public void BotId_accepts_host_like_names(string text)
    {
        BotId.TryParse(text, out var id).Should().BeTrue();
        id.Value.Should().Be(text);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("-bot")]
    [InlineData("bot/1")]
    [InlineData("bot\\1")]
    [InlineData("bot 1")]
    [InlineData("bot:1")]
    [InlineData("bot-1\n")]
    public void BotId_rejects_paths_and_odd_characters(string? text)
    {
        BotId.TryParse(text, out _).Should().BeFalse();
    }

    [Fact]
    public void BotId_is_at_most_63_characters()
    {
        BotId.TryParse("b" + new string('x', 62), out _).Should().BeTrue();
        BotId.TryParse("b" + new string('x', 63), out _).Should().BeFalse();
    }

    [Fact]
    public void New_bot_ids_have_the_parsable_shape()
    {
        var id = BotId.New();

        BotId.TryParse(id.Value, out _).Should().BeTrue();
        id.Value.Should().StartWith("bot-");
    }

    [Fact]
    public void BlobId_accepts_a_lowercase_sha256()
    {
        BlobId.TryParse(Sha, out var id).Should().BeTrue();
        id.Sha256.Should().Be(Sha);
    }

    [Fact]
    public void BlobId_Of_is_the_sha256_of_the_bytes()
    {
        BlobId.Of("test"u8).Should().Be(new BlobId(Sha));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("../x")]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0")]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a081")]
    [InlineData("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08")]
    [InlineData("../86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n")]
    public void BlobId_rejects_other_shapes(string? text)
    {
        BlobId.TryParse(text, out _).Should().BeFalse();
    }

    [Fact]
    public void CrashId_For_is_the_campaign_and_the_first_16_hex_of_the_input()
    {
        var id = CrashId.For(new CampaignId("3f2a9c1b0d4e"), new BlobId(Sha));

        id.Should().Be(new CrashId("3f2a9c1b0d4e-9f86d081884c7d65"));
        CrashId.TryParse(id.Value, out _).Should().BeTrue();
    }

    [Fact]
    public void CrashId_names_its_campaign()
    {
        new CrashId("3f2a9c1b0d4e-9f86d081884c7d65").Campaign.Should().Be(new CampaignId("3f2a9c1b0d4e"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("../x")]
    [InlineData("3f2a9c1b0d4e")]
    [InlineData("3f2a9c1b0d4e-9f86d081884c7d6")]
    [InlineData("3f2a9c1b0d4e-9f86d081884c7d659")]
    [InlineData("3f2a9c1b0d4e-0")]
    [InlineData("3f2a9c1b0d4e/9f86d081884c7d65")]
    [InlineData("3f2a9c1b0d4e-9F86D081884C7D65")]
    [InlineData("../a9c1b0d4e-9f86d081884c7d65")]
    [InlineData("3f2a9c1b0d4e-9f86d081884c7d65\n")]
    public void CrashId_rejects_other_shapes(string? text)
    {
        CrashId.TryParse(text, out _).Should().BeFalse();
    }
}
