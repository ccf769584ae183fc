using System.Diagnostics;
using FluentAssertions;
using PandaFuzz.Domain.Engines;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Engines;

/// <summary>The command that reruns a crash input, as bots run it and as a user copies it.</summary>
public sealed class ReproductionTests
{
    [Fact]
    public void LibFuzzer_reruns_once_with_the_campaigns_limits_and_an_AFL_build_takes_the_file_alone()
    {
        var spec = JobSpec() with { MemoryLimitMb = 4096, TimeoutMs = 1500, TargetName = "png decoder" };

        var libFuzzer = Reproduction.For(spec);
        libFuzzer.Arguments.Should().Equal("-rss_limit_mb=4096", "-timeout=2", "-runs=1");
        libFuzzer.Target.Should().Be("png decoder");
        libFuzzer.Environment["ASAN_OPTIONS"].Should().Contain("handle_abort=1").And.Contain("detect_leaks=1");
        libFuzzer.Environment["UBSAN_OPTIONS"].Should().Be("print_stacktrace=1:halt_on_error=1");

        Reproduction.For(spec with { Engine = EngineNames.AflPlusPlus }).Arguments.Should().BeEmpty();
        Reproduction.For(spec with { TimeoutMs = 1 }).Arguments.Should().Contain("-timeout=1", "a timeout under a second is one second, never none");
    }

    [Fact]
    public void The_command_line_quotes_what_sh_would_split_and_the_script_passes_the_input_beside_it()
    {
        var command = Reproduction.For(JobSpec() with { TargetName = "png decoder" });

        Reproduction.CommandLine(command, "./png decoder", "crash-0011223344556677").Should().Be(
            "ASAN_OPTIONS=symbolize=1:disable_coredump=1:detect_leaks=1:handle_abort=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 " +
            "'./png decoder' -rss_limit_mb=2048 -timeout=1 -runs=1 crash-0011223344556677");

        // Run for real with echo as the target: it prints the arguments the script gives it.
        var dir = Directory.CreateTempSubdirectory("pandafuzz-reproduce-").FullName;
        try
        {
            var script = Path.Combine(dir, "reproduce.sh");
            File.WriteAllText(script, Reproduction.Script(command, "./missing", "crash-0011223344556677"));
            var start = new ProcessStartInfo("sh") { RedirectStandardOutput = true, WorkingDirectory = Path.GetTempPath() };
            start.ArgumentList.Add(script);
            start.ArgumentList.Add("/bin/echo");
            using var process = Process.Start(start)!;
            var printed = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();

            process.ExitCode.Should().Be(0);
            printed.Should().Be($"-rss_limit_mb=2048 -timeout=1 -runs=1 {Path.Combine(new DirectoryInfo(dir).FullName, "crash-0011223344556677")}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
