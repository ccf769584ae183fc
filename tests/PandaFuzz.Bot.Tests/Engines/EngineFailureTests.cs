using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Tests.Support;
using Xunit;

namespace PandaFuzz.Bot.Tests.Engines;

/// <summary>The engine's own words for a failed run, read from real output.</summary>
public sealed class EngineFailureTests
{
    [Fact]
    public void Afl_fuzz_abort_is_read_without_its_colours()
    {
        var summary = EngineFailure.Summarize(BotFixtures.Afl(BotFixtures.AflNoInstrumentationOutput));

        summary.Should().Be("[-] PROGRAM ABORT : No instrumentation detected");
    }

    [Fact]
    public void The_loader_s_missing_library_is_read()
    {
        // As printed by a libFuzzer target whose shared library was removed (exit 127).
        var tail = "./nobug_missing: error while loading shared libraries: libpfmissing.so: cannot open shared object file: No such file or directory\n";

        EngineFailure.Summarize(tail).Should().StartWith("./nobug_missing: error while loading shared libraries: libpfmissing.so");
    }

    [Fact]
    public void Without_a_marker_the_last_line_is_taken()
    {
        EngineFailure.Summarize("INFO: Seed: 1\nParseDictionaryFile: file does not exist or is empty\n\n")
            .Should().Be("ParseDictionaryFile: file does not exist or is empty");
        EngineFailure.Summarize("").Should().Be("(no output)");
    }
}
