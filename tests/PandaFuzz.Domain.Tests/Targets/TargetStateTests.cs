using FluentAssertions;
using PandaFuzz.Domain.Targets;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Protocol.TargetEvents;

namespace PandaFuzz.Domain.Tests.Targets;

public sealed class TargetStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private static TargetBinary Binary(string kind, string content) => new(kind, BlobId.Of(System.Text.Encoding.UTF8.GetBytes(content)), content.Length);

    private static TargetState Run(TargetState state, Decision decision)
    {
        decision.Rejected.Should().BeFalse(decision.Rejection);
        return decision.Aggregate(state, (s, e) => s.Apply(e));
    }

    [Fact]
    public void Builds_are_numbered_in_the_order_they_are_added_and_keep_their_label_and_build_time()
    {
        var state = TargetState.Empty("parser");
        state = Run(state, state.AddBinary(Binary("fuzzer", "a"), "abc", T0.AddDays(-1), null, T0));
        state = Run(state, state.AddBinary(Binary("fuzzer", "b"), null, null, null, T0.AddHours(1)));

        state.Builds.Select(b => b.Number).Should().Equal(1, 2);
        state.Builds[0].Revision.Should().Be("abc");
        state.Builds[0].CreatedAt.Should().Be(T0.AddDays(-1));
        state.Builds[1].CreatedAt.Should().Be(T0.AddHours(1), "a build without its own time was made when it was uploaded");
        state.Newest!.FuzzingBinaryFor(EngineNames.LibFuzzer)!.Binary.Should().Be(Binary("fuzzer", "b").Binary);
    }

    [Fact]
    public void Binaries_of_other_kinds_join_the_build_their_revision_or_number_names()
    {
        var state = TargetState.Empty("parser");
        state = Run(state, state.AddBinary(Binary("libfuzzer", "lf"), "r1", null, null, T0));
        var afl = state.AddBinary(Binary("aflplusplus", "afl"), "r1", null, null, T0);
        afl.Should().ContainSingle().Which.Should().BeOfType<TargetBuildBinaryAdded>().Which.Build.Should().Be(1);
        state = Run(state, afl);
        state = Run(state, state.AddBinary(Binary("coverage", "cov"), null, null, 1, T0));

        state.Builds.Should().ContainSingle();
        state.Builds[0].Binaries.Select(b => b.Kind).Should().Equal("libfuzzer", "aflplusplus", "coverage");
        state.Builds[0].FuzzingBinaryFor(EngineNames.AflPlusPlus)!.Binary.Should().Be(Binary("aflplusplus", "afl").Binary);
        state.Builds[0].FuzzingBinaryFor(EngineNames.Simulated).Should().BeNull("the build has no binary for any engine");
    }

    [Fact]
    public void The_same_upload_again_changes_nothing_and_another_binary_of_a_kind_a_build_has_is_refused()
    {
        var state = TargetState.Empty("parser");
        state = Run(state, state.AddBinary(Binary("fuzzer", "a"), "r1", null, null, T0));

        state.AddBinary(Binary("fuzzer", "a"), "r1", null, null, T0).Should().BeEmpty();
        state.AddBinary(Binary("fuzzer", "a"), null, null, null, T0).Should().BeEmpty("the newest build's binary again is that build");
        state.AddBinary(Binary("fuzzer", "b"), "r1", null, null, T0).Rejection.Should().Contain("already has a fuzzer binary");
        state.AddBinary(Binary("fuzzer", "b"), null, null, 3, T0).Rejection.Should().Contain("has no build 3");
        state.AddBinary(Binary("fuzzer", "b"), "r2", null, 1, T0).Rejection.Should().Contain("is revision r1, not r2");
        state.AddBinary(Binary("debug", "b"), null, null, null, T0).Rejection.Should().StartWith("kind must be one of");
        // A new label is a new build, even of the same binary (the same code under another commit).
        state.AddBinary(Binary("fuzzer", "a"), "r2", null, null, T0).Should().ContainSingle().Which.Should().BeOfType<TargetBuildAdded>();
    }

    [Fact]
    public void A_source_root_given_with_any_binary_of_a_build_is_the_builds_and_paths_under_it_are_shown_relative()
    {
        var state = TargetState.Empty("parser");
        state = Run(state, state.AddBinary(Binary("fuzzer", "a"), "abc", null, null, T0));
        state = Run(state, state.AddBinary(Binary("coverage", "a-cov"), null, null, 1, T0, sourceRoot: "/home/runner/work/parser/"));
        state = Run(state, state.AddBinary(Binary("fuzzer", "b"), null, null, null, T0, sourceRoot: "/ci/parser"));

        var first = state.Builds[0];
        first.SourceRoot.Should().Be("/home/runner/work/parser/");
        first.Relative("/home/runner/work/parser/src/parse.c").Should().Be("src/parse.c");
        first.Relative("/home/runner/work/parser-fork/src/parse.c").Should().BeNull("a sibling folder is not under the root");
        first.Relative("/usr/include/stdio.h").Should().BeNull();
        state.Builds[1].SourceRoot.Should().Be("/ci/parser");
        state.Builds[1].Relative("/ci/parser/lib/util.h").Should().Be("lib/util.h");
        TargetState.Empty("x").Apply(new TargetBuildAdded("x", new TargetBuild(1, null, T0, T0, []), T0)).Builds[0].Relative("/a/b.c")
            .Should().BeNull("without a source root every path is shown as the build names it");
    }
}
