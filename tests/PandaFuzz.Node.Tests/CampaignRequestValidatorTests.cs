using FluentAssertions;
using PandaFuzz.Gateway;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Node.Tests;

public sealed class CampaignRequestValidatorTests
{
    private static readonly BlobId Uploaded = BlobId.Of("uploaded fuzz target"u8);

    private static readonly CreateCampaignRequest Valid = new(
        Name: "png decoder v2", TargetId: Uploaded.Sha256, Engine: null, Jobs: 4, DurationSeconds: 3600,
        MemoryLimitMb: null, TimeoutMs: null, Dictionary: null);

    private static (CampaignSpec? Spec, Dictionary<string, string[]> Errors) Validate(CreateCampaignRequest request) =>
        CampaignRequestValidator.Validate(request, id => id == Uploaded);

    [Fact]
    public void A_valid_request_gives_a_spec_with_defaults()
    {
        var (spec, errors) = Validate(Valid);

        errors.Should().BeEmpty();
        spec.Should().Be(new CampaignSpec("png decoder v2", Uploaded, EngineNames.LibFuzzer, 4, 3600, 2048, 1000, null));
    }

    [Fact]
    public void Given_optional_values_are_kept()
    {
        var request = Valid with { Engine = "libfuzzer", MemoryLimitMb = 4096, TimeoutMs = 250, Dictionary = "kw=\"IHDR\"" };

        var (spec, errors) = Validate(request);

        errors.Should().BeEmpty();
        spec.Should().Be(new CampaignSpec("png decoder v2", Uploaded, EngineNames.LibFuzzer, 4, 3600, 4096, 250, "kw=\"IHDR\""));
    }

    [Fact]
    public void The_limits_themselves_are_valid()
    {
        var request = Valid with
        {
            Jobs = CampaignRequestValidator.MaxJobs,
            DurationSeconds = 1,
            MemoryLimitMb = CampaignRequestValidator.MinMemoryLimitMb,
            TimeoutMs = 1,
            Dictionary = new string('a', CampaignRequestValidator.MaxDictionaryChars),
        };

        var (spec, errors) = Validate(request);

        errors.Should().BeEmpty();
        spec.Should().NotBeNull();
    }

