using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace PandaFuzz.Bot.Sandboxing;

/// <summary>Finds out what this machine allows by trying each tool once on <c>true</c>, in the form the plan uses.</summary>
public static partial class SandboxProbe
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(10);

    public static SandboxHost Run(SandboxSettings settings)
    {
        var uid = (int)GetUid();
        var (user, userError) = ResolveUser(settings.User.Name);
        // bwrap runs as the sandbox user and binds the work dir by its real path: a data dir under a folder others cannot
        // search (say /root) makes every run fail, so such a user is not usable here (the report says why).
        if (user is not null && uid == 0 && settings.WorkRoot is { } workRoot && Sandbox.UnreachableFolder(workRoot) is { } closed)
        {
            (user, userError) = (null, $"it cannot reach the job work dirs under {workRoot}: {closed} is not searchable by others (chmod o+x it, or keep the data dir elsewhere)");
        }

        var setpriv = uid != 0 ? "not needed" : user is null ? "no user to switch to" : Try("setpriv", $"--reuid={user.Uid}", $"--regid={user.Gid}", "--clear-groups", "--", "true");
        var prlimit = Try("prlimit", "--core=0:0", "--nofile=256:256", "--", "true");
        // bwrap is tried the way runs use it: as the sandbox user when the bot switches to one (then unprivileged, in a user namespace).
        string[] bwrap = ["bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-net", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--", "true"];
        var bwrapError = uid == 0 && user is not null && setpriv is null
            ? Try(["setpriv", $"--reuid={user.Uid}", $"--regid={user.Gid}", "--clear-groups", "--", .. bwrap])
            : Try(bwrap);
        var unshare = uid == 0 ? Try("unshare", "--net", "--", "true") : Try("unshare", "--user", "--map-current-user", "--net", "--", "true");
        var (cgroup, cgroupError) = settings.Memory.Mode == SandboxMode.Off ? (null, "off") : FindCgroup(settings.Memory);
        return new SandboxHost(uid, user, userError, setpriv, prlimit, bwrapError, unshare, cgroup, cgroupError);
    }

    /// <summary>A bare uid missing from /etc/passwd is taken as is, with the same gid.</summary>
    public static (SandboxUser? User, string? Error) ResolveUser(string nameOrUid)
    {
        var lines = File.Exists("/etc/passwd") ? File.ReadAllLines("/etc/passwd") : [];
        foreach (var line in lines)
        {
            var fields = line.Split(':');
            if (fields.Length >= 4 && (fields[0] == nameOrUid || fields[2] == nameOrUid)
                && int.TryParse(fields[2], CultureInfo.InvariantCulture, out var uid) && int.TryParse(fields[3], CultureInfo.InvariantCulture, out var gid))
            {
                return uid == 0 ? (null, "it is root") : (new SandboxUser(fields[0], uid, gid), null);
            }
        }

        return int.TryParse(nameOrUid, CultureInfo.InvariantCulture, out var bare) && bare > 0
            ? (new SandboxUser(nameOrUid, bare, bare), null)
            : (null, "no such user in /etc/passwd");
    }

    // v2 when memory is an available controller, else v1; a cgroup is made, limited and removed to be sure.
    private static (CgroupHost?, string?) FindCgroup(MemorySandbox memory)
    {
        var errors = new List<string>();
        if (memory.Cgroup is "auto" or "v2")
        {
            var root = "/sys/fs/cgroup";
            if (File.Exists(Path.Combine(root, "cgroup.controllers")) && File.ReadAllText(Path.Combine(root, "cgroup.controllers")).Split(' ', '\n').Contains("memory"))
            {
                var parent = memory.CgroupParent.Length > 0 ? memory.CgroupParent : Path.Combine(root, "pandafuzz");
                if (TryCgroup(new CgroupHost(2, parent), errors))
                {
                    return (new CgroupHost(2, parent), null);
                }
            }
            else
            {
                errors.Add("v2: no memory controller in /sys/fs/cgroup/cgroup.controllers");
            }
        }

        if (memory.Cgroup is "auto" or "v1")
        {
            var root = "/sys/fs/cgroup/memory";
            if (File.Exists(Path.Combine(root, "memory.limit_in_bytes")))
            {
                var parent = memory.CgroupParent.Length > 0 ? memory.CgroupParent : Path.Combine(root, "pandafuzz");
                if (TryCgroup(new CgroupHost(1, parent), errors))
                {
                    return (new CgroupHost(1, parent), null);
                }
            }
            else
            {
                errors.Add("v1: no memory hierarchy at /sys/fs/cgroup/memory");
            }
        }

        return (null, string.Join("; ", errors));
    }

    private static bool TryCgroup(CgroupHost host, List<string> errors)
    {
        var probe = Path.Combine(host.Parent, $"{Environment.ProcessId}-probe");
        try
        {
            Cgroups.PrepareParent(host);
            Cgroups.RemoveLeftovers(host);
            Directory.CreateDirectory(probe);
            File.WriteAllText(Path.Combine(probe, host.LimitFile), (64L * 1024 * 1024).ToString(CultureInfo.InvariantCulture));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add($"v{host.Version}: cannot make a limited cgroup under {host.Parent}: {e.Message}");
            return false;
        }
        finally
        {
            Cgroups.Remove(probe);
        }
    }

    private static string? Try(params string[] command)
    {
        try
        {
            var info = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var arg in command.Skip(1))
            {
                info.ArgumentList.Add(arg);
            }

            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(ToolTimeout))
            {
                process.Kill(entireProcessTree: true);
                return $"`{command[0]}` did not finish within {ToolTimeout.TotalSeconds:0} s";
            }

            var text = error.Result.Trim().Split('\n').FirstOrDefault(l => l.Length > 0);
            return process.ExitCode == 0 ? null : $"`{string.Join(' ', command)}` failed with exit code {process.ExitCode}{(text is null ? "" : ": " + text)}";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return $"{command[0]} is not installed";
        }
    }

    [LibraryImport("libc", EntryPoint = "getuid")]
    private static partial uint GetUid();
}
