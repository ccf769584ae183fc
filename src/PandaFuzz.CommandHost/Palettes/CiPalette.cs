using System.CommandLine;
using System.Text;
using System.Text.Json;

namespace PandaFuzz.CommandHost.Palettes;

/// <summary>
/// <c>ci --name N --target PATH [--engine E] [--seconds S] [--jobs J] [--revision R] [--sarif FILE] [--source-root DIR]</c>:
/// a CI gate through the API (<c>POST /targets/{name}/ci</c>, then its verdict until it is final). pandafuzz-cmd sends the
/// binary at PATH with the command; the exit code is 0 when the build has only known bugs, <see cref="NewOrRegressedBug"/>
/// when it has a new or a regressed one, 1 when the gate could not judge it.
/// </summary>
public sealed class CiPalette(GatewayClient api) : ICommandPalette
{
    /// <summary>The gate failed: as <c>campaign watch --fail-on-crash</c>'s, so 1 stays "the command failed".</summary>
    public const int NewOrRegressedBug = 2;

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    public Command Build(CommandSession session)
    {
        var name = new Option<string>("--name", "-n") { Description = "The target's name: its builds, corpus and known bugs", Required = true };
        var target = new Option<string>("--target", "-t") { Description = "The fuzz target built from the change, on the machine running pandafuzz-cmd", Required = true };
        var engine = new Option<string>("--engine", "-e") { Description = "libfuzzer or aflplusplus", DefaultValueFactory = _ => "libfuzzer" };
        var seconds = new Option<int>("--seconds", "-s") { Description = "How long the gate fuzzes", DefaultValueFactory = _ => 300 };
        var jobs = new Option<int>("--jobs", "-j") { Description = "Fuzzing jobs (bot slots) for the gate", DefaultValueFactory = _ => 1 };
        var revision = new Option<string?>("--revision", "-r") { Description = "The build's label: the commit being checked" };
        var sarif = new Option<string?>("--sarif") { Description = "Write the new, regressed and known bugs as SARIF to this file, where pandafuzz-cmd runs" };
        var sourceRoot = new Option<string?>("--source-root")
        {
            Description = "The checkout the target was built in: SARIF paths under it are relative to SRCROOT (code scanning maps them to files)",
        };
        var ci = new Command("ci", "A CI gate: adds the build, reruns the target's known bugs on it, fuzzes it from the target's corpus; fails on a new or regressed bug")
        {
            name, target, engine, seconds, jobs, revision, sarif, sourceRoot,
        };
        ci.SetAction(async (parse, ct) =>
        {
            if (session.Upload is not { } binary)
            {
                throw new CommandFailedException("ci takes the binary from pandafuzz-cmd, which sends the --target file with the command");
            }

            var targetName = parse.GetValue(name)!;
            var query = new StringBuilder($"targets/{Uri.EscapeDataString(targetName)}/ci?engine={Uri.EscapeDataString(parse.GetValue(engine)!)}")
                .Append($"&seconds={parse.GetValue(seconds)}&jobs={parse.GetValue(jobs)}");
            if (parse.GetValue(revision) is { } label)
            {
                query.Append($"&revision={Uri.EscapeDataString(label)}");
            }

            // The checkout the binary was built in becomes its build's source root, for coverage reports and SARIF.
            if (parse.GetValue(sourceRoot) is { } checkout)
            {
                query.Append($"&sourceRoot={Uri.EscapeDataString(checkout)}");
            }

            var gate = await api.PostFileAsync(query.ToString(), binary, ct);
            var path = $"targets/{Uri.EscapeDataString(targetName)}/ci/{Uri.EscapeDataString(gate.S("campaignId"))}";
            await session.OutAsync($"build {gate.S("build")} of {targetName}{(gate.S("newBuild") == "false" ? " (this binary was that build already)" : "")}: " +
                                   $"gate campaign {gate.S("campaignId")} fuzzes it for {gate.S("durationSeconds")} s from the target's corpus; " +
                                   "the target's campaigns rerun their known bugs on it");
            while (gate.S("status") == "running")
            {
                if (!session.Json)
                {
                    await session.RefreshAsync($"gate {gate.S("campaignId")}: fuzzing jobs {gate.S("fuzzingJobs")}, campaigns rerunning bugs " +
                                               $"{gate.S("verifyingCampaigns")}, crash reports in flight {gate.S("crashReportsInFlight")}; so far " +
                                               $"{Count(gate, "newBugs")} new, {Count(gate, "regressedBugs")} regressed, {Count(gate, "knownBugs")} known");
                }

                await Task.Delay(PollInterval, ct);
                gate = await api.GetAsync(path, ct);
            }

            if (parse.GetValue(sarif) is { } sarifFile)
            {
                var root = parse.GetValue(sourceRoot);
                var bytes = await api.GetBytesAsync(path + "/sarif" + (root is null ? "" : $"?sourceRoot={Uri.EscapeDataString(root)}"), ct);
                await session.FileAsync(sarifFile, bytes);
            }

            await (session.Json ? session.JsonAsync(gate) : session.OutAsync(Report(gate, parse.GetValue(target)!)));
            return gate.S("status") switch
            {
                "passed" => 0,
                "failed" => NewOrRegressedBug,
                _ => 1,
            };
        });
        return ci;
    }

    private static int Count(JsonElement gate, string list) => gate.P(list).Items().Count();

    /// <summary>The verdict: each failing bug with the commands that rerun it, then the known and fixed bugs.</summary>
    private static string Report(JsonElement gate, string target)
    {
        var text = new StringBuilder();
        Section("NEW", "newBugs", withRepro: true);
        Section("REGRESSED", "regressedBugs", withRepro: true);
        Section("KNOWN (open, not failing the gate)", "knownBugs", withRepro: false);
        Section($"FIXED in build {gate.S("build")}", "fixedBugs", withRepro: false);
        text.Append(gate.S("status") switch
        {
            "passed" => $"passed: build {gate.S("build")} of {gate.S("target")} brings no new or regressed bug",
            "failed" => $"failed: build {gate.S("build")} of {gate.S("target")} has {Count(gate, "newBugs")} new and {Count(gate, "regressedBugs")} regressed bug(s)",
            _ => $"error: {gate.S("error")}",
        });
        return text.ToString();

        void Section(string title, string list, bool withRepro)
        {
            var bugs = gate.P(list).Items().ToList();
            if (bugs.Count == 0)
            {
                return;
            }

            text.AppendLine($"{title}:");
            foreach (var bug in bugs)
            {
                text.AppendLine($"  {bug.S("bugId")}  {bug.S("kind")} in {bug.S("crashState").Replace('\n', ' ')}  ({bug.S("status")})");
                if (withRepro)
                {
                    text.AppendLine($"    rerun locally: pandafuzz-cmd HOST:PORT crash repro {bug.S("crashId")} --target {target}");
                    if (bug.P("reproduce").S("commandLine") is { } line and not "-")
                    {
                        text.AppendLine($"    or, from its bundle (crash bundle {bug.S("crashId")} -o bundle.zip): {line}");
                    }
                }
            }
        }
    }
}
