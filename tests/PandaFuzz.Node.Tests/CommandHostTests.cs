using Akka.Configuration;
using FluentAssertions;
using PandaFuzz.Cmd;
using PandaFuzz.CommandHost;
using PandaFuzz.CommandHost.Palettes;
using Serilog.Events;
using Serilog.Parsing;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>The command host's settings, and a real host on loopback answering the real client: tokens, usage, log lines.</summary>
public sealed class CommandHostTests
{
    private static readonly Config Shipped = ConfigurationFactory.ParseString("""pandafuzz.command-host { endpoint = "127.0.0.1:9110", token = "" }""");

    [Fact]
    public void The_default_is_loopback_9110_without_a_token()
    {
        var settings = CommandHostSettings.From(Shipped, _ => null);

        settings.Should().BeEquivalentTo(new { Enabled = true, Port = 9110, Token = (string?)null });
        settings.Address.ToString().Should().Be("127.0.0.1");
    }

    [Fact]
    public void Beyond_loopback_without_a_token_the_node_refuses_to_start_naming_the_key()
    {
        var act = () => CommandHostSettings.From(Shipped, name => name == CommandHostSettings.EndpointVariable ? "0.0.0.0:9110" : null);

        act.Should().Throw<ConfigurationException>().WithMessage("PANDAFUZZ_CMD binds 0.0.0.0:9110, beyond loopback, without a token*");
        CommandHostSettings.From(Shipped, name => name switch
        {
            CommandHostSettings.EndpointVariable => "0.0.0.0:9110",
            CommandHostSettings.TokenVariable => "s3cret",
            _ => null,
        }).Token.Should().Be("s3cret");
    }

    [Theory]
    [InlineData("localhost:9110")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:70000")]
    public void A_bad_endpoint_names_its_key(string endpoint)
    {
        var act = () => CommandHostSettings.From(Shipped, name => name == CommandHostSettings.EndpointVariable ? endpoint : null);

        act.Should().Throw<ConfigurationException>().WithMessage($"PANDAFUZZ_CMD='{endpoint}' is invalid: expected an IP address and port such as 127.0.0.1:9110, or off");
    }

    [Fact]
    public void Off_turns_the_host_off() =>
        CommandHostSettings.From(Shipped, name => name == CommandHostSettings.EndpointVariable ? "off" : null).Enabled.Should().BeFalse();

    [Fact]
    public async Task A_host_with_a_token_refuses_a_wrong_one_answers_the_right_one_and_gives_usage_for_a_bad_command()
    {
        // Arrange: a host on a free loopback port with the log palette, and a line in its log.
        await using var host = await LogHost.StartAsync(new CommandHostSettings(true, System.Net.IPAddress.Loopback, 0, "s3cret"));

        // Act and assert
        var refused = await host.Run("wrong", "log", "peek");
        refused.Code.Should().Be(3);
        refused.Output.Should().Contain("wants a token").And.NotContain("bot lost");

        var peek = await host.Run("s3cret", "log", "peek", "-n", "5");
        peek.Code.Should().Be(0);
        peek.Output.Should().Contain("WRN bot lost: bot-7");

        var bad = await host.Run("s3cret", "log", "explode");
        bad.Code.Should().Be(1);
        bad.Output.Should().Contain("Usage:").And.Contain("peek").And.NotContain("   at ");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Without_a_configured_token_a_node_makes_one_in_its_data_dir_for_its_owner_only_and_keeps_it()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "pandafuzz-cmd-token-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var configured = CommandHostSettings.From(Shipped, _ => null);

            var first = configured.WithLocalToken(dataDir);
            var second = configured.WithLocalToken(dataDir);

            first.Token.Should().NotBeNullOrEmpty().And.HaveLength(43, "32 random bytes, base64url");
            second.Token.Should().Be(first.Token, "a restarted node keeps its token");
            var file = Path.Combine(dataDir, CommandHostSettings.GeneratedTokenFile);
            File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
            first.TokenSource.Should().Be($"generated, in {file}").And.NotContain(first.Token!);
            (configured with { Token = "s3cret-configured" }).WithLocalToken(dataDir).Token.Should().Be("s3cret-configured");
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task A_host_without_a_token_given_refuses_every_command_and_the_client_finds_the_nodes_token_by_itself()
    {
        // Arrange: a host whose token the node made (none configured), and what a client finds in that data dir.
        var dataDir = Path.Combine(Path.GetTempPath(), "pandafuzz-cmd-token-" + Guid.NewGuid().ToString("N")[..12]);
        var settings = new CommandHostSettings(true, System.Net.IPAddress.Loopback, 0, null).WithLocalToken(dataDir);
        await using var host = await LogHost.StartAsync(settings);

        try
        {
            // Act and assert: no token, no command; the token the client reads from the node's data dir works.
            var refused = await host.Run(null, "log", "peek");
            refused.Code.Should().Be(3);
            refused.Output.Should().Contain("wants a token").And.NotContain("bot lost");
            LocalToken.Read(name => name == LocalToken.DataDirVariable ? Path.Combine(dataDir, "elsewhere") : null)
                .Should().BeNull("no token file is there");
            var found = LocalToken.Read(name => name == LocalToken.DataDirVariable ? dataDir : null);
            found.Should().Be(settings.Token);
            var peek = await host.Run(found, "log", "peek", "-n", "5");
            peek.Code.Should().Be(0, peek.Output);
            peek.Output.Should().Contain("WRN bot lost: bot-7");
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>A real command host on a free loopback port with the log palette (one warning in its log), and the real client.</summary>
    private sealed class LogHost : IAsyncDisposable
    {
        private readonly CommandHostService _host;
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(30));
        private int _port;

        private LogHost(CommandHostSettings settings)
        {
            var log = new RecentLog();
            log.Emit(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Warning, null, new MessageTemplateParser().Parse("bot lost: bot-7"), []));
            _host = new CommandHostService(settings, new CommandPalettes([new LogPalette(log)]));
        }

        public static async Task<LogHost> StartAsync(CommandHostSettings settings)
        {
            var host = new LogHost(settings);
            await host._host.StartAsync(host._stop.Token);
            host._port = (await host._host.Listening.WaitAsync(host._stop.Token))!.Port;
            return host;
        }

        /// <summary>Runs one command through pandafuzz-cmd's client: its exit code and everything it printed.</summary>
        public async Task<(int Code, string Output)> Run(string? token, params string[] args)
        {
            var output = new StringWriter();
            var code = await new CommandClient("127.0.0.1", _port, token, json: false, output, output).RunAsync(args, _stop.Token);
            return (code, output.ToString());
        }

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync(CancellationToken.None);
            _host.Dispose();
            _stop.Dispose();
        }
    }
}
