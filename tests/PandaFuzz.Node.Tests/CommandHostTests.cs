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
        var log = new RecentLog();
        log.Emit(new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Warning, null, new MessageTemplateParser().Parse("bot lost: bot-7"), []));
        var settings = new CommandHostSettings(true, System.Net.IPAddress.Loopback, 0, "s3cret");
        using var host = new CommandHostService(settings, new CommandPalettes([new LogPalette(log)]));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StartAsync(stop.Token);
        var endpoint = (await host.Listening.WaitAsync(stop.Token))!;

        async Task<(int Code, string Output)> Run(string? token, params string[] args)
        {
            var output = new StringWriter();
            var code = await new CommandClient("127.0.0.1", endpoint.Port, token, json: false, output, output).RunAsync(args, stop.Token);
            return (code, output.ToString());
        }

        // Act and assert
        var refused = await Run("wrong", "log", "peek");
        refused.Code.Should().Be(3);
        refused.Output.Should().Contain("wants a token").And.NotContain("bot lost");

        var peek = await Run("s3cret", "log", "peek", "-n", "5");
        peek.Code.Should().Be(0);
        peek.Output.Should().Contain("WRN bot lost: bot-7");

        var bad = await Run("s3cret", "log", "explode");
        bad.Code.Should().Be(1);
        bad.Output.Should().Contain("Usage:").And.Contain("peek").And.NotContain("   at ");

        await host.StopAsync(CancellationToken.None);
    }
}
