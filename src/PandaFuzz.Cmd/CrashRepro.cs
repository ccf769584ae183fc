using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Domain.Engines.LibFuzzer;

namespace PandaFuzz.Cmd;

/// <summary>
/// <c>crash repro ID --target PATH [--keep DIR]</c>, run where the client runs: fetches the crash's bundle through the
/// command host (<c>crash bundle</c>), reruns its input on the operator's own build with the bot's options
/// (<c>reproduce.sh</c>) and says whether it crashes with the crash's signature: exit code 0 when it does, 1 when not.
/// </summary>
public sealed class CrashRepro(string host, int port, string? token, TextWriter output, TextWriter error)
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(2);

    public static bool Handles(IReadOnlyList<string> words) => words is ["crash", "repro", ..];

    public async Task<int> RunAsync(IReadOnlyList<string> words, CancellationToken ct)
    {
        string? id = null, target = null, keep = null;
        for (var i = 2; i < words.Count; i++)
        {
            switch (words[i])
            {
                case "--target" or "-t" when i + 1 < words.Count: target = words[++i]; break;
                case "--keep" when i + 1 < words.Count: keep = words[++i]; break;
                case var word when id is null && !word.StartsWith('-'): id = word; break;
                default:
                    await error.WriteLineAsync($"crash repro: unexpected '{words[i]}'");
                    return Usage();
            }
        }

        if (id is null || target is null)
        {
            return Usage();
        }

        if (!File.Exists(target))
        {
            await error.WriteLineAsync($"crash repro: the target {target} does not exist");
            return 1;
        }

        var dir = keep is null ? Directory.CreateTempSubdirectory("pandafuzz-repro-").FullName : Directory.CreateDirectory(keep).FullName;
        try
        {
            var zip = Path.Combine(dir, "bundle.zip");
            var fetched = await new CommandClient(host, port, token, json: false, TextWriter.Null, error).RunAsync(["crash", "bundle", id, "-o", zip], ct);
            if (fetched != 0)
            {
                return fetched;
            }

            // The bundle comes from the master, not from the target: its names are the master's own (crash-SIGNATURE, reproduce.sh).
            ZipFile.ExtractToDirectory(zip, dir, overwriteFiles: true);
            using var crash = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "crash.json"), ct));
            var signature = crash.RootElement.GetProperty("signature").GetString()!;
            var label = crash.RootElement.GetProperty("reproduce").GetProperty("target").GetString()!;
            var (exitCode, report) = await RunAsync(Path.Combine(dir, "reproduce.sh"), Path.GetFullPath(target), dir, ct);
            if (exitCode == 0)
            {
                await output.WriteLineAsync($"does not reproduce: {target} ran the input of crash {id} without crashing");
                return 1;
            }

            var analysis = CrashAnalyzer.Analyze(report, exitCode is null ? CrashKinds.Timeout : CrashKinds.Crash, label);
            if (analysis.Signature != signature)
            {
                await output.WriteLineAsync($"does not reproduce: it crashes differently, {analysis.Kind} in {analysis.State.Replace('\n', ' ')} " +
                                            $"(signature {analysis.Signature}, the crash's is {signature})");
                return 1;
            }

            await output.WriteLineAsync($"reproduces: {analysis.Kind} in {analysis.State.Replace('\n', ' ')} (signature {signature})");
            return 0;
        }
        finally
        {
            if (keep is null)
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private int Usage()
    {
        error.WriteLine("usage: pandafuzz-cmd [HOST:PORT] crash repro CRASH-ID --target PATH [--keep DIR]");
        return 1;
    }

    /// <summary>The script's exit code (null: killed at the limit) and everything it wrote.</summary>
    private static async Task<(int? ExitCode, string Report)> RunAsync(string script, string target, string dir, CancellationToken ct)
    {
        var start = new ProcessStartInfo("sh") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(target);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(RunLimit);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            return (null, await stdout + await stderr);
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
