using FluentAssertions;
using PandaFuzz.Node.Observability;
using Serilog.Events;
using Serilog.Parsing;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>Per-namespace minimum levels: the longest matching prefix wins, and a change applies to the next event.</summary>
public sealed class LogLevelsTests
{
    private static LogEvent Event(LogEventLevel level, string? sourceContext = null, string? logSource = null)
    {
        var properties = new List<LogEventProperty>();
        if (sourceContext is not null)
        {
            properties.Add(new LogEventProperty("SourceContext", new ScalarValue(sourceContext)));
        }

        if (logSource is not null)
        {
            properties.Add(new LogEventProperty("LogSource", new ScalarValue(logSource)));
        }

        return new LogEvent(DateTimeOffset.UtcNow, level, null, new MessageTemplateParser().Parse("x"), properties);
    }

    [Fact]
    public void The_longest_matching_namespace_decides()
    {
        var levels = new LogLevels(LogEventLevel.Information, new Dictionary<string, LogEventLevel>
        {
            ["Microsoft"] = LogEventLevel.Warning,
            ["Microsoft.Hosting.Lifetime"] = LogEventLevel.Information,
        });

        levels.IsEnabled(Event(LogEventLevel.Information, "Microsoft.AspNetCore.Routing")).Should().BeFalse();
        levels.IsEnabled(Event(LogEventLevel.Information, "Microsoft.Hosting.Lifetime")).Should().BeTrue();
        levels.IsEnabled(Event(LogEventLevel.Information, "MicrosoftLike.Thing")).Should().BeTrue("a prefix matches whole namespace parts only");
        levels.IsEnabled(Event(LogEventLevel.Debug, "PandaFuzz.Bot.Agent.BotAgentActor")).Should().BeFalse();
        levels.Minimum.MinimumLevel.Should().Be(LogEventLevel.Information);
    }

    [Fact]
    public void A_change_at_run_time_applies_to_the_next_event_and_lowers_the_minimum()
    {
        var levels = new LogLevels(LogEventLevel.Information, new Dictionary<string, LogEventLevel>());
        LogEventLevel? announced = null;
        levels.Changed += minimum => announced = minimum;
        levels.IsEnabled(Event(LogEventLevel.Debug, "PandaFuzz.Bot.Agent.BotAgentActor")).Should().BeFalse();

        levels.Set(null, new Dictionary<string, LogEventLevel?> { ["PandaFuzz.Bot"] = LogEventLevel.Debug });

        levels.IsEnabled(Event(LogEventLevel.Debug, "PandaFuzz.Bot.Agent.BotAgentActor")).Should().BeTrue();
        levels.IsEnabled(Event(LogEventLevel.Debug, "PandaFuzz.Master.Jobs.JobEntity")).Should().BeFalse();
        levels.Minimum.MinimumLevel.Should().Be(LogEventLevel.Debug);
        announced.Should().Be(LogEventLevel.Debug);

        levels.Set(LogEventLevel.Warning, new Dictionary<string, LogEventLevel?> { ["PandaFuzz.Bot"] = null });

        levels.IsEnabled(Event(LogEventLevel.Information, "PandaFuzz.Bot.Agent.BotAgentActor")).Should().BeFalse();
        levels.Minimum.MinimumLevel.Should().Be(LogEventLevel.Warning);
    }

    [Fact]
    public void Akka_events_without_a_source_context_go_by_their_log_source()
    {
        var levels = new LogLevels(LogEventLevel.Warning, new Dictionary<string, LogEventLevel> { ["Cluster"] = LogEventLevel.Information });

        levels.IsEnabled(Event(LogEventLevel.Information, logSource: "Cluster (akka://pandafuzz)")).Should().BeTrue();
        levels.IsEnabled(Event(LogEventLevel.Information, logSource: "remoting (akka://pandafuzz)")).Should().BeFalse();
    }
}
