using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>A fact that needs promtool (Debian package prometheus; ops/test.sh installs it) and is skipped, saying so, without it.</summary>
public sealed class PromtoolFactAttribute : FactAttribute
{
    public PromtoolFactAttribute()
    {
        if (MonitoringFilesTests.Promtool is null)
        {
            Skip = "promtool is not installed (apt-get install prometheus; ops/test.sh installs it)";
        }
    }
}

/// <summary>
/// The shipped monitoring files: the alert rules and scrape config pass promtool, the rules' unit tests pass, and every
/// metric the rules and the dashboard name is one the node exports.
/// </summary>
public sealed partial class MonitoringFilesTests
{
    public static string? Promtool =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "promtool"))
            .FirstOrDefault(File.Exists);

    private static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "PandaFuzz.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException($"PandaFuzz.sln not found above {AppContext.BaseDirectory}");
        }
    }

    private static string Ops(string file) => Path.Combine(Root, "ops", file);

    [PromtoolFact]
    public void Alert_rules_pass_promtool_check_rules() =>
        RunPromtool("check", "rules", Ops("prometheus/alerts.yml")).Should().Be(0);

    [PromtoolFact]
    public void Alert_rules_pass_their_unit_tests() =>
        RunPromtool("test", "rules", Ops("prometheus/alerts.test.yml")).Should().Be(0);

    [PromtoolFact]
    public void The_scrape_config_passes_promtool_check_config() =>
        RunPromtool("check", "config", Ops("prometheus/prometheus.yml")).Should().Be(0);

    [Fact]
    public void Rules_and_dashboard_name_only_metrics_the_node_exports()
    {
        var exported = Directory.GetFiles(Path.Combine(Root, "src"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => MetricName().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .SelectMany(n => new[] { n, n + "_bucket", n + "_sum", n + "_count" })
            .ToHashSet();
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Ops("grafana/pandafuzz-dashboard.json")));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .Append(File.ReadAllText(Ops("prometheus/alerts.yml")))
            .ToList();

        var named = expressions.SelectMany(e => UsedName().Matches(e).Select(m => m.Value)).ToHashSet();

        named.Should().NotBeEmpty();
        named.Should().BeSubsetOf(exported, "a rule or panel on a metric nobody exports never shows anything");
    }

    [Fact]
    public void The_dashboard_picks_campaigns_by_name_and_bots_and_its_campaign_panels_follow_the_pick()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Ops("grafana/pandafuzz-dashboard.json")));
        var variables = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .ToDictionary(v => v.GetProperty("name").GetString()!, v => v.GetProperty("definition").GetString()!);
        variables.Keys.Should().BeEquivalentTo("campaign", "bot");
        variables["campaign"].Should().Contain("pandafuzz_campaign_info");

        var campaignExpressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .Where(e => e.Contains("pandafuzz_campaign_", StringComparison.Ordinal))
            .ToList();
        campaignExpressions.Should().NotBeEmpty().And.OnlyContain(e => e.Contains("campaign=~\"$campaign\"", StringComparison.Ordinal)
            && e.Contains("group_left(name)", StringComparison.Ordinal), "each campaign panel follows the pick and shows names, not ids");
    }

    private static int RunPromtool(params string[] arguments)
    {
        var start = new ProcessStartInfo(Promtool!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit(TimeSpan.FromSeconds(60)).Should().BeTrue("promtool answers within a minute");
        process.ExitCode.Should().Be(0, "promtool {0}: {1}{2}", string.Join(' ', arguments), output.Result, error.Result);
        return process.ExitCode;
    }

    [GeneratedRegex("\"(pandafuzz_[a-z_]+)\"")]
    private static partial Regex MetricName();

    [GeneratedRegex("pandafuzz_[a-z_]+")]
    private static partial Regex UsedName();
}
