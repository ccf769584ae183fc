using FluentAssertions;
using PandaFuzz.Domain.Engines;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Domain.Tests.Engines;

/// <summary>How a campaign's engine and sanitizer options reach command lines and the sanitizers' environment.</summary>
public sealed class EngineOptionRulesTests
{
    private static readonly EngineOptions Options = new(
        LibFuzzer: new Dictionary<string, string> { ["use_value_profile"] = "1", ["detect_leaks"] = "0", ["max_len"] = "256" },
        AflPlusPlus: new Dictionary<string, string> { ["p"] = "explore", ["l"] = "2AT", ["input"] = "file" },
        Asan: new Dictionary<string, string> { ["detect_stack_use_after_return"] = "1", ["detect_leaks"] = "0" },
        Msan: new Dictionary<string, string> { ["poison_in_dtor"] = "1" });

    [Fact]
    public void Allowed_options_pass_the_check()
    {
        EngineOptionRules.Check(Options).Should().BeEmpty();
        EngineOptionRules.Check(null).Should().BeEmpty();
    }

    [Fact]
    public void Engine_flags_are_in_a_stable_order_and_a_reproduction_takes_only_those_that_change_one_run()
    {
        EngineOptionRules.LibFuzzerArguments(Options).Should().Equal("-detect_leaks=0", "-max_len=256", "-use_value_profile=1");
        EngineOptionRules.AflArguments(Options).Should().Equal("-l", "2AT", "-p", "explore");
        EngineOptionRules.AflReadsFile(Options).Should().BeTrue();
        EngineOptionRules.AflReadsFile(null).Should().BeFalse();

        var spec = new JobSpec(BlobId.Of("t"u8), EngineNames.LibFuzzer, 60, 2048, 1000, null, Options: Options);
        Reproduction.For(spec).Arguments.Should().Equal("-rss_limit_mb=2048", "-timeout=1", "-detect_leaks=0", "-runs=1");
    }

    [Theory]
    [InlineData("http.dict", true)]
    [InlineData("dicts/http.dict,common.dict,tokens/a-b_c.dict", true)]
    [InlineData("a.dict,b.dict,c.dict,d.dict", false)]
    [InlineData("../outside.dict", false)]
    [InlineData("dicts/../../outside.dict", false)]
    [InlineData("./here.dict", false)]
    [InlineData("/etc/x.dict", false)]
    [InlineData("http.txt", false)]
    [InlineData("a.dict,", false)]
    [InlineData("a b.dict", false)]
    public void Bundle_dictionaries_are_relative_dict_paths_that_stay_inside_three_at_most(string value, bool allowed)
    {
        var options = new EngineOptions(AflPlusPlus: new Dictionary<string, string> { ["x"] = value });

        EngineOptionRules.Check(options).Should().HaveCount(allowed ? 0 : 1);
        if (allowed)
        {
            EngineOptionRules.AflBundleDictionaries(options).Should().Equal(value.Split(','));
            EngineOptionRules.AflArguments(options).Should().BeEmpty("the engine adds each as -x with the bundle's folder");
        }
    }

    [Fact]
    public void Sanitizer_keys_come_after_the_shipped_ones_and_a_sanitizer_without_shipped_options_gets_a_variable()
    {
        var environment = EngineOptionRules.SanitizerEnvironment(Reproduction.Sanitizers, Options);

        environment["ASAN_OPTIONS"].Should().Be(Reproduction.Sanitizers["ASAN_OPTIONS"] + ":detect_leaks=0:detect_stack_use_after_return=1",
            "a sanitizer takes the last value of a key, so the campaign's win over the shipped defaults");
        environment["UBSAN_OPTIONS"].Should().Be(Reproduction.Sanitizers["UBSAN_OPTIONS"]);
        environment["MSAN_OPTIONS"].Should().Be("poison_in_dtor=1");
        EngineOptionRules.SanitizerEnvironment(Reproduction.Sanitizers, null).Should().BeSameAs(Reproduction.Sanitizers);
    }

    [Fact]
    public void A_campaigns_options_override_a_bundles_defaults_key_by_key()
    {
        var defaults = new EngineOptions(
            LibFuzzer: new Dictionary<string, string> { ["max_len"] = "1024", ["only_ascii"] = "1" },
            Ubsan: new Dictionary<string, string> { ["silence_unsigned_overflow"] = "1" });

        var merged = Options.Over(defaults);

        merged.LibFuzzer.Should().Equal(new Dictionary<string, string> { ["detect_leaks"] = "0", ["max_len"] = "256", ["only_ascii"] = "1", ["use_value_profile"] = "1" });
        merged.Ubsan.Should().Equal(new Dictionary<string, string> { ["silence_unsigned_overflow"] = "1" });
        EngineOptions.Same(merged, Options).Should().BeFalse();
        EngineOptions.Same(Options.Over(null), Options).Should().BeTrue();
        EngineOptions.Same(null, new EngineOptions()).Should().BeTrue("no options and empty options are the same");
    }

    [Fact]
    public void A_launch_shows_as_one_shell_line_with_its_environment_first()
    {
        Reproduction.CommandLine("afl-fuzz", ["-i", "/w/corpus", "--", "/w/target", "@@"], new Dictionary<string, string> { ["B"] = "x y", ["A"] = "1" })
            .Should().Be("A=1 B='x y' afl-fuzz -i /w/corpus -- /w/target '@@'");
    }
}
