using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>A file read from a directory or an archive: its name and its bytes (with their sha256, the corpus's address).</summary>
public sealed record CorpusFile(string Name, byte[] Content)
{
    public string Sha256 { get; } = FuzzingFlow.Sha256Hex(Content);
}

/// <summary>
/// The corpus side of the end-to-end tests: seed archives to upload, a job's folders on the bot's disk
/// (<c>&lt;dataDir&gt;/bot/jobs/&lt;jobId&gt;/</c>), AFL++'s fuzzer_stats, and the coverage libFuzzer measures for a corpus.
/// </summary>
public static partial class CorpusFiles
{
    /// <summary>A job's work dir on an all-in-one or bot node.</summary>
    public static string JobDir(NodeProcess node, string jobId) => Path.Combine(node.Options.DataDir, "bot", "jobs", jobId);

    /// <summary>libFuzzer's corpus dir (AFL++'s seeds) of a job.</summary>
    public static string CorpusDir(string jobDir) => Path.Combine(jobDir, "corpus");

    /// <summary>The foreign AFL++ instance's queue the bot writes other jobs' inputs into, for afl-fuzz to import.</summary>
    public static string AflImportQueue(string jobDir) => Path.Combine(jobDir, "out", "pandafuzz", "queue");

    /// <summary>The fuzzer_stats of the job's own AFL++ instance.</summary>
    public static string AflFuzzerStats(string jobDir) => Path.Combine(jobDir, "out", "job", "fuzzer_stats");

    /// <summary>A zip holding each file under its name.</summary>
    public static byte[] Zip(IReadOnlyDictionary<string, byte[]> files)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                using var entry = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
                entry.Write(content);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>A gzip-compressed tar (ustar) holding each file under its name.</summary>
    public static byte[] TarGz(IReadOnlyDictionary<string, byte[]> files)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
                {
                    DataStream = new MemoryStream(content),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                };
                tar.WriteEntry(entry);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>The regular files of a zip with their bytes.</summary>
    public static IReadOnlyList<CorpusFile> ReadZip(byte[] zip)
    {
        using var zipArchive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        var files = new List<CorpusFile>();
        foreach (var entry in zipArchive.Entries.Where(e => !e.FullName.EndsWith('/')))
        {
            using var content = entry.Open();
            using var copy = new MemoryStream();
            content.CopyTo(copy);
            files.Add(new CorpusFile(entry.FullName, copy.ToArray()));
        }

        return files;
    }

    /// <summary>Writes the files of a zip into a fresh <paramref name="directory"/>, each under the sha256 of its content.</summary>
    public static IReadOnlyList<CorpusFile> ExtractZip(byte[] zip, string directory)
    {
        var files = ReadZip(zip);
        Directory.CreateDirectory(directory);
        foreach (var file in files)
        {
            File.WriteAllBytes(Path.Combine(directory, file.Sha256), file.Content);
        }

        return files;
    }

    /// <summary>
    /// The files of <paramref name="directory"/> whose name passes <paramref name="nameFilter"/>, read with sharing so a running
    /// fuzzer is not disturbed; a missing directory is empty and a file deleted meanwhile is skipped.
    /// </summary>
    public static IReadOnlyList<CorpusFile> ReadDirectory(string directory, Func<string, bool>? nameFilter = null)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var files = new List<CorpusFile>();
        foreach (var path in Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(path);
            if (nameFilter is not null && !nameFilter(name))
            {
                continue;
            }

            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                files.Add(new CorpusFile(name, copy.ToArray()));
            }
            catch (FileNotFoundException)
            {
                // Deleted between the listing and the read (libFuzzer replaces inputs it reduced).
            }
        }

        return files;
    }

    /// <summary>A corpus file libFuzzer wrote itself: named by the sha1 of its content (40 lowercase hex digits).</summary>
    public static bool IsLibFuzzerName(string name) => LibFuzzerName().IsMatch(name);

    /// <summary>AFL++'s fuzzer_stats as key/value; null while it does not exist or is half written.</summary>
    public static Dictionary<string, string>? ReadAflStats(string file)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var stats = reader.ReadToEnd()
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(':', 2))
                .Where(parts => parts.Length == 2)
                .GroupBy(parts => parts[0].Trim())
                .ToDictionary(g => g.Key, g => g.Last()[1].Trim());
            return stats.ContainsKey("start_time") && stats.ContainsKey("last_update") ? stats : null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>A numeric field of fuzzer_stats, null when absent.</summary>
    public static long? AflStat(IReadOnlyDictionary<string, string>? stats, string key) =>
        stats is not null && stats.TryGetValue(key, out var text) &&
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    /// <summary>
    /// Runs the libFuzzer build once over <paramref name="corpusDir"/> (<c>target -runs=0 dir</c>) and returns the
    /// <c>INITED cov: X ft: Y</c> figures: the coverage that corpus reaches.
    /// </summary>
    public static async Task<(long Cov, long Ft, string Output)> LibFuzzerCoverageAsync(
        BuiltTarget target, string corpusDir, string workDir, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(workDir);
        var result = await ProcessTools.RunAsync(
            target.Path, ["-runs=0", corpusDir], TimeSpan.FromSeconds(60), cancellationToken, workingDirectory: workDir);
        var match = InitedLine().Match(result.StandardError + result.StandardOutput);
        if (result.ExitCode != 0 || !match.Success)
        {
            throw new InvalidOperationException(
                $"`{target.Path} -runs=0 {corpusDir}` exited with {result.ExitCode} without an INITED line:{Environment.NewLine}{result.StandardError}");
        }

        return (long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture),
            match.Value);
    }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex LibFuzzerName();

    [GeneratedRegex(@"INITED cov: (\d+) ft: (\d+)[^\n]*")]
    private static partial Regex InitedLine();
}
