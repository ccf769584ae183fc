using System.Text;
using FluentAssertions;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Tests.Support;
using Xunit;

namespace PandaFuzz.Bot.Tests.Sandboxing;

/// <summary>
/// What a target leaves in its work dir is data: the bot reads a regular file of its own there and nothing a planted
/// link, hard link, FIFO or oversized file would lead it to. Real files, links and a FIFO in a temp dir, with a secret
/// outside the work dir that no read may return.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UntrustedFilesTests : IDisposable
{
    private const string Secret = "the master's api token";

    private readonly TempJobDir _temp = new();
    private readonly string _outside = Path.Combine(Path.GetTempPath(), "pandafuzz-outside-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _secret;

    public UntrustedFilesTests()
    {
        Directory.CreateDirectory(_outside);
        _secret = Path.Combine(_outside, "api-token");
        File.WriteAllText(_secret, Secret);
        Directory.CreateDirectory(_temp.Dir.Artifacts);
    }

    private string Root => _temp.Dir.Root;

    public void Dispose()
    {
        _temp.Dispose();
        Directory.Delete(_outside, recursive: true);
    }

    [Fact]
    public async Task A_regular_file_the_target_wrote_is_read()
    {
        var crash = Path.Combine(_temp.Dir.Artifacts, "crash-1");
        await File.WriteAllTextAsync(crash, "FUZ\x09");

        var bytes = await UntrustedFiles.ReadAllBytesAsync(Root, crash, 1024, CancellationToken.None);

        Encoding.ASCII.GetString(bytes!).Should().Be("FUZ\x09");
    }

    [Fact]
    public void A_symbolic_link_is_refused_and_what_it_points_to_is_not_read()
    {
        var planted = Path.Combine(_temp.Dir.Artifacts, "crash-leak");
        File.CreateSymbolicLink(planted, _secret);

        using var file = UntrustedFiles.Open(Root, planted, 1024, out var refusal);

        file.Should().BeNull();
        refusal.Should().Be("is a symbolic link");
        UntrustedFiles.IsRegularFile(Root, planted).Should().BeFalse();
    }

    [Fact]
    public void A_directory_replaced_by_a_link_is_refused_at_that_level()
    {
        // The target swaps its artifacts dir for a link to the directory of the secret.
        Directory.Delete(_temp.Dir.Artifacts);
        Directory.CreateSymbolicLink(_temp.Dir.Artifacts, _outside);
        var throughLink = Path.Combine(_temp.Dir.Artifacts, "api-token");
        File.Exists(throughLink).Should().BeTrue("the link leads out of the work dir for anything that follows it");

        using var file = UntrustedFiles.Open(Root, throughLink, 1024, out var refusal);

        file.Should().BeNull();
        refusal.Should().Be("its directory artifacts is a symbolic link or not a directory");
    }

    [Fact]
    public void A_hard_link_is_refused()
    {
        var outsideFile = Path.Combine(_outside, "world-readable");
        File.WriteAllText(outsideFile, Secret);
        var planted = Path.Combine(_temp.Dir.Artifacts, "crash-hard");
        HardLink(outsideFile, planted);

        using var file = UntrustedFiles.Open(Root, planted, 1024, out var refusal);

        file.Should().BeNull();
        refusal.Should().Be("it is a hard link (2 names): its data may be another file's");
    }

    [Fact]
    public async Task A_fifo_is_refused_without_waiting_for_a_writer()
    {
        var fifo = Path.Combine(_temp.Dir.Artifacts, "crash-fifo");
        (await ExternalTool.RunAsync("mkfifo", [fifo], TimeSpan.FromSeconds(10))).ExitCode.Should().Be(0);

        var open = Task.Run(() =>
        {
            using var file = UntrustedFiles.Open(Root, fifo, 1024, out var refusal);
            return (file is null, refusal);
        });

        (await open.WaitAsync(TimeSpan.FromSeconds(30))).Should().Be((true, "it is a FIFO"));
    }

    [Fact]
    public async Task A_file_larger_than_the_bound_is_refused_and_one_that_grows_after_the_open_is_read_only_to_the_bound()
    {
        var big = Path.Combine(_temp.Dir.Artifacts, "crash-big");
        await File.WriteAllBytesAsync(big, new byte[2048]);
        UntrustedFiles.Open(Root, big, 1024, out var refusal).Should().BeNull();
        refusal.Should().Be("it holds 2048 bytes, more than the 1024 allowed");

        var growing = Path.Combine(_temp.Dir.Artifacts, "crash-growing");
        await File.WriteAllBytesAsync(growing, new byte[100]);
        using var file = UntrustedFiles.Open(Root, growing, 1024, out _)!;
        await File.AppendAllTextAsync(growing, new string('x', 5000));

        (await file.ReadAllAsync(CancellationToken.None)).Should().HaveCount(100, "the size it had when opened");
    }

    [Fact]
    public void A_path_outside_the_work_dir_is_refused()
    {
        UntrustedFiles.Open(Root, _secret, 1024, out var refusal).Should().BeNull();
        refusal.Should().Be("it is not below the job's work dir");
        UntrustedFiles.Open(Root, Path.Combine(Root, "..", "..", _secret), 1024, out _).Should().BeNull();
    }

    [Fact]
    public void A_missing_file_is_refused_as_not_found()
    {
        UntrustedFiles.Open(Root, Path.Combine(_temp.Dir.Artifacts, "gone"), 1024, out var refusal).Should().BeNull();
        refusal.Should().Be("is not found");
    }

    private static void HardLink(string existing, string link)
    {
        var (exitCode, text) = ExternalTool.RunAsync("ln", [existing, link], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        exitCode.Should().Be(0, text);
    }
}
