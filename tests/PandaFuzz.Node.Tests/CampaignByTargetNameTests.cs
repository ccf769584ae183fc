using FluentAssertions;
using PandaFuzz.Gateway;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>A campaign request by target name stands for the request by binaries of its newest (or pinned) build.</summary>
public sealed class CampaignByTargetNameTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly BlobId Any1 = BlobId.Of("build 1"u8);
    private static readonly BlobId Any2 = BlobId.Of("build 2"u8);
    private static readonly BlobId Afl2 = BlobId.Of("build 2 for afl"u8);

    private static readonly TargetQueries.TargetBuilds Builds = new("parser",
    [
        new TargetBuild(1, "r1", T0, T0, [new TargetBinary(TargetBinaryKinds.Fuzzer, Any1, 10)]),
        new TargetBuild(2, "r2", T0, T0, [new TargetBinary(TargetBinaryKinds.Fuzzer, Any2, 10), new TargetBinary(EngineNames.AflPlusPlus, Afl2, 10)]),
        new TargetBuild(3, "r3", T0, T0, [new TargetBinary(EngineNames.LibFuzzer, BlobId.Of("build 3 for libfuzzer"u8), 10)]),
    ]);

    private static readonly CreateCampaignRequest ByName = new(
        Name: "nightly", TargetId: null, Engine: null, Jobs: 2, DurationSeconds: 600, MemoryLimitMb: null, TimeoutMs: null, Dictionary: null, Target: "parser");

    [Fact]
    public void A_build_gives_each_engine_its_binary_and_the_spec_follows()
    {
        var (resolved, errors) = CampaignRequestValidator.ForBuild(ByName with { Engines = [EngineNames.LibFuzzer, EngineNames.AflPlusPlus], Build = 2 }, Builds);

        errors.Should().BeEmpty();
        resolved!.Value.Build.Number.Should().Be(2);
        resolved.Value.Request.Targets.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            [EngineNames.LibFuzzer] = Any2.Sha256, [EngineNames.AflPlusPlus] = Afl2.Sha256,
        }, "an engine's own binary wins over the build's binary for any engine");
        var (spec, specErrors) = CampaignRequestValidator.Validate(resolved.Value.Request, _ => true);
        specErrors.Should().BeEmpty();
        spec!.Engines.Select(e => e.Target).Should().Equal(Any2, Afl2);
    }

    [Fact]
    public void Without_a_build_the_newest_is_fuzzed_and_a_pinned_one_otherwise()
    {
        CampaignRequestValidator.ForBuild(ByName, Builds).Resolved!.Value.Build.Number.Should().Be(3);
        var (resolved, errors) = CampaignRequestValidator.ForBuild(ByName with { Build = 1 }, Builds);

        errors.Should().BeEmpty();
        resolved!.Value.Request.Targets.Should().ContainSingle().Which.Value.Should().Be(Any1.Sha256);
    }

    [Theory]
    [InlineData("target", "no target named")]
    [InlineData("build", "has no build 7")]
    [InlineData("targetId", "not both")]
    [InlineData("engine", "build 3 of target parser has no binary for aflplusplus")]
    public void What_cannot_be_resolved_is_a_problem_naming_its_field(string field, string message)
    {
        var request = field switch
        {
            "target" => ByName with { Target = "unknown" },
            "build" => ByName with { Build = 7 },
            "targetId" => ByName with { TargetId = Any1.Sha256 },
            _ => ByName with { Engine = EngineNames.AflPlusPlus },
        };

        var (resolved, errors) = CampaignRequestValidator.ForBuild(request, field == "target" ? new TargetQueries.TargetBuilds("unknown", []) : Builds);

        resolved.Should().BeNull();
        errors.Should().ContainKey(field).WhoseValue.Single().Should().Contain(message);
    }
}
