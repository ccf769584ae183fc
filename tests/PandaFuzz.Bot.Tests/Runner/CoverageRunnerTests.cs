using System.IO.Compression;
using System.Text.Json;
using FluentAssertions;
using PandaFuzz.Bot.Agent;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Runner;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Tests.Support;
using PandaFuzz.Domain.Coverage;
using PandaFuzz.Protocol;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Bot.Tests.Runner;

/// <summary>
/// The coverage runner on real coverage builds of tests/targets, with LLVM's real tools, in the sandbox the bot tests
/// run targets in: a known corpus is measured, and the report's summary counts each file as llvm-cov does when this test
/// runs the same build over the same corpus itself; a build whose sources are gone still gives the summary and an index;
/// an empty corpus, a build without profile instrumentation and a target that outlives the job fail, saying why.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CoverageRunnerTests : IClassFixture<CoverageBuildsFixture>, IDisposable
{
    private const int CorpusVersion = 7;
    private const string OutboxPath = "akka://bot/user/bot-blobs";

    /// <summary>Enough for three inputs and two LLVM tools on a loaded machine; only the hang test is meant to reach it.</summary>
    private const int LongEnoughSeconds = 120;

    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    /// <summary>'A' and 'B' reach checksum_kind and count_vowels; nothing starts with 'C', so deep_check never runs.</summary>
    private static readonly IReadOnlyDictionary<string, string> DemoCorpus = new Dictionary<string, string>
    {
        ["checksum"] = "A12",
        ["vowels"] = "Bonjour",
        ["other"] = "xyz",
    };

    private readonly CoverageBuildsFixture _builds;
    private readonly ITestOutputHelper _output;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pandafuzz-coverage-runner-tests-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly BotStorage _storage;

    public CoverageRunnerTests(CoverageBuildsFixture builds, ITestOutputHelper output)
    {
        _builds = builds;
        _output = output;
        _storage = new BotStorage(_root);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    [Fact]
    public async Task The_report_names_the_corpus_and_counts_each_file_as_llvm_cov_does_on_the_same_corpus()
    {
        // Arrange
        var dir = WorkDir(1, _builds.CoverageDemo, DemoCorpus);
        var expected = await LlvmCovAsync(_builds.CoverageDemo, DemoCorpus);
        var runner = Runner(1, dir, new CoverageCorpus(CorpusVersion, DemoCorpus.Count), LongEnoughSeconds);

        // Act
        var (succeeded, summary, report) = await runner.RunAsync(CancellationToken.None);

        // Assert: the report names the corpus it measured and sits in the outbox.
        succeeded.Should().BeTrue(summary);
        summary.Should().StartWith($"3 inputs of corpus version {CorpusVersion}: ");
        report.Should().NotBeNull();
        report!.CampaignId.Should().Be(BotTestConfig.Campaign);
        report.JobId.Should().Be(BotTestConfig.Job(1));
        report.CorpusVersion.Should().Be(CorpusVersion);
        report.Inputs.Should().Be(DemoCorpus.Count);
        report.BlobSourcePath.Should().Be(OutboxPath);
        var zipPath = _storage.Outbox.PathOf(report.Report);
        File.Exists(zipPath).Should().BeTrue("the report is in the bot's outbox store");
        new FileInfo(zipPath).Length.Should().Be(report.ReportSize);

        // Assert: the zip holds the summary and the HTML index; the summary counts what llvm-cov counts.
        var (totals, files, entries, index) = ReadReport(zipPath);
        entries.Should().Contain([CoverageArchive.SummaryEntry, CoverageArchive.HtmlFolder + CoverageArchive.IndexPage]);
        files.Select(f => f.Path).Should().BeEquivalentTo(
            [Path.Combine(CoverageBuildsFixture.DemoSources, "coverage_demo.c"), Path.Combine(CoverageBuildsFixture.DemoSources, "coverage_demo_checks.h")]);
        files.Should().BeEquivalentTo(expected.Files, "each file's lines, functions and regions are llvm-cov's own on the same corpus");
        totals.Should().BeEquivalentTo(expected.Totals);
        Functions(files, "coverage_demo_checks.h").Should().Be(new CoverageCount(2, 3), "no input of the corpus reaches deep_check");
        index.Should().Contain("coverage_demo.c").And.Contain("coverage_demo_checks.h");

        // llvm-cov show reads only what the sandbox shows it, and tests/targets is outside the work dir (asserted where
        // this machine's probe enforces the filesystem measure; without it, whether the sandbox user can read the
        // repository decides).
        var filesystem = Sandbox.Of(BotTestConfig.Fast().Sandbox).Report.Measures.Single(m => m.Name == "filesystem");
        _output.WriteLine($"sandbox filesystem ({filesystem.Mode}): {(filesystem.Enforced ? "enforced" : "NOT enforced")} - {filesystem.Detail}");
        if (filesystem.Enforced)
        {
            entries.Should().NotContain(e => IsSourcePage(e), "llvm-cov show runs in the sandbox, which does not show tests/targets");
        }
    }

    [Fact]
    public async Task A_build_whose_sources_are_not_on_the_bot_gives_the_summary_and_an_index_without_source_pages()
    {
        // Arrange: the binary names sources in a folder deleted since it was built.
        Directory.Exists(_builds.AbsentSources).Should().BeFalse();
        var dir = WorkDir(2, _builds.CoverageDemoWithoutSources, DemoCorpus);
        var expected = await LlvmCovAsync(_builds.CoverageDemoWithoutSources, DemoCorpus);
        var runner = Runner(2, dir, new CoverageCorpus(CorpusVersion, DemoCorpus.Count), LongEnoughSeconds);

        // Act
        var (succeeded, summary, report) = await runner.RunAsync(CancellationToken.None);

        // Assert
        succeeded.Should().BeTrue(summary);
        report.Should().NotBeNull();
        var (totals, files, entries, index) = ReadReport(_storage.Outbox.PathOf(report!.Report));
        files.Select(f => f.Path).Should().BeEquivalentTo(
            [Path.Combine(_builds.AbsentSources, "coverage_demo.c"), Path.Combine(_builds.AbsentSources, "coverage_demo_checks.h")]);
        files.Should().BeEquivalentTo(expected.Files);
        totals.Should().BeEquivalentTo(expected.Totals);
        totals.Lines.Covered.Should().BePositive("the corpus ran");
        entries.Should().Contain(CoverageArchive.HtmlFolder + CoverageArchive.IndexPage);
        entries.Should().NotContain(e => IsSourcePage(e), "there is no source to show");
        index.Should().Contain("coverage_demo.c").And.Contain("coverage_demo_checks.h");
    }

    [Fact]
    public async Task An_empty_corpus_is_nothing_to_measure_and_leaves_the_outbox_empty()
    {
        var dir = WorkDir(3, _builds.CoverageDemo, new Dictionary<string, string>());
        var runner = Runner(3, dir, new CoverageCorpus(CorpusVersion, 0), LongEnoughSeconds);

        var (succeeded, summary, report) = await runner.RunAsync(CancellationToken.None);

        succeeded.Should().BeFalse();
        summary.Should().Be("the campaign corpus is empty: nothing to measure");
        report.Should().BeNull();
        OutboxFiles().Should().BeEmpty();
    }

    [Fact]
    public async Task A_plain_libFuzzer_build_wrote_no_profile_and_the_failure_says_how_to_build_one()
    {
        var dir = WorkDir(4, _builds.PlainDemo, DemoCorpus);
        var runner = Runner(4, dir, new CoverageCorpus(CorpusVersion, DemoCorpus.Count), LongEnoughSeconds);

        var (succeeded, summary, report) = await runner.RunAsync(CancellationToken.None);

        succeeded.Should().BeFalse();
        summary.Should().StartWith("the coverage binary wrote no profile (exit code 0): is it built with -fprofile-instr-generate -fcoverage-mapping");
        report.Should().BeNull();
        OutboxFiles().Should().BeEmpty();
    }

    [Fact]
    public async Task A_target_that_hangs_on_an_input_is_killed_when_the_jobs_time_runs_out()
    {
        // Arrange: hang.c spins forever on "HANG", and libFuzzer's own -timeout (60 s) is far beyond the job's 1 s, so
        // the job's time limit is what ends the run however fast the machine is.
        var dir = WorkDir(5, _builds.CoverageHang, new Dictionary<string, string> { ["ok"] = "fine", ["hang"] = "HANG" });
        var runner = Runner(5, dir, new CoverageCorpus(CorpusVersion, 2), durationSeconds: 1, timeoutMs: 60_000);

        // Act
        var (succeeded, summary, report) = await runner.RunAsync(CancellationToken.None);

        // Assert
        succeeded.Should().BeFalse();
        summary.Should().Be("the coverage binary did not finish within the job's 1 s");
        report.Should().BeNull();
        OutboxFiles().Should().BeEmpty();
        ProcessTools.FindByCommandLine(dir.Target).Should().BeEmpty("the hung target is killed, not left spinning");
    }

    private CoverageRunner Runner(int index, JobWorkDir dir, CoverageCorpus corpus, int durationSeconds, int timeoutMs = 1500)
    {
        var spec = new JobSpec(Specs.Target, EngineNames.LibFuzzer, durationSeconds, 2048, timeoutMs, null, JobTask.Coverage);
        var job = new AgentCommands.StartJob(BotTestConfig.Job(index), BotTestConfig.Campaign, spec, "akka://master/user/blobs", DateTimeOffset.UtcNow);
        var settings = BotTestConfig.Fast();
        // A bot probes its sandbox when it starts, not in a job's time.
        Sandbox.Of(settings.Sandbox);
        return new CoverageRunner(job, dir, settings, corpus, _builds.Tools, _storage.Outbox, OutboxPath);
    }

    /// <summary>A job work dir as the runner finds it after the corpus sync: the binary copied in, the corpus pulled.</summary>
    private JobWorkDir WorkDir(int index, string binary, IReadOnlyDictionary<string, string> corpus)
    {
        var dir = _storage.WorkDirOf(BotTestConfig.Job(index));
        dir.Create();
        WorkDirFiles.CopyIn(binary, dir.Target);
        File.SetUnixFileMode(dir.Target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        WriteCorpus(dir.Corpus, corpus);
        return dir;
    }

    private static void WriteCorpus(string folder, IReadOnlyDictionary<string, string> corpus)
    {
        Directory.CreateDirectory(folder);
        foreach (var (name, content) in corpus)
        {
            File.WriteAllText(Path.Combine(folder, name), content);
        }
    }

    /// <summary>llvm-cov's page of one source file, e.g. html/coverage/tmp/x/coverage_demo.c.html.</summary>
    private static bool IsSourcePage(string entry) => entry.EndsWith(".c.html", StringComparison.Ordinal) || entry.EndsWith(".h.html", StringComparison.Ordinal);

    private IReadOnlyList<string> OutboxFiles() => Directory.EnumerateFiles(_storage.Outbox.Root, "*", SearchOption.AllDirectories).ToList();

    private static CoverageCount Functions(IReadOnlyList<CoverageFile> files, string name) =>
        files.Single(f => Path.GetFileName(f.Path) == name).Coverage.Functions;

    private static (CoverageTotals Totals, IReadOnlyList<CoverageFile> Files, IReadOnlyList<string> Entries, string Index) ReadReport(string zipPath)
    {
        using var file = File.OpenRead(zipPath);
        var (totals, files) = CoverageArchive.ReadSummary(file);
        file.Position = 0;
        using var zip = new ZipArchive(file, ZipArchiveMode.Read);
        var index = zip.GetEntry(CoverageArchive.HtmlFolder + CoverageArchive.IndexPage);
        using var reader = new StreamReader(index?.Open() ?? Stream.Null);
        return (totals, files, zip.Entries.Select(e => e.FullName).ToList(), reader.ReadToEnd());
    }

    /// <summary>
    /// What LLVM's tools report when this test runs <paramref name="binary"/> over the corpus itself, outside the bot and
    /// its sandbox, read from llvm-cov's JSON here rather than by the bot's parser.
    /// </summary>
    private async Task<(CoverageTotals Totals, List<CoverageFile> Files)> LlvmCovAsync(string binary, IReadOnlyDictionary<string, string> corpus)
    {
        var work = Path.Combine(_root, "expected-" + Guid.NewGuid().ToString("N")[..8]);
        var corpusDir = Path.Combine(work, "corpus");
        WriteCorpus(corpusDir, corpus);
        var ct = CancellationToken.None;
        var run = await ProcessTools.RunAsync(binary, ["-runs=0", corpusDir], ToolTimeout, ct, work,
            new Dictionary<string, string> { ["LLVM_PROFILE_FILE"] = Path.Combine(work, "%p-%m.profraw") });
        run.ExitCode.Should().Be(0, run.StandardError);
        var merged = Path.Combine(work, "merged.profdata");
        var merge = await ProcessTools.RunAsync(_builds.Tools.Profdata, ["merge", "-sparse", "-o", merged, .. Directory.GetFiles(work, "*.profraw")], ToolTimeout, ct);
        merge.ExitCode.Should().Be(0, merge.StandardError);
        var export = await ProcessTools.RunAsync(_builds.Tools.Cov, ["export", "-summary-only", "-instr-profile", merged, binary], ToolTimeout, ct);
        export.ExitCode.Should().Be(0, export.StandardError);

        using var json = JsonDocument.Parse(export.StandardOutput);
        var data = json.RootElement.GetProperty("data")[0];
        var files = data.GetProperty("files").EnumerateArray()
            .Select(f => new CoverageFile(f.GetProperty("filename").GetString()!, Totals(f.GetProperty("summary"))))
            .ToList();
        return (Totals(data.GetProperty("totals")), files);
    }

    private static CoverageTotals Totals(JsonElement summary) => new(Count(summary, "lines"), Count(summary, "functions"), Count(summary, "regions"));

    private static CoverageCount Count(JsonElement summary, string name) =>
        new(summary.GetProperty(name).GetProperty("covered").GetInt64(), summary.GetProperty(name).GetProperty("count").GetInt64());
}
