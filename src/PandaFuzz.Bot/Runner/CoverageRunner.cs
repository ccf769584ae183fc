using System.Globalization;
using System.IO.Compression;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Domain.Coverage;
using PandaFuzz.Domain.Engines;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Runner;

/// <summary>
/// A coverage job: the campaign's corpus (pulled by the corpus sync) runs once through the build's coverage binary, each
/// process writing its profile; llvm-profdata merges them, llvm-cov summarizes them and renders the HTML report. Every
/// step runs in the sandbox the fuzzing runs in: the profiles are the target's output, parsed by LLVM's C++, and the
/// coverage binary names the source files llvm-cov reads into the report, so the report shows only what the target itself
/// could read. The summary and the HTML files are then read back as untrusted files, bounded, into one zip for the master.
/// </summary>
/// <param name="corpus">What the corpus sync pulled into the job's corpus folder before the run.</param>
public sealed class CoverageRunner(
    AgentCommands.StartJob job,
    JobWorkDir dir,
    BotSettings settings,
    CoverageCorpus corpus,
    CoverageTools tools,
    ContentAddressedStore outbox,
    string outboxPath)
{
    /// <summary>One process per run of the corpus is expected; more means the target forks, and only so many are merged.</summary>
    public const int MaxProfiles = 64;

    private const int MaxDepth = 64;

    private static readonly IReadOnlyDictionary<string, string> NoEnvironment = new Dictionary<string, string>();

    public async Task<(bool Succeeded, string Summary, CampaignCommands.ReportCoverage? Report)> RunAsync(CancellationToken ct)
    {
        var inputs = corpus.Inputs;
        if (inputs == 0)
        {
            return (false, "the campaign corpus is empty: nothing to measure", null);
        }

        var temp = outbox.NewTempFile();
        try
        {
            var (totals, files, summary) = await MeasureAsync(ct);
            await ZipAsync(temp, summary, ct);
            (BlobId Id, long Size) report;
            await using (var zip = File.OpenRead(temp))
            {
                report = await outbox.PutAsync(zip, CoverageArchive.MaxBytes, ct);
            }

            var measured = $"{inputs} inputs of corpus version {corpus.Version}: lines {Ratio(totals.Lines)}, functions {Ratio(totals.Functions)}, " +
                $"regions {Ratio(totals.Regions)} in {files.Count} files; report {report.Size} bytes";
            return (true, measured, new CampaignCommands.ReportCoverage(job.CampaignId, job.JobId, corpus.Version, inputs, report.Id, report.Size, DateTimeOffset.UtcNow, outboxPath));
        }
        catch (CoverageFailure e)
        {
            return (false, e.Message, null);
        }
        catch (BlobTooLargeException)
        {
            return (false, $"the coverage report is larger than {CoverageArchive.MaxBytes} bytes zipped", null);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private async Task<(CoverageTotals Totals, IReadOnlyList<CoverageFile> Files, byte[] Summary)> MeasureAsync(CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(job.Spec.DurationSeconds);
        var sandbox = Sandbox.Of(settings.Sandbox);
        var profiles = Path.Combine(dir.Root, Sandbox.ProfilesFolder);
        var output = Path.Combine(dir.Root, Sandbox.CoverageFolder);
        WorkDirFiles.EnsureEmptyDirectory(dir.Root, profiles);
        WorkDirFiles.EnsureEmptyDirectory(dir.Root, output);

        // -runs=0 runs every input of the corpus once and nothing else; %p keeps a forked child's profile apart.
        var environment = new Dictionary<string, string>(Reproduction.Sanitizers) { ["LLVM_PROFILE_FILE"] = Path.Combine(profiles, "%p-%m.profraw") };
        var (code, text) = await StepAsync("the coverage binary", new FuzzerLaunch(dir.Target,
            [$"-rss_limit_mb={job.Spec.MemoryLimitMb}", $"-timeout={Reproduction.TimeoutSeconds(job.Spec.TimeoutMs)}", "-runs=0", dir.Corpus],
            dir.Root, environment), deadline, sandbox, ct);
        var written = Profiles(profiles);
        if (written.Count == 0)
        {
            throw new CoverageFailure($"the coverage binary wrote no profile (exit code {code}): is it built with -fprofile-instr-generate " +
                $"-fcoverage-mapping and linked with libFuzzer? {Last(text)}");
        }

        // The target has ended: what it left in the output folder goes before the tools write there.
        WorkDirFiles.EnsureEmptyDirectory(dir.Root, output);
        var merged = Path.Combine(output, "merged.profdata");
        await ToolAsync("llvm-profdata merge", new FuzzerLaunch(tools.Profdata, ["merge", "-sparse", "-o", merged, .. written], dir.Root, NoEnvironment), deadline, sandbox, ct);

        // llvm-cov export writes to its standard output only.
        var summaryPath = Path.Combine(output, CoverageArchive.SummaryEntry);
        await ToolAsync("llvm-cov export", new FuzzerLaunch("/bin/sh",
            ["-c", "exec \"$@\" > \"$0\"", summaryPath, tools.Cov, "export", "-summary-only", "-instr-profile", merged, dir.Target], dir.Root, NoEnvironment),
            deadline, sandbox, ct);

        // Sources the sandbox does not show are left out of the pages (llvm-cov says so and goes on): the summary stands.
        await StepAsync("llvm-cov show", new FuzzerLaunch(tools.Cov,
            ["show", "-format=html", "-output-dir", Path.Combine(output, "html"), "-instr-profile", merged, dir.Target], dir.Root, NoEnvironment),
            deadline, sandbox, ct);

        var summary = await UntrustedFiles.ReadAllBytesAsync(dir.Root, summaryPath, CoverageArchive.MaxSummaryBytes, ct)
            ?? throw new CoverageFailure($"llvm-cov export left no summary of at most {CoverageArchive.MaxSummaryBytes} bytes");
        try
        {
            var (totals, files) = LlvmCovExport.Parse(System.Text.Encoding.UTF8.GetString(summary));
            return (totals, files, summary);
        }
        catch (InvalidDataException e)
        {
            throw new CoverageFailure(e.Message);
        }
    }

    /// <summary>Only regular files of the target's own, by their names in the folder.</summary>
    private List<string> Profiles(string folder)
    {
        var found = new List<string>();
        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos("*.profraw"))
        {
            if (found.Count == MaxProfiles)
            {
                throw new CoverageFailure($"the coverage binary wrote more than {MaxProfiles} profiles");
            }

            if (entry is FileInfo { LinkTarget: null } && UntrustedFiles.IsRegularFile(dir.Root, entry.FullName))
            {
                found.Add(entry.FullName);
            }
        }

        return found;
    }

    private async Task ToolAsync(string what, FuzzerLaunch launch, DateTimeOffset deadline, Sandbox sandbox, CancellationToken ct)
    {
        var (code, text) = await StepAsync(what, launch, deadline, sandbox, ct);
        if (code != 0)
        {
            throw new CoverageFailure($"{what} failed (exit code {code}): {Last(text)}");
        }
    }

    private async Task<(int Code, string Output)> StepAsync(string what, FuzzerLaunch launch, DateTimeOffset deadline, Sandbox sandbox, CancellationToken ct)
    {
        var left = deadline - DateTimeOffset.UtcNow;
        if (left <= TimeSpan.Zero)
        {
            throw new CoverageFailure($"the job's {job.Spec.DurationSeconds} s ran out before {what}");
        }

        var (code, text) = await OneShotRun.RunAsync(launch, left, settings.MaxReportBytes, ct, sandbox, job.Spec.MemoryLimitMb);
        return code is { } exit ? (exit, text) : throw new CoverageFailure($"{what} did not finish within the job's {job.Spec.DurationSeconds} s");
    }

    private async Task ZipAsync(string path, byte[] summary, CancellationToken ct)
    {
        var html = Path.Combine(dir.Root, Sandbox.CoverageFolder, "html");
        if (!UntrustedFiles.IsRegularFile(dir.Root, Path.Combine(html, CoverageArchive.IndexPage)))
        {
            throw new CoverageFailure($"llvm-cov show wrote no {CoverageArchive.IndexPage}");
        }

        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        var entry = zip.CreateEntry(CoverageArchive.SummaryEntry, CompressionLevel.Fastest);
        await using (var to = entry.Open())
        {
            await to.WriteAsync(summary, ct);
        }

        await AddFolderAsync(zip, html, CoverageArchive.HtmlFolder, 0, new Budget(), ct);
    }

    // The pages are llvm-cov's, written in the sandbox: links are skipped, each file is opened without following one.
    private async Task AddFolderAsync(ZipArchive zip, string folder, string prefix, int depth, Budget budget, CancellationToken ct)
    {
        if (depth > MaxDepth)
        {
            throw new CoverageFailure($"the HTML report nests folders deeper than {MaxDepth}");
        }

        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos())
        {
            if (entry.LinkTarget is not null || entry.Name.Any(c => char.IsControl(c) || c == '\\'))
            {
                continue;
            }

            var name = prefix + entry.Name;
            if (entry is DirectoryInfo)
            {
                await AddFolderAsync(zip, entry.FullName, name + "/", depth + 1, budget, ct);
                continue;
            }

            if (++budget.Files > CoverageArchive.MaxReportFiles)
            {
                throw new CoverageFailure($"the HTML report has more than {CoverageArchive.MaxReportFiles} files");
            }

            using var page = UntrustedFiles.Open(dir.Root, entry.FullName, CoverageArchive.MaxPageBytes, out _);
            if (page is null)
            {
                continue;
            }

            budget.Bytes += page.Length;
            if (budget.Bytes > CoverageArchive.MaxUnzippedBytes)
            {
                throw new CoverageFailure($"the HTML report holds more than {CoverageArchive.MaxUnzippedBytes} bytes");
            }

            await using var to = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
            var buffer = new byte[64 * 1024];
            long left = page.Length;
            while (left > 0)
            {
                var read = await page.Stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct);
                if (read == 0)
                {
                    break;
                }

                await to.WriteAsync(buffer.AsMemory(0, read), ct);
                left -= read;
            }
        }
    }

    private static string Ratio(CoverageCount count) =>
        $"{count.Covered}/{count.Count} ({count.Percent.ToString("0.##", CultureInfo.InvariantCulture)}%)";

    private static string Last(string output) => output.Split('\n').LastOrDefault(l => l.Length > 0) ?? string.Empty;

    private sealed class Budget
    {
        public int Files { get; set; }

        public long Bytes { get; set; }
    }

    private sealed class CoverageFailure(string message) : Exception(message);
}

/// <summary>The campaign corpus a coverage job measures: the version the corpus sync pulled and how many inputs it pulled.</summary>
public sealed record CoverageCorpus(int Version, int Inputs);
