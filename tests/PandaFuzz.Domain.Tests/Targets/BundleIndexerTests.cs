using FluentAssertions;
using PandaFuzz.Domain.Targets;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Domain.Tests.Targets;

/// <summary>
/// What a bundle holds, from its files: fuzz targets (ELF executables with libFuzzer's entry point, not named as
/// libraries), shared libraries, and each target's <c>.options</c>, seed corpus and dictionary beside it.
/// </summary>
public sealed class BundleIndexerTests
{
    private static BundleFile Target(string path, long size = 1000) => new(path, size, Elf: true, ElfLoadable: true, FuzzerEntry: true);

    private static BundleFile Library(string path) => new(path, 500, Elf: true, ElfLoadable: true, FuzzerEntry: false);

    private static BundleFile Other(string path, string? text = null) => new(path, text?.Length ?? 10, Elf: false, ElfLoadable: false, FuzzerEntry: false) { Text = text };

    [Fact]
    public void Targets_libraries_and_the_files_beside_each_target_are_found()
    {
        var (index, problem) = BundleIndexer.Index(
        [
            Target("out/parser", 4096), Other("out/parser.options", "[libfuzzer]\nmax_len = 64\ntimeout = 5\nclose_fd_mask = 3\n"),
            Other("out/parser_seed_corpus.zip"), Other("out/parser.dict"),
            Target("out/checker"), Other("checker.dict"),
            Library("out/lib/libparse.so"), Library("out/lib/libz.so.1.2.13"),
            // The libFuzzer entry point in a library, an object file, a symbolizer: none is a fuzz target.
            new BundleFile("out/libharness.so", 10, Elf: true, ElfLoadable: true, FuzzerEntry: true),
            new BundleFile("out/parser.o", 10, Elf: true, ElfLoadable: false, FuzzerEntry: true),
            new BundleFile("out/llvm-symbolizer", 10, Elf: true, ElfLoadable: true, FuzzerEntry: false),
            Other("out/run.sh"),
        ]);

        problem.Should().BeNull();
        index!.Libraries.Should().Equal("out/lib/libparse.so", "out/lib/libz.so.1.2.13", "out/libharness.so");
        index.Targets.Select(t => t.Path).Should().Equal("out/checker", "out/parser");
        var parser = index.Target("parser")!;
        parser.Size.Should().Be(4096);
        parser.OptionsFile.Should().Be("out/parser.options");
        parser.Options!.LibFuzzer.Should().Equal(new Dictionary<string, string> { ["max_len"] = "64" });
        parser.TimeoutMs.Should().Be(5000);
        parser.Dictionary.Should().Be("out/parser.dict");
        parser.SeedCorpus.Should().Be("out/parser_seed_corpus.zip");
        parser.IgnoredOptions.Select(i => i.Option).Should().Equal("libfuzzer.close_fd_mask");
        // checker.dict is in another folder: not the checker's.
        index.Target("checker").Should().BeEquivalentTo(new BundleFuzzTarget("checker", "out/checker", 1000));
    }

    [Fact]
    public void A_dict_named_by_the_options_file_wins_when_it_is_in_the_bundle()
    {
        var named = BundleIndexer.Index([Target("t"), Other("t.options", "[libfuzzer]\ndict = common.dict\n"), Other("common.dict"), Other("t.dict")]).Index!;
        named.Targets[0].Dictionary.Should().Be("common.dict");

        var missing = BundleIndexer.Index([Target("t"), Other("t.options", "[libfuzzer]\ndict = gone.dict\n"), Other("t.dict")]).Index!;
        missing.Targets[0].Dictionary.Should().Be("t.dict");
        missing.Targets[0].IgnoredOptions.Should().ContainSingle().Which.Should().Be(new BundleIgnoredOption("libfuzzer.dict", "gone.dict is not in the bundle beside the fuzz target"));
    }

    [Fact]
    public void An_options_file_too_large_to_read_is_ignored_whole()
    {
        var index = BundleIndexer.Index([Target("t"), Other("t.options")]).Index!;

        index.Targets[0].OptionsFile.Should().Be("t.options");
        index.Targets[0].Options.Should().BeNull();
        index.Targets[0].IgnoredOptions.Should().ContainSingle().Which.Option.Should().Be("t.options");
    }

    [Fact]
    public void A_bundle_without_a_fuzz_target_or_with_two_of_one_name_or_a_name_no_campaign_can_give_is_refused()
    {
        BundleIndexer.Index([Library("libparse.so"), Other("parser.options", "")]).Problem.Should().Contain("holds no fuzz target").And.Contain("LLVMFuzzerTestOneInput");
        BundleIndexer.Index([Target("a/parser"), Target("b/parser")]).Problem.Should().Contain("two fuzz targets are named parser (a/parser, b/parser)");
        BundleIndexer.Index([Target("my parser")]).Problem.Should().Contain("a campaign cannot give");
    }

    [Theory]
    [InlineData("libz.so", true)]
    [InlineData("libz.so.1", true)]
    [InlineData("libz.so.1.2.13", true)]
    [InlineData("libz.sox", false)]
    [InlineData("so", false)]
    [InlineData("parser", false)]
    public void Shared_libraries_are_known_by_name(string name, bool library) => BundleIndexer.IsLibraryName(name).Should().Be(library);
}
