using FluentAssertions;
using PandaFuzz.Domain.Engines.AflPlusPlus;
using Xunit;
using static PandaFuzz.Domain.Tests.AflPlusPlus.AflFixtures;

namespace PandaFuzz.Domain.Tests.AflPlusPlus;

public sealed class AflArtifactNamesTests
{
    [Fact]
    public void Real_crash_names_are_crashes_with_signal_6()
    {
        var crashes = Entries(PlantedBugListing, "crashes").Where(n => n != "README.txt").ToList();
        crashes.Should().Equal(
            "id:000000,sig:06,src:000000,time:8,execs:128,op:havoc,rep:2",
            "id:000001,sig:06,src:000000,time:168,execs:1879,op:havoc,rep:2");

        crashes.Should().OnlyContain(n => AflArtifactNames.IsCrash(n));
        crashes.Should().NotContain(n => AflArtifactNames.IsQueueEntry(n) || AflArtifactNames.IsHang(n));
        crashes.Select(AflArtifactNames.Signal).Should().Equal(6, 6);
        crashes.Select(AflArtifactNames.Id).Should().Equal(0L, 1L);
    }

    [Theory]
    [InlineData(PlantedBugListing, 11)]
    [InlineData(NoBugListing, 25)]
    [InlineData(HangListing, 5)]
    public void Real_queue_names_are_queue_entries_numbered_in_order(string listing, int count)
    {
        var queue = Entries(listing, "queue").Where(n => n != ".state").ToList();

        queue.Should().HaveCount(count);
        queue.Should().OnlyContain(n => AflArtifactNames.IsQueueEntry(n) && !AflArtifactNames.IsCrash(n));
        queue.Select(AflArtifactNames.Signal).Should().OnlyContain(s => s == null);
        queue.Select(AflArtifactNames.Id).Should().Equal(Enumerable.Range(0, count).Select(i => (long?)i));
    }

    [Fact]
    public void Real_hang_name_is_a_hang_and_not_a_crash()
    {
        var hang = Entries(HangListing, "hangs").Should().ContainSingle().Subject;

        AflArtifactNames.IsHang(hang).Should().BeTrue();
        AflArtifactNames.IsCrash(hang).Should().BeFalse();
        AflArtifactNames.Signal(hang).Should().BeNull();
        AflArtifactNames.Id(hang).Should().Be(0);
    }

    [Theory]
    [InlineData("id:000000,time:0,execs:0,orig:seed")]
    [InlineData("id:000001,src:000000,time:0,execs:8,op:havoc,rep:4,+cov")]
    public void Seeds_and_new_coverage_entries_are_not_hangs(string queueName)
    {
        Entries(PlantedBugListing, "queue").Should().Contain(queueName, "the names come from the real run");

        AflArtifactNames.IsHang(queueName).Should().BeFalse();
        AflArtifactNames.IsQueueEntry(queueName).Should().BeTrue();
    }

    [Fact]
    public void Splice_entries_with_two_sources_are_queue_entries()
    {
        var splice = Entries(NoBugListing, "queue").First(n => n.Contains("op:splice", StringComparison.Ordinal));

        splice.Should().Be("id:000018,src:000000+000017,time:1825,execs:33186,op:splice,rep:8");
        AflArtifactNames.IsQueueEntry(splice).Should().BeTrue();
        AflArtifactNames.Id(splice).Should().Be(18);
    }

    [Theory]
    [InlineData("README.txt")]
    [InlineData(".state")]
    [InlineData(".synced")]
    [InlineData(".id:000000,sig:06,src:000000")]
    [InlineData("")]
    [InlineData("id:")]
    [InlineData("id:,sig:06")]
    [InlineData("id:abc,src:000000")]
    [InlineData("id:000001,sig:xx,src:000000")]
    [InlineData("crash-0f27f2bf2d3a1e3b2f0b7b4c0c1e5f5f0e9d7a31")]
    [InlineData("timeout-0f27f2bf2d3a1e3b2f0b7b4c0c1e5f5f0e9d7a31")]
    public void Other_names_are_no_entry(string fileName)
    {
        AflArtifactNames.IsCrash(fileName).Should().BeFalse();
        AflArtifactNames.IsHang(fileName).Should().BeFalse();
        AflArtifactNames.IsQueueEntry(fileName).Should().BeFalse();
        AflArtifactNames.Signal(fileName).Should().BeNull();
        AflArtifactNames.Id(fileName).Should().BeNull();
    }

    [Fact]
    public void Every_listed_file_is_a_crash_or_queue_entry_except_README_and_state()
    {
        var all = new[] { PlantedBugListing, NoBugListing, HangListing }
            .SelectMany(l => new[] { "crashes", "hangs", "queue" }.SelectMany(d => Entries(l, d)))
            .ToList();

        all.Where(n => !AflArtifactNames.IsCrash(n) && !AflArtifactNames.IsQueueEntry(n))
            .Distinct()
            .Should().BeEquivalentTo("README.txt", ".state");
    }

    [Theory]
    [InlineData("id:000000,sig:06,src:000004,time:2113,execs:20053,op:havoc,rep:2", 6)]
    [InlineData("id:000003,sig:11,src:000001,time:90,execs:700,op:flip1,pos:3", 11)]
    [InlineData("id:000007,sig:09,src:000002,time:5000,execs:90000,op:havoc,rep:8", 9)]
    public void Signal_comes_from_the_sig_field(string fileName, int signal)
    {
        AflArtifactNames.Signal(fileName).Should().Be(signal);
        AflArtifactNames.IsCrash(fileName).Should().BeTrue();
    }

    [Fact]
    public void A_path_is_judged_by_its_file_name()
    {
        const string path = "/var/pandafuzz/job-1/out/default/crashes/id:000000,sig:06,src:000000,time:8,execs:128,op:havoc,rep:2";

        AflArtifactNames.IsCrash(path).Should().BeTrue();
        AflArtifactNames.Signal(path).Should().Be(6);
        AflArtifactNames.IsCrash("/var/pandafuzz/job-1/out/default/crashes/README.txt").Should().BeFalse();
    }

    [Theory]
    [InlineData("crashes", "crash")]
    [InlineData("hangs", "timeout")]
    [InlineData("/var/pandafuzz/job-1/out/default/crashes", "crash")]
    [InlineData("out/default/hangs/", "timeout")]
    public void KindOf_maps_crashes_to_crash_and_hangs_to_timeout(string directory, string kind)
    {
        AflArtifactNames.KindOf(directory).Should().Be(kind);
    }

    [Theory]
    [InlineData("queue")]
    [InlineData("Crashes")]
    [InlineData("crashes.old")]
    [InlineData("")]
    public void KindOf_rejects_other_directories(string directory)
    {
        var act = () => AflArtifactNames.KindOf(directory);

        act.Should().Throw<ArgumentException>().WithParameterName("directoryName");
    }
}
