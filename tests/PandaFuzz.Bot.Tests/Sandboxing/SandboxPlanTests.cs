using FluentAssertions;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Sandboxing;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Bot.Tests.Sandboxing;

/// <summary>
/// The sandbox's decisions from settings and probe facts (pure), the command line they make, and the probe of this machine.
/// </summary>
public sealed class SandboxPlanTests(ITestOutputHelper output)
{
    private static readonly SandboxUser Nobody = new("nobody", 65534, 65534);
    private static readonly CgroupHost V1 = new(1, "/sys/fs/cgroup/memory/pandafuzz");

    /// <summary>A root bot on a machine where everything works.</summary>
    private static readonly SandboxHost Everything = new(0, Nobody, null, null, null, null, null, V1, null);

    private static readonly FuzzerLaunch Launch = new("/jobs/a/target", ["-runs=1", "/jobs/a/corpus"], "/jobs/a", new Dictionary<string, string> { ["ASAN_OPTIONS"] = "x=1" });

    [Fact]
    public void A_root_bot_with_every_tool_joins_the_cgroup_then_limits_then_drops_to_the_user_then_enters_bwrap()
    {
        var plan = SandboxPlan.Decide(SandboxSettings.Default, Everything);

        var wrapped = plan.Wrap(Launch, new SandboxRun("/sys/fs/cgroup/memory/pandafuzz/1-1/cgroup.procs", 400));

        plan.Errors.Should().BeEmpty();
        plan.Report.Measures.Should().OnlyContain(m => m.Enforced);
        var command = new[] { wrapped.Program }.Concat(wrapped.Arguments).ToList();
        command[0].Should().Be("sh");
        command.Should().ContainInOrder("/sys/fs/cgroup/memory/pandafuzz/1-1/cgroup.procs", "prlimit", "--cpu=400:410", "--nofile=4096:4096",
            $"--fsize={1024L * 1024 * 1024}:{1024L * 1024 * 1024}", "--core=0:0", "--nproc=1024:1024", "--",
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
            "sh", "-c", "trap '' TERM; exec \"$@\"", "pandafuzz-sandbox",
            "bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-net");
        command.Should().ContainInOrder("--ro-bind-try", "/usr", "/usr").And.ContainInOrder("--tmpfs", "/tmp", "--bind", "/jobs/a", "/jobs/a", "--chdir", "/jobs/a", "--");
        command.Should().EndWith(["--", "sh", "-c", SandboxPlan.RunThenEmptyNamespace, "pandafuzz-run", "/jobs/a/target", "-runs=1", "/jobs/a/corpus"]);
        command.Should().NotContain(a => a.StartsWith("--as", StringComparison.Ordinal), "an address-space limit breaks ASan");
        command.Should().NotContain("--new-session", "a second session would take the target out of the process group the bot kills");
        command.Should().NotContain("--die-with-parent", "its signal follows the bot's thread that started the run, not the bot");
        wrapped.WorkingDirectory.Should().Be("/jobs/a");
        wrapped.Environment.Should().BeEquivalentTo(Launch.Environment);
    }

    [Fact]
    public void Without_bwrap_the_network_is_cut_by_unshare_as_root_and_the_filesystem_is_reported_unenforced()
    {
        var plan = SandboxPlan.Decide(SandboxSettings.Default, Everything with { BwrapError = "bwrap is not installed" });

        var command = Command(plan.Wrap(Launch, new SandboxRun(null, 60)));

        command.Should().ContainInOrder("unshare", "--net", "--", "setpriv").And.NotContain("bwrap").And.NotContain("sh", "nothing to keep alive: the engine itself gets the stop's SIGTERM");
        Measure(plan, "network").Enforced.Should().BeTrue();
        Measure(plan, "filesystem").Should().Match<PandaFuzz.Protocol.SandboxMeasure>(m => !m.Enforced && m.Detail.Contains("bwrap is not installed"));
        plan.Errors.Should().BeEmpty("best effort: a machine without bwrap still fuzzes");
    }