    public static TheoryData<string, CreateCampaignRequest> InvalidRequests() => new()
    {
        { "name", Valid with { Name = null } },
        { "name", Valid with { Name = "   " } },
        { "name", Valid with { Name = "../x" } },
        { "name", Valid with { Name = "a/b" } },
        { "name", Valid with { Name = "-leading-dash" } },
        { "name", Valid with { Name = new string('n', 101) } },
        { "jobs", Valid with { Jobs = 0 } },
        { "jobs", Valid with { Jobs = 257 } },
        { "jobs", Valid with { Jobs = null } },
        { "targetId", Valid with { TargetId = null } },
        { "targetId", Valid with { TargetId = "" } },
        { "targetId", Valid with { TargetId = "not-a-sha256" } },
        { "targetId", Valid with { TargetId = Uploaded.Sha256.ToUpperInvariant() } },
        { "targetId", Valid with { TargetId = BlobId.Of("never uploaded"u8).Sha256 } },
        { "engine", Valid with { Engine = "afl" } },
        { "engine", Valid with { Engine = "LibFuzzer" } },
        { "durationSeconds", Valid with { DurationSeconds = 0 } },
        { "durationSeconds", Valid with { DurationSeconds = null } },
        { "durationSeconds", Valid with { DurationSeconds = CampaignRequestValidator.MaxDurationSeconds + 1 } },
        { "memoryLimitMb", Valid with { MemoryLimitMb = 1 } },
        { "memoryLimitMb", Valid with { MemoryLimitMb = CampaignRequestValidator.MaxMemoryLimitMb + 1 } },
        { "timeoutMs", Valid with { TimeoutMs = 0 } },
        { "timeoutMs", Valid with { TimeoutMs = CampaignRequestValidator.MaxTimeoutMs + 1 } },
        { "dictionary", Valid with { Dictionary = new string('a', CampaignRequestValidator.MaxDictionaryChars + 1) } },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public void An_invalid_field_is_reported_under_its_camel_case_name(string field, CreateCampaignRequest request)
    {
        var (spec, errors) = Validate(request);

        spec.Should().BeNull();
        errors.Keys.Should().Equal(field);
        errors[field].Should().ContainSingle().Which.Should().NotBeNullOrWhiteSpace();
    }

    [Fact]
    public void A_missing_target_points_to_the_upload()
    {
        var (_, errors) = Validate(Valid with { TargetId = null });

        errors["targetId"].Single().Should().Contain("POST /api/v1/targets");
    }

    [Fact]
    public void An_unknown_target_is_named_in_the_error()
    {
        var unknown = BlobId.Of("never uploaded"u8).Sha256;

        var (_, errors) = Validate(Valid with { TargetId = unknown });

        errors["targetId"].Single().Should().Contain(unknown);
    }

    [Fact]
    public void Every_invalid_field_is_reported_at_once()
    {
        var request = new CreateCampaignRequest("../x", "zz", "afl", 0, 0, 1, 0, new string('a', CampaignRequestValidator.MaxDictionaryChars + 1));

        var (spec, errors) = Validate(request);

        spec.Should().BeNull();
        errors.Keys.Should().BeEquivalentTo(["name", "targetId", "engine", "jobs", "durationSeconds", "memoryLimitMb", "timeoutMs", "dictionary"]);
    }

    [Fact]
    public void An_unparsable_target_is_not_looked_up()
    {
        var lookedUp = false;

        CampaignRequestValidator.Validate(Valid with { TargetId = "../../etc/passwd" }, _ => lookedUp = true);

        lookedUp.Should().BeFalse();
    }

    [Theory]
    [InlineData("fuzz_target.bin", true)]
    [InlineData("a", true)]
    [InlineData("../fuzz_target", false)]
    [InlineData("dir/fuzz_target", false)]
    [InlineData(".hidden", false)]
    [InlineData(null, false)]
    public void Target_names_are_plain_file_names(string? name, bool valid)
    {
        CampaignRequestValidator.IsValidTargetName(name).Should().Be(valid);
    }

    private static Dictionary<string, Dictionary<string, System.Text.Json.JsonElement>> Options(string json) =>
        System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, System.Text.Json.JsonElement>>>(json)!;

    [Fact]
    public void Engine_options_from_the_allowlists_are_kept_as_text_by_section()
    {
        var request = Valid with
        {
            EngineOptions = Options("""
                {"libfuzzer": {"use_value_profile": true, "-max_len": 256, "only_ascii": "1"},
                 "aflplusplus": {"p": "explore", "input": "file"}, "asan": {"detect_stack_use_after_return": 1}}
                """),
        };

        var (spec, errors) = Validate(request);

        errors.Should().BeEmpty();
        spec!.Options!.LibFuzzer.Should().Equal(new Dictionary<string, string> { ["max_len"] = "256", ["only_ascii"] = "1", ["use_value_profile"] = "1" });
        spec.Options.AflPlusPlus.Should().Equal(new Dictionary<string, string> { ["input"] = "file", ["p"] = "explore" });
        spec.Options.Asan.Should().Equal(new Dictionary<string, string> { ["detect_stack_use_after_return"] = "1" });
        spec.ToJobSpec(0).Options.Should().BeSameAs(spec.Options, "every job runs with the campaign's options");
        spec.SameAs(spec with
        {
            Options = EngineOptions.From(new Dictionary<string, IReadOnlyDictionary<string, string>>
            {
                ["libfuzzer"] = new Dictionary<string, string> { ["use_value_profile"] = "1", ["max_len"] = "256", ["only_ascii"] = "1" },
                ["aflplusplus"] = new Dictionary<string, string> { ["p"] = "explore", ["input"] = "file" },
                ["asan"] = new Dictionary<string, string> { ["detect_stack_use_after_return"] = "1" },
            }),
        }).Should().BeTrue("a retried create with the same options is the same campaign");
        spec.SameAs(spec with { Options = null }).Should().BeFalse();
    }

    [Theory]
    [InlineData("""{"libfuzzer": {"fork": 4}}""", "engineOptions.libfuzzer.fork", "managed by PandaFuzz")]
    [InlineData("""{"libfuzzer": {"-artifact_prefix": "/tmp/"}}""", "engineOptions.libfuzzer.artifact_prefix", "managed by PandaFuzz")]
    [InlineData("""{"libfuzzer": {"max_total_time": 10}}""", "engineOptions.libfuzzer.max_total_time", "durationSeconds")]
    [InlineData("""{"libfuzzer": {"exec_shell": "1"}}""", "engineOptions.libfuzzer.exec_shell", "not a libFuzzer flag")]
    [InlineData("""{"libfuzzer": {"max_len": -1}}""", "engineOptions.libfuzzer.max_len", "whole number")]
    [InlineData("""{"libfuzzer": {"use_value_profile": "yes"}}""", "engineOptions.libfuzzer.use_value_profile", "0 or 1")]
    [InlineData("""{"aflplusplus": {"M": "main"}}""", "engineOptions.aflplusplus.M", "managed by PandaFuzz")]
    [InlineData("""{"aflplusplus": {"p": "fastest"}}""", "engineOptions.aflplusplus.p", "one of explore")]
    [InlineData("""{"aflplusplus": {"l": "4"}}""", "engineOptions.aflplusplus.l", "1, 2 or 3")]
    [InlineData("""{"asan": {"log_path": "/tmp/x"}}""", "engineOptions.asan.log_path", "managed by PandaFuzz")]
    [InlineData("""{"asan": {"coverage_dir": "/"}}""", "engineOptions.asan.coverage_dir", "managed by PandaFuzz")]
    [InlineData("""{"ubsan": {"suppressions": "x"}}""", "engineOptions.ubsan.suppressions", "managed by PandaFuzz")]
    [InlineData("""{"msan": {"exitcode": "0"}}""", "engineOptions.msan.exitcode", "managed by PandaFuzz")]
    [InlineData("""{"asan": {"verbosity": "2"}}""", "engineOptions.asan.verbosity", "not one of the ASAN_OPTIONS keys")]
    [InlineData("""{"asan": {"detect_leaks": "0:log_path=/tmp/x"}}""", "engineOptions.asan.detect_leaks", "a value must be")]
    [InlineData("""{"tsan": {"history_size": "3"}}""", "engineOptions.tsan", "not a section")]
    [InlineData("""{"libfuzzer": {"max_len": {"a": 1}}}""", "engineOptions.libfuzzer.max_len", "string, a number or a boolean")]
    public void A_refused_engine_option_is_named_with_the_reason(string options, string field, string reason)
    {
        var (spec, errors) = Validate(Valid with { EngineOptions = Options(options) });

        spec.Should().BeNull();
        errors.Should().ContainKey(field).WhoseValue.Single().Should().Contain(reason);
    }
}
