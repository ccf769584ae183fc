using FluentAssertions;
using PandaFuzz.Domain.Engines;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Domain.Tests.Engines;

/// <summary>
/// <c>.options</c> files as OSS-Fuzz writes them: allowed options become the target's defaults, <c>timeout</c>,
/// <c>rss_limit_mb</c> and <c>dict</c> become the campaign defaults they stand for, and everything else is listed as
/// ignored with why; nothing in a file is an error.
/// </summary>
public sealed class OptionsFileTests
{
    [Fact]
    public void Sections_keys_and_comments_are_read_into_engine_options()
    {
        var read = OptionsFile.Read("""
            # a comment
            ; another
            [libfuzzer]
            max_len = 1024
            use_value_profile=1

            [AFL]
            p: explore
            [asan]
            detect_leaks = 0
            [ubsan]
            print_summary = 1
            [msan]
            poison_in_dtor = 1
            """.Replace("\n", "\r\n"));

        read.Ignored.Should().BeEmpty();
        read.Options!.LibFuzzer.Should().Equal(new Dictionary<string, string> { ["max_len"] = "1024", ["use_value_profile"] = "1" });
        read.Options.AflPlusPlus.Should().Equal(new Dictionary<string, string> { ["p"] = "explore" });
        read.Options.Asan.Should().Equal(new Dictionary<string, string> { ["detect_leaks"] = "0" });
        read.Options.Ubsan.Should().Equal(new Dictionary<string, string> { ["print_summary"] = "1" });
        read.Options.Msan.Should().Equal(new Dictionary<string, string> { ["poison_in_dtor"] = "1" });
        OptionsFile.Read("[aflplusplus]\nL = 0\n").Options!.AflPlusPlus.Should().Equal(new Dictionary<string, string> { ["L"] = "0" });
    }

    [Fact]
    public void Managed_libfuzzer_flags_become_campaign_defaults()
    {
        var read = OptionsFile.Read("[libfuzzer]\ntimeout = 25\nrss_limit_mb = 2560\ndict = parser.dict\n");

        read.TimeoutMs.Should().Be(25_000);
        read.MemoryLimitMb.Should().Be(2560);
        read.Dictionary.Should().Be("parser.dict");
        read.Options.Should().BeNull("nothing else is set");
        read.Ignored.Should().BeEmpty();
    }

    [Fact]
    public void What_PandaFuzz_cannot_take_is_ignored_with_the_reason()
    {
        var read = OptionsFile.Read("""
            stray = 1
            [libfuzzer]
            close_fd_mask = 3
            fork = 4
            max_len = huge
            no_such_flag = 1
            timeout = 0
            rss_limit_mb = 0
            dict = ../etc/passwd
            only_ascii = 1
            [asan]
            log_path = /tmp/x
            detect_leaks = 0
            [env]
            LD_PRELOAD = evil.so
            not an option line
            """);

        read.Options!.LibFuzzer.Should().Equal(new Dictionary<string, string> { ["only_ascii"] = "1" });
        read.Options.Asan.Should().Equal(new Dictionary<string, string> { ["detect_leaks"] = "0" });
        read.TimeoutMs.Should().BeNull();
        read.MemoryLimitMb.Should().BeNull();
        read.Dictionary.Should().BeNull();
        var ignored = read.Ignored.ToDictionary(i => i.Option, i => i.Reason);
        ignored.Keys.Should().BeEquivalentTo(
            "stray", "libfuzzer.close_fd_mask", "libfuzzer.fork", "libfuzzer.max_len", "libfuzzer.no_such_flag", "libfuzzer.timeout",
            "libfuzzer.rss_limit_mb", "libfuzzer.dict", "asan.log_path", "env.LD_PRELOAD", "line 16");
        ignored["libfuzzer.close_fd_mask"].Should().Contain("managed by PandaFuzz");
        ignored["libfuzzer.max_len"].Should().Contain("whole number");
        ignored["libfuzzer.timeout"].Should().Contain("whole seconds");
        ignored["libfuzzer.dict"].Should().Contain("beside the target");
        ignored["asan.log_path"].Should().Contain("crash triage");
        ignored["env.LD_PRELOAD"].Should().Contain("[env] is not a section");
        ignored["stray"].Should().Contain("outside a section");
    }

    [Fact]
    public void An_empty_file_sets_nothing()
    {
        OptionsFile.Read("").Should().BeEquivalentTo(TargetOptionDefaults.None);
        OptionsFile.Read("[libfuzzer]\n").Options.Should().BeNull();
        EngineOptionRules.Check(OptionsFile.Read("[libfuzzer]\nfork=1\nmax_len=8\n").Options).Should().BeEmpty("what is kept passes the allowlists");
    }
}
