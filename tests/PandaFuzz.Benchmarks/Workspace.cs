using System.Globalization;

namespace PandaFuzz.Benchmarks;

/// <summary>
/// A benchmark's temporary dir (/tmp/pandafuzz-bench-*): targets, standalone runs, the node's copy, data dir and log.
/// Every process the benchmark starts names this dir on its command line, so disposing SIGKILLs whatever is left of
/// them (<c>pkill -KILL -f DIR</c>); the dir is deleted unless a run failed or it is to be kept.
/// </summary>
public sealed class Workspace : IDisposable
{
    private readonly bool _keep;

    private string? _memoryRoot;

    public Workspace(string benchmark, bool keep)
    {
        _keep = keep;
        Root = Path.Combine(Path.GetTempPath(), $"pandafuzz-bench-{benchmark}-{Guid.NewGuid().ToString("N")[..10]}");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>
    /// A dir in memory (tmpfs, /dev/shm) named like <see cref="Root"/>, deleted with it; under <see cref="Root"/> where there is no
    /// /dev/shm.
    /// </summary>
    public string MemoryDir(params string[] parts)
    {
        if (_memoryRoot is null)
        {
            _memoryRoot = Directory.Exists("/dev/shm") ? Path.Combine("/dev/shm", Path.GetFileName(Root)) : Path.Combine(Root, "memory");
            Directory.CreateDirectory(_memoryRoot);
        }

        var path = Path.Combine([_memoryRoot, .. parts]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Problems seen during the run, printed at the end and written to the JSON.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>Prints the first line of each problem, if there are any.</summary>
    public void PrintProblems()
    {
        if (Problems.Count > 0)
        {
            Console.WriteLine($"{Problems.Count} problem(s):");
            foreach (var problem in Problems)
            {
                Console.WriteLine($"  - {problem.Split('\n')[0]}");
            }
        }
    }

    public bool Failed { get; set; }

    public string Dir(params string[] parts)
    {
        var path = Path.Combine([Root, .. parts]);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Problem(string message)
    {
        Problems.Add(message);
        Console.WriteLine($"  problem: {message}");
    }

    public void KillLeftovers() => ProcessTools.KillByCommandLine(Root);

    public void Dispose()
    {
        KillLeftovers();
        if (Failed || _keep)
        {
            Console.WriteLine($"Work dir kept: {Root}{(_memoryRoot is null ? "" : $" (and {_memoryRoot})")}");
            return;
        }

        try
        {
            if (_memoryRoot is not null && Directory.Exists(_memoryRoot))
            {
                Directory.Delete(_memoryRoot, recursive: true);
            }

            Directory.Delete(Root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.WriteLine($"Work dir {Root} could not be deleted: {e.Message}");
        }
    }
}

/// <summary>What the results were measured on.</summary>
public sealed record MachineInfo(
    string Host, int OnlineCores, string CpuModel, string Kernel, string Dotnet, string Clang, string AflFuzz, string RepoCommit, bool RepoDirty, string NodeBuildDir)
{
    public static async Task<MachineInfo> CollectAsync(string nodeBuildDir, CancellationToken cancellationToken)
    {
        var cpuModel = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown"
            : "unknown";
        var kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.VersionString;
        var commit = "unknown";
        var dirty = false;
        try
        {
            var head = await ProcessRunner.RunAsync("git", ["-C", RepoLayout.Root, "rev-parse", "--short", "HEAD"], TimeSpan.FromSeconds(20), cancellationToken);
            commit = head.Succeeded ? head.Output.Trim() : "unknown";
            var status = await ProcessRunner.RunAsync("git", ["-C", RepoLayout.Root, "status", "--porcelain", "--", "src"], TimeSpan.FromSeconds(20), cancellationToken);
            dirty = status.Succeeded && status.Output.Trim().Length > 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No git: the commit stays unknown.
        }

        return new MachineInfo(
            Environment.MachineName,
            Cpu.Online().Count,
            cpuModel,
            kernel,
            Environment.Version.ToString(),
            await Toolchain.VersionAsync("clang", "--version", cancellationToken),
            await Toolchain.VersionAsync("afl-fuzz", "-h", cancellationToken),
            commit,
            dirty,
            nodeBuildDir);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Host}: {OnlineCores} cores ({CpuModel}), Linux {Kernel}, .NET {Dotnet}, {Clang}, {AflFuzz}, repo {RepoCommit}{(RepoDirty ? " (src/ has uncommitted changes)" : "")}");
}