    [Fact]
    public void A_required_measure_that_cannot_be_enforced_is_an_error_naming_its_key()
    {
        var settings = SandboxSettings.Default with { Filesystem = SandboxSettings.Default.Filesystem with { Mode = SandboxMode.Required } };

        var plan = SandboxPlan.Decide(settings, Everything with { BwrapError = "bwrap is not installed" });

        plan.Errors.Should().ContainSingle().Which.Should().StartWith("pandafuzz.bot.sandbox.filesystem.mode = required").And.Contain("bwrap is not installed");
    }

    [Fact]
    public void A_bot_that_is_not_root_runs_targets_as_itself_and_unshares_through_a_user_namespace()
    {
        var plan = SandboxPlan.Decide(SandboxSettings.Default with { Network = new NetworkSandbox(SandboxMode.BestEffort, "unshare") },
            Everything with { BotUid = 1000, Cgroup = null, CgroupError = "v1: cannot make a limited cgroup" });

        var command = Command(plan.Wrap(Launch, new SandboxRun(null, 60)));

        Measure(plan, "user").Should().Match<PandaFuzz.Protocol.SandboxMeasure>(m => !m.Enforced && m.Detail.Contains("uid 1000 (not root)") && m.Detail.Contains("no user isolation"),
            "the bot's own uid is no isolation");
        Measure(plan, "memory").Should().Match<PandaFuzz.Protocol.SandboxMeasure>(m => !m.Enforced && m.Detail.Contains("-rss_limit_mb"));
        command.Should().NotContain("setpriv").And.ContainInOrder("unshare", "--user", "--map-current-user", "--net", "--", "bwrap");
    }

    [Fact]
    public void A_bot_with_network_and_filesystem_isolation_takes_jobs()
    {
        var report = SandboxPlan.Decide(SandboxSettings.Default, Everything).Report;

        report.Should().Match<PandaFuzz.Protocol.SandboxReport>(r => r.Isolated && !r.AllowUnisolated && r.RefusesJobs == null);
    }

    [Fact]
    public void A_bot_without_bwrap_refuses_jobs_naming_what_is_missing_and_the_opt_out()
    {
        var report = SandboxPlan.Decide(SandboxSettings.Default, Everything with { BwrapError = "bwrap is not installed" }).Report;

        report.Isolated.Should().BeFalse("unshare cuts the network, but the target still sees the whole filesystem");
        report.RefusesJobs.Should().Contain("filesystem: bwrap not usable: bwrap is not installed")
            .And.Contain("pandafuzz.bot.sandbox.allow-unisolated = on").And.NotContain("network:", "the network is isolated");
    }

    [Fact]
    public void The_opt_out_lets_a_bot_that_cannot_isolate_take_jobs_and_says_so()
    {
        var settings = SandboxSettings.Default with { AllowUnisolated = true };

        var report = SandboxPlan.Decide(settings, Everything with { BwrapError = "bwrap is not installed", UnshareError = "unshare is not installed" }).Report;

        report.Should().Match<PandaFuzz.Protocol.SandboxReport>(r => !r.Isolated && r.AllowUnisolated && r.RefusesJobs == null);
    }

    [Fact]
    public void A_disabled_sandbox_is_no_isolation_and_needs_the_opt_out_too()
    {
        var settings = SandboxSettings.Default with { Enabled = false };

        SandboxPlan.Decide(settings, Everything).Report.RefusesJobs.Should().Contain("network: the sandbox is disabled").And.Contain("filesystem: the sandbox is disabled");
        SandboxPlan.Decide(settings with { AllowUnisolated = true }, Everything).Report.RefusesJobs.Should().BeNull();
    }

