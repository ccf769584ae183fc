using FluentAssertions;
using Xunit;

namespace PandaFuzz.Node.Tests;

public sealed class NodeSettingsTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "pandafuzz-node-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    /// <summary>An environment holding only the given variables, plus a temporary data dir unless one is given.</summary>
    private Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var values = variables.ToDictionary(v => v.Name, v => v.Value);
        values.TryAdd(NodeSettings.DataDirVariable, _dataDir);
        return name => values.GetValueOrDefault(name);
    }

    [Fact]
    public void Defaults_run_master_and_bot_on_localhost_founding_the_cluster()
    {
        var settings = NodeSettings.FromEnvironment(Env());

        settings.Roles.Should().BeEquivalentTo(["master", "bot"]);
        settings.IsMaster.Should().BeTrue();
        settings.IsBot.Should().BeTrue();
        settings.Http.Should().Be(new HostPort("127.0.0.1", 8080));
        settings.Remote.Should().Be(new HostPort("127.0.0.1", 4053));
        settings.Seeds.Should().BeEmpty();
        settings.DataDir.Should().Be(Path.GetFullPath(_dataDir));
        Directory.Exists(_dataDir).Should().BeTrue("the data dir is created at start-up");
    }

    [Fact]
    public void Empty_variables_count_as_unset()
    {
        var settings = NodeSettings.FromEnvironment(Env(
            (NodeSettings.RolesVariable, ""), (NodeSettings.HttpVariable, ""), (NodeSettings.RemoteVariable, ""), (NodeSettings.SeedsVariable, "")));

        settings.Roles.Should().BeEquivalentTo(["master", "bot"]);
        settings.Http.Should().Be(new HostPort("127.0.0.1", 8080));
        settings.Seeds.Should().BeEmpty();
    }

    [Fact]
    public void Every_setting_is_read_from_its_variable()
    {
        var settings = NodeSettings.FromEnvironment(Env(
            (NodeSettings.RolesVariable, " Bot "),
            (NodeSettings.HttpVariable, "0.0.0.0:9090"),
            (NodeSettings.RemoteVariable, "fuzz-box-1.example.org:4054"),
            (NodeSettings.SeedsVariable, "10.0.0.1:4053, [::1]:4053")));

        settings.Roles.Should().BeEquivalentTo(["bot"]);
        settings.IsMaster.Should().BeFalse();
        settings.Http.Should().Be(new HostPort("0.0.0.0", 9090));
        settings.Remote.Should().Be(new HostPort("fuzz-box-1.example.org", 4054));
        settings.Seeds.Should().Equal(new HostPort("10.0.0.1", 4053), new HostPort("::1", 4053));
    }

    [Theory]
    [InlineData(NodeSettings.RolesVariable, "chef")]
    [InlineData(NodeSettings.RolesVariable, "master,chef")]
    [InlineData(NodeSettings.RolesVariable, " , ")]
    [InlineData(NodeSettings.HttpVariable, "nonsense")]
    [InlineData(NodeSettings.HttpVariable, "127.0.0.1:")]
    [InlineData(NodeSettings.HttpVariable, ":8080")]
    [InlineData(NodeSettings.HttpVariable, "bad host:8080")]
    [InlineData(NodeSettings.RemoteVariable, "127.0.0.1:70000")]
    [InlineData(NodeSettings.RemoteVariable, "127.0.0.1:-1")]
    [InlineData(NodeSettings.SeedsVariable, "a:b")]
    [InlineData(NodeSettings.SeedsVariable, "10.0.0.1:4053,10.0.0.2")]
    [InlineData(NodeSettings.SeedsVariable, "10.0.0.1:0")]
    public void A_bad_value_names_its_variable(string variable, string value)
    {
        var act = () => NodeSettings.FromEnvironment(Env((variable, value)));

        var error = act.Should().Throw<NodeConfigurationException>().Which;
        error.Setting.Should().Be(variable);
        error.Message.Should().StartWith($"{variable}=").And.Contain(value.Trim());
    }

    [Fact]
    public void A_bot_only_node_without_seeds_names_the_seeds_variable()
    {
        var act = () => NodeSettings.FromEnvironment(Env((NodeSettings.RolesVariable, "bot")));

        var error = act.Should().Throw<NodeConfigurationException>().Which;
        error.Setting.Should().Be(NodeSettings.SeedsVariable);
        error.Message.Should().Contain(NodeSettings.SeedsVariable).And.Contain("master");
    }

    [Fact]
    public void A_bot_only_node_with_a_seed_is_valid()
    {
        var settings = NodeSettings.FromEnvironment(Env((NodeSettings.RolesVariable, "bot"), (NodeSettings.SeedsVariable, "10.0.0.1:4053")));

        settings.IsBot.Should().BeTrue();
        settings.IsMaster.Should().BeFalse();
        settings.Seeds.Should().Equal(new HostPort("10.0.0.1", 4053));
    }

    [Fact]
    public void A_data_dir_that_cannot_be_created_names_its_variable()
    {
        Directory.CreateDirectory(_dataDir);
        var file = Path.Combine(_dataDir, "not-a-dir");
        File.WriteAllText(file, "x");
        var unusable = Path.Combine(file, "data");

        var act = () => NodeSettings.FromEnvironment(Env((NodeSettings.DataDirVariable, unusable)));

        var error = act.Should().Throw<NodeConfigurationException>().Which;
        error.Setting.Should().Be(NodeSettings.DataDirVariable);
        error.Message.Should().Contain(NodeSettings.DataDirVariable).And.Contain(unusable);
    }

    [Theory]
    [InlineData("127.0.0.1:8080", "127.0.0.1", 8080)]
    [InlineData("localhost:0", "localhost", 0)]
    [InlineData("[::1]:4053", "::1", 4053)]
    [InlineData("fuzz-box-1:65535", "fuzz-box-1", 65535)]
    public void HostPort_parses_host_and_port(string text, string host, int port)
    {
        HostPort.TryParse(text, out var value).Should().BeTrue();
        value.Should().Be(new HostPort(host, port));
    }

    [Fact]
    public void HostPort_prints_as_host_colon_port()
    {
        new HostPort("10.0.0.1", 4053).ToString().Should().Be("10.0.0.1:4053");
    }

    [Fact]
    public void An_IPv6_endpoint_prints_with_brackets_so_it_can_go_into_an_address()
    {
        // The node builds "http://{Http}" for Kestrel and "akka.tcp://pandafuzz@{Remote}" for the seeds from ToString.
        HostPort.TryParse("[::1]:4053", out var remote).Should().BeTrue();

        remote.ToString().Should().Be("[::1]:4053");
        Uri.TryCreate($"akka.tcp://pandafuzz@{remote}", UriKind.Absolute, out _).Should().BeTrue();
    }
}
