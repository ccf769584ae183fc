using FluentAssertions;
using PandaFuzz.Gateway;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Node.Tests;

public sealed class CrashSarifTests
{
    private static readonly CampaignId Campaign = new("3f2a9c1b0d4e");
    private static readonly DateTimeOffset At = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Each_unique_crash_is_a_result_at_the_top_frame_of_its_state_with_its_signature_as_fingerprint()
    {
        var overflow = Crash("1111111111111111", "Heap-buffer-overflow WRITE 1", "overflow_name", true,
            ["#0 overflow_name /src/two-bugs/two_bugs.c:18", "#1 LLVMFuzzerTestOneInput /src/two-bugs/two_bugs.c:33", "#2 fuzzer::Fuzzer::ExecuteCallback (/tmp/t)"]);
        var leak = Crash("2222222222222222", "Direct-leak", "make_block\nparse", false, ["#0 malloc (/tmp/t)", "#1 make_block src/b.c:4", "#2 parse src/b.c:9"]);

        var sarif = CrashSarif.Build(View(), [overflow, leak]);

        sarif["version"]!.GetValue<string>().Should().Be("2.1.0");
        var run = sarif["runs"]![0]!;
        run["tool"]!["driver"]!["rules"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()).Should().Equal("Direct-leak", "Heap-buffer-overflow");
        var results = run["results"]!.AsArray();
        results.Should().HaveCount(2);

        var first = results[0]!;
        first["ruleId"]!.GetValue<string>().Should().Be("Heap-buffer-overflow");
        first["ruleIndex"]!.GetValue<int>().Should().Be(1);
        first["level"]!.GetValue<string>().Should().Be("error");
        first["partialFingerprints"]!["pandafuzzCrashSignature/v1"]!.GetValue<string>().Should().Be("1111111111111111");
        var physical = first["locations"]![0]!["physicalLocation"]!;
        physical["artifactLocation"]!["uri"]!.GetValue<string>().Should().Be("file:///src/two-bugs/two_bugs.c");
        physical["region"]!["startLine"]!.GetValue<int>().Should().Be(18);
        first["stacks"]![0]!["frames"]!.AsArray().Should().HaveCount(3);

        var second = results[1]!;
        second["level"]!.GetValue<string>().Should().Be("warning");
        second["locations"]![0]!["physicalLocation"]!["artifactLocation"]!["uri"]!.GetValue<string>().Should().Be("src/b.c");
        second["locations"]![0]!["logicalLocations"]![0]!["name"]!.GetValue<string>().Should().Be("make_block");
    }

    private static CampaignQueries.CampaignView View() =>
        new(Campaign, new CampaignSpec("two-bugs", BlobId.Of("t"u8), EngineNames.LibFuzzer, 1, 60, 2048, 1000, null), CampaignStatus.Completed,
            [JobId.For(Campaign, 0)], 2, At, At.AddMinutes(1));

    private static UniqueCrash Crash(string signature, string kind, string state, bool security, IReadOnlyList<string> stack)
    {
        var input = BlobId.Of(System.Text.Encoding.ASCII.GetBytes(signature));
        var id = CrashId.ForSignature(Campaign, signature);
        var finding = new CrashFinding(input, 4, "crash-x", kind, "SUMMARY", stack, "output", At, signature, state, security, 3, 3);
        var record = new CrashRecord(id, Campaign, JobId.For(Campaign, 0), new BotId("bot-0123456789"), finding);
        return new UniqueCrash(id, signature, kind, state, security, 2, At, At, [record.JobId], [record.BotId], record, [input], 6, 6);
    }
}
