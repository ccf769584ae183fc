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

/// <summary>Akka events carry the id of the entity or job runner that logged them.</summary>
public sealed class EntityIdEnricherTests
{
    private sealed class Factory : Serilog.Core.ILogEventPropertyFactory
    {
        public LogEventProperty CreateProperty(string name, object? value, bool destructureObjects = false) => new(name, new ScalarValue(value));
    }

    [Theory]
    [InlineData("akka.tcp://pandafuzz@127.0.0.1:4053/system/sharding/job/18/c9b60f6aed86-0", "JobId", "c9b60f6aed86-0")]
    [InlineData("akka.tcp://pandafuzz@127.0.0.1:4053/system/sharding/campaign/33/c9b60f6aed86", "CampaignId", "c9b60f6aed86")]
    [InlineData("akka.tcp://pandafuzz@127.0.0.1:4053/system/sharding/bot/39/bot-13c54759d3", "BotId", "bot-13c54759d3")]
    [InlineData("akka.tcp://pandafuzz@127.0.0.1:4053/user/bot-agent/job-c9b60f6aed86-0/fuzzer", "JobId", "c9b60f6aed86-0")]
    public void The_actor_path_names_the_id(string logSource, string property, string id)
    {
        var e = new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplateParser().Parse("x"),
            [new LogEventProperty("LogSource", new ScalarValue(logSource))]);

        new EntityIdEnricher().Enrich(e, new Factory());

        e.Properties[property].Should().Be(new ScalarValue(id));
    }

    [Fact]
    public void An_id_the_template_named_is_kept()
    {
        var e = new LogEvent(DateTimeOffset.UtcNow, LogEventLevel.Information, null, new MessageTemplateParser().Parse("{JobId}"),
        [
            new LogEventProperty("LogSource", new ScalarValue("akka.tcp://pandafuzz@h:1/system/sharding/job/1/a-0")),
            new LogEventProperty("JobId", new ScalarValue("other-1")),
        ]);

        new EntityIdEnricher().Enrich(e, new Factory());

        e.Properties["JobId"].Should().Be(new ScalarValue("other-1"));
    }
}
