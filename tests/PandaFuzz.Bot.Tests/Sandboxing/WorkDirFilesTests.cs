using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Tests.Support;
using Xunit;

namespace PandaFuzz.Bot.Tests.Sandboxing;

/// <summary>
/// A sandboxed target can write in its work dir, so it can plant links there: the bot (root) must never write or chmod
/// through them. Real files and links in a temp dir.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WorkDirFilesTests : IDisposable
{
    private readonly TempJobDir _temp = new();
    private readonly string _outside = Path.Combine(Path.GetTempPath(), "pandafuzz-outside-" + Guid.NewGuid().ToString("N")[..12]);

    public WorkDirFilesTests() => Directory.CreateDirectory(_outside);

    private JobWorkDir Dir => _temp.Dir;

    public void Dispose()
    {
        _temp.Dispose();
        Directory.Delete(_outside, recursive: true);
    }

    [Fact]
    public void Copying_in_over_a_planted_link_replaces_the_link_and_leaves_its_target_alone()
    {
        var victim = Path.Combine(_outside, "victim");
        File.WriteAllText(victim, "precious");
        var source = Path.Combine(_outside, "input");
        File.WriteAllText(source, "fuzz input");
        var destination = Path.Combine(Dir.Root, "crash-input");
        File.CreateSymbolicLink(destination, victim);

        WorkDirFiles.CopyIn(source, destination);

        File.ReadAllText(victim).Should().Be("precious");
        new FileInfo(destination).LinkTarget.Should().BeNull();
        File.ReadAllText(destination).Should().Be("fuzz input");
    }

    [Fact]
    public void A_folder_made_where_a_link_was_planted_is_a_real_folder_in_the_work_dir()
    {
        Directory.CreateDirectory(Dir.Output);
        var planted = Path.Combine(Dir.Output, "pandafuzz-import");
        Directory.CreateSymbolicLink(planted, _outside);

        WorkDirFiles.EnsureDirectory(Dir.Root, Path.Combine(planted, "queue"));

        new DirectoryInfo(planted).LinkTarget.Should().BeNull();
        Directory.Exists(Path.Combine(planted, "queue")).Should().BeTrue();
        Directory.EnumerateFileSystemEntries(_outside).Should().BeEmpty("nothing was made through the link");
    }

    [Fact]
    public void A_folder_others_cannot_search_on_the_way_to_the_work_dirs_is_named()
    {
        var closed = Path.Combine(_outside, "closed");
        var jobs = Path.Combine(closed, "data", "jobs");
        Directory.CreateDirectory(jobs);
        File.SetUnixFileMode(closed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        Sandbox.UnreachableFolder(jobs).Should().Be(closed);
        Sandbox.UnreachableFolder(_outside).Should().BeNull("the temp folder is searchable by everyone");
    }

    [Fact]
    public void Handing_the_work_dir_to_the_sandbox_user_shares_the_bot_s_folders_and_follows_no_planted_link()
    {
        var sandbox = Sandbox.Of(SandboxSettings.Default);
        if (sandbox.Plan.RunAs is null)
        {
            // Not root here: targets run as the bot itself and nothing is handed over.
            return;
        }

        Dir.Create();
        File.WriteAllText(Dir.Target, "#!/bin/sh\n");
        File.SetUnixFileMode(_outside, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateSymbolicLink(Path.Combine(Dir.Root, Sandbox.MinimizedFolder), _outside);
        var launch = new FuzzerLaunch(Dir.Target, [], Dir.Root, new Dictionary<string, string>());

        using var run = sandbox.Prepare(launch, 64, TimeSpan.FromSeconds(10));

        File.GetUnixFileMode(_outside).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, "the planted link was not followed");
        foreach (var folder in new[] { Dir.Root, Dir.Corpus, Dir.Artifacts, Dir.Output })
        {
            File.GetUnixFileMode(folder).Should().HaveFlag(UnixFileMode.StickyBit).And.HaveFlag(UnixFileMode.GroupWrite)
                .And.NotHaveFlag(UnixFileMode.OtherWrite);
        }

        File.GetUnixFileMode(Dir.Target).Should().HaveFlag(UnixFileMode.GroupExecute);
    }
}