    [Fact]
    public void A_required_user_measure_stops_a_bot_that_is_not_root()
    {
        var settings = SandboxSettings.Default with { User = SandboxSettings.Default.User with { Mode = SandboxMode.Required } };

        var plan = SandboxPlan.Decide(settings, Everything with { BotUid = 1000 });

        plan.Errors.Should().ContainSingle().Which.Should().StartWith("pandafuzz.bot.sandbox.user.mode = required");
    }

    [Fact]
    public void A_root_bot_that_cannot_switch_users_says_its_process_limit_does_not_hold()
    {
        var plan = SandboxPlan.Decide(SandboxSettings.Default, Everything with { TargetUser = null, TargetUserError = "no such user in /etc/passwd" });

        Measure(plan, "user").Enforced.Should().BeFalse();
        Measure(plan, "rlimits").Detail.Should().Contain("processes not limited");
        Command(plan.Wrap(Launch, new SandboxRun(null, 60))).Should().NotContain("setpriv");
    }

    [Fact]
    public void A_disabled_sandbox_leaves_the_launch_alone_and_reports_every_measure_off()
    {
        var plan = SandboxPlan.Decide(SandboxSettings.Off, Everything);

        plan.Wrap(Launch, new SandboxRun(null, 60)).Should().BeSameAs(Launch);
        plan.Report.Enabled.Should().BeFalse();
        plan.Report.Measures.Where(m => m.Name != "session").Should().OnlyContain(m => !m.Enforced && m.Mode == "off");
    }

    [Fact]
    public void The_probe_reports_every_measure_on_this_machine()
    {
        var report = Sandbox.Of(SandboxSettings.Default).Report;

        foreach (var m in report.Measures)
        {
            output.WriteLine($"{m.Name} ({m.Mode}): {(m.Enforced ? "enforced" : "NOT enforced")} - {m.Detail}");
        }

        report.Measures.Select(m => m.Name).Should().Equal("session", "user", "rlimits", "memory", "network", "filesystem");
        report.Measures.Should().OnlyContain(m => m.Detail.Length > 0);
        Measure(report, "session").Enforced.Should().BeTrue();
    }

    private static List<string> Command(FuzzerLaunch launch) => [launch.Program, .. launch.Arguments];

    private static PandaFuzz.Protocol.SandboxMeasure Measure(SandboxPlan plan, string name) => Measure(plan.Report, name);

    private static PandaFuzz.Protocol.SandboxMeasure Measure(PandaFuzz.Protocol.SandboxReport report, string name) => report.Measures.Single(m => m.Name == name);

    [Fact]
    public void A_root_bot_whose_work_dirs_the_sandbox_user_cannot_reach_does_not_switch_to_it_and_says_why()
    {
        if (OperatingSystem.IsWindows() || Environment.UserName != "root")
        {
            output.WriteLine("not root: the bot does not switch users, nothing to check");
            return;
        }

        var closed = Path.Combine(Path.GetTempPath(), "pandafuzz-closed-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(closed, "data", "bot", "jobs"));
        try
        {
            File.SetUnixFileMode(closed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var host = SandboxProbe.Run(SandboxSettings.Default with { WorkRoot = Path.Combine(closed, "data", "bot", "jobs") });

            host.TargetUser.Should().BeNull();
            host.TargetUserError.Should().Contain(closed).And.Contain("not searchable by others");
            var plan = SandboxPlan.Decide(SandboxSettings.Default, host);
            plan.RunAs.Should().BeNull("runs stay as the bot's user rather than fail to start");
            plan.Report.Measures.Single(m => m.Name == "user").Enforced.Should().BeFalse();

            File.SetUnixFileMode(closed, File.GetUnixFileMode(closed) | UnixFileMode.OtherExecute);
            SandboxProbe.Run(SandboxSettings.Default with { WorkRoot = Path.Combine(closed, "data", "bot", "jobs") }).TargetUser.Should().NotBeNull();
        }
        finally
        {
            Directory.Delete(closed, recursive: true);
        }
    }
}
