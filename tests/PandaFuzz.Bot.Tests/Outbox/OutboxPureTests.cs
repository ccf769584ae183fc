using FluentAssertions;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Tests.Support;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Bot.Tests.Outbox;

/// <summary>The outbox's pure parts: its file format, its backoff, what it delivers and what acknowledges it.</summary>
public sealed class OutboxPureTests
{
    private static readonly OutboxRecord Record = new(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), 5710, "ReportJobFinished", "{\"a\":1}"u8.ToArray());

    [Fact]
    public void A_file_reads_back_as_it_was_written()
    {
        var (record, problem) = OutboxFile.Decode(OutboxFile.Encode(Record));

        problem.Should().BeNull();
        record!.EnqueuedAt.Should().Be(Record.EnqueuedAt);
        record.SerializerId.Should().Be(5710);
        record.Manifest.Should().Be("ReportJobFinished");
        record.Payload.Should().Equal(Record.Payload);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(30)]
    [InlineData(-1)]
    public void A_truncated_file_is_recognised(int keep)
    {
        var bytes = OutboxFile.Encode(Record);

        var (record, problem) = OutboxFile.Decode(bytes[..(keep < 0 ? bytes.Length - 1 : keep)]);

        record.Should().BeNull();
        problem.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void A_damaged_byte_is_recognised()
    {
        var bytes = OutboxFile.Encode(Record);
        bytes[20] ^= 0x40;

        OutboxFile.Decode(bytes).Problem.Should().Contain("checksum");
    }

    [Fact]
    public void The_backoff_doubles_up_to_its_cap_and_jitter_takes_at_most_half_off()
    {
        var backoff = new RetryBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));

        Enumerable.Range(1, 6).Select(n => backoff.Delay(n, 0)).Should().Equal(
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        backoff.Delay(3, 0.999).Should().BeCloseTo(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(5));
        backoff.Delay(1000, 0.5).Should().Be(TimeSpan.FromSeconds(7.5));
        // The longest n-th delay is never longer than the shortest (n+1)-th below the cap.
        backoff.Delay(2, 0).Should().BeLessThanOrEqualTo(backoff.Delay(3, 0.999999));
    }

    [Fact]
    public void Each_message_has_its_own_key_destination_and_acknowledgement()
    {
        var input = "x"u8.ToArray();
        var crash = BotTestConfig.Crash(BotTestConfig.Job(1), input);
        var other = BotTestConfig.Crash(BotTestConfig.Job(1), "y"u8.ToArray());
        var finished = new JobCommands.ReportJobFinished(BotTestConfig.Job(1), crash.BotId, true, null, null);

        OutboxEntry.Of(crash)!.Should().Be(new OutboxEntry($"crash-{crash.JobId.Value}-{crash.Finding.Input.Sha256}", OutboxDestination.Campaign, crash.Finding.Input));
        OutboxEntry.Of(other)!.Key.Should().NotBe(OutboxEntry.Of(crash)!.Key);
        OutboxEntry.Of(finished)!.Destination.Should().Be(OutboxDestination.Job);
        OutboxEntry.Of(new JobCommands.ReportJobStats(crash.JobId, crash.BotId, FuzzerStats.Empty(DateTimeOffset.UtcNow))).Should().BeNull("stats are fire and forget");

        OutboxEntry.Judge(crash, new CampaignCommands.CrashAccepted(crash.CampaignId, new CrashId("c"), crash.Finding.Input)).Should().Be(OutboxAnswer.Acknowledged);
        OutboxEntry.Judge(crash, new CampaignCommands.CrashAccepted(crash.CampaignId, new CrashId("c"), other.Finding.Input)).Should().Be(OutboxAnswer.Unexpected);
        OutboxEntry.Judge(crash, Ack.Instance).Should().Be(OutboxAnswer.Unexpected);
        OutboxEntry.Judge(finished, Ack.Instance).Should().Be(OutboxAnswer.Acknowledged);
        OutboxEntry.Judge(finished, new CommandRejected("no", RejectionKind.NotFound)).Should().Be(OutboxAnswer.Refused);

        var report = BlobId.Of("coverage report"u8);
        var coverage = new CampaignCommands.ReportCoverage(crash.CampaignId, BotTestConfig.Job(2), 1, 39, report, 4_096, DateTimeOffset.UtcNow, "akka://bot/user/bot-blobs");
        OutboxEntry.Of(coverage)!.Should().Be(new OutboxEntry($"coverage-{BotTestConfig.Job(2).Value}", OutboxDestination.Campaign, report));
        OutboxEntry.Judge(coverage, Ack.Instance).Should().Be(OutboxAnswer.Acknowledged);
    }
}
