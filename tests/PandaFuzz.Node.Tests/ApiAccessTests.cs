using Akka.Configuration;
using FluentAssertions;
using PandaFuzz.Gateway.Access;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>Where the API's tokens come from, how they are checked, and what a bad one stops start-up with.</summary>
public sealed class ApiAccessTests : IDisposable
{
    private const string Good = "a-good-token-0123456789";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "pandafuzz-access-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary><paramref name="text"/> over the shipped master.conf, as the node layers them.</summary>
    private static Config Hocon(string text) => ConfigurationFactory.ParseString(text).WithFallback(
        ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(ShippedConfigurationTests.RepositoryRoot, "hocon", "master.conf"))));

    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Tokens_from_the_environment_replace_the_configured_ones_and_only_they_are_accepted()
    {
        var access = ApiAccess.From(Hocon($"pandafuzz.master.api.tokens = [\"configured-token-000000\"]"), Env((ApiAccess.TokensVariable, $"{Good}, second-token-abcdefgh")), _dir);

        access.Accepts(Good).Should().BeTrue();
        access.Accepts("second-token-abcdefgh").Should().BeTrue();
        access.Accepts("configured-token-000000").Should().BeFalse();
        access.Accepts(Good + "x").Should().BeFalse();
        access.Accepts("").Should().BeFalse();
        access.Generated.Should().BeFalse();
        access.Source.Should().NotContain(Good, "the source is logged, the token never");
        File.Exists(Path.Combine(_dir, ApiAccess.GeneratedTokenFile)).Should().BeFalse();
    }

    [Fact]
    public void A_bad_token_stops_start_up_naming_where_it_came_from_but_not_what_it_is()
    {
        var shortToken = "short-secret";
        var fromEnv = () => ApiAccess.From(Hocon(""), Env((ApiAccess.TokensVariable, $"{Good},{shortToken}")), _dir);
        fromEnv.Should().Throw<ConfigurationException>()
            .Where(e => e.Message.Contains(ApiAccess.TokensVariable) && e.Message.Contains("token 2 of 2") && !e.Message.Contains(shortToken));

        var fromHocon = () => ApiAccess.From(Hocon("pandafuzz.master.api.tokens = [\"has spaces in it 0123\"]"), Env(), _dir);
        fromHocon.Should().Throw<ConfigurationException>().Where(e => e.Message.Contains("pandafuzz.master.api.tokens") && !e.Message.Contains("has spaces"));

        var missingFile = () => ApiAccess.From(Hocon(""), Env((ApiAccess.TokenFileVariable, Path.Combine(_dir, "nope"))), _dir);
        missingFile.Should().Throw<ConfigurationException>().Where(e => e.Message.Contains(ApiAccess.TokenFileVariable));

        var reads = () => ApiAccess.From(Hocon(""), Env((ApiAccess.ReadsRequireTokenVariable, "maybe")), _dir);
        reads.Should().Throw<ConfigurationException>().Where(e => e.Message.Contains(ApiAccess.ReadsRequireTokenVariable) && e.Message.Contains("true or false"));
    }

    [Fact]
    public void A_token_file_adds_its_lines_and_skips_comments()
    {
        Directory.CreateDirectory(_dir);
        var file = Path.Combine(_dir, "tokens");
        File.WriteAllLines(file, ["# the CI robot", Good, "", "  another-token-0000000  "]);

        var access = ApiAccess.From(Hocon("pandafuzz.master.api { token-file = \"" + file + "\", reads-require-token = on }"), Env(), _dir);

        access.Accepts(Good).Should().BeTrue();
        access.Accepts("another-token-0000000").Should().BeTrue();
        access.Accepts("# the CI robot").Should().BeFalse();
        access.ReadsRequireToken.Should().BeTrue();
    }

    [Fact]
    public void With_no_token_configured_the_master_makes_one_readable_by_its_user_only_and_keeps_it()
    {
        var first = ApiAccess.From(Hocon(""), Env(), _dir);
        var path = Path.Combine(_dir, ApiAccess.GeneratedTokenFile);

        first.Generated.Should().BeTrue();
        var token = File.ReadAllText(path).Trim();
        token.Length.Should().BeGreaterThanOrEqualTo(40);
        first.Accepts(token).Should().BeTrue();
        first.ClientToken.Should().Be(token);
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(path).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var again = ApiAccess.From(Hocon(""), Env(), _dir);
        again.Accepts(token).Should().BeTrue("a restart keeps the token scripts already use");

        File.WriteAllText(path, "x");
        var broken = () => ApiAccess.From(Hocon(""), Env(), _dir);
        broken.Should().Throw<ConfigurationException>().Where(e => e.Message.Contains(path));
    }

    [Theory]
    [InlineData("127.0.0.1", false, false, false)]
    [InlineData("localhost", true, false, false)]
    [InlineData("::1", true, false, false)]
    [InlineData("0.0.0.0", false, true, true)]
    [InlineData("0.0.0.0", true, true, false)]
    [InlineData("0.0.0.0", false, false, true)]
    [InlineData("10.1.2.3", true, false, true)]
    public void Listening_beyond_loopback_with_a_generated_token_or_open_reads_is_said_at_start_up(string host, bool configured, bool readsRequireToken, bool warned)
    {
        var tokens = configured ? $"tokens = [\"{Good}\"]," : "";
        var access = ApiAccess.From(Hocon($"pandafuzz.master.api {{ {tokens} reads-require-token = {(readsRequireToken ? "on" : "off")} }}"), Env(), _dir);

        var warning = access.ExposureWarning(host, "PANDAFUZZ_HTTP");

        if (warned)
        {
            warning.Should().Contain(host).And.Contain(ApiAccess.TokensVariable).And.Contain("PANDAFUZZ_HTTP");
        }
        else
        {
            warning.Should().BeNull();
        }
    }

    [Fact]
    public void While_reads_are_open_the_api_answers_only_its_own_and_the_configured_host_names()
    {
        var access = ApiAccess.From(Hocon("pandafuzz.master.api.allowed-hosts = [\"fuzz.example.org\", \"*.corp.example\"]"), Env(), _dir);

        var answered = access.HostsAnswered("0.0.0.0", "fuzz-box")!;

        foreach (var host in new[] { "localhost", "127.0.0.1", "[::1]", "fuzz-box", "FUZZ.example.org", "ci.corp.example" })
        {
            ApiAccess.IsAnswered(host, answered).Should().BeTrue(host);
        }

        foreach (var host in new[] { "evil.example", "0.0.0.0", "corp.example", "xcorp.example", "fuzz.example.org.evil.example" })
        {
            ApiAccess.IsAnswered(host, answered).Should().BeFalse(host);
        }

        ApiAccess.IsAnswered("10.1.2.3", access.HostsAnswered("10.1.2.3", "fuzz-box")!).Should().BeTrue("the address it listens on");
        var fromEnv = ApiAccess.From(Hocon(""), Env((ApiAccess.HostsVariable, "a.example, b.example")), _dir);
        fromEnv.AllowedHosts.Should().Equal("a.example", "b.example");
    }

    [Fact]
    public void With_reads_behind_a_token_any_host_is_answered_and_a_bad_host_name_stops_start_up()
    {
        ApiAccess.From(Hocon("pandafuzz.master.api.reads-require-token = on"), Env(), _dir).HostsAnswered("0.0.0.0", "fuzz-box").Should().BeNull();

        var bad = () => ApiAccess.From(Hocon(""), Env((ApiAccess.HostsVariable, "good.example,bad host")), _dir);
        bad.Should().Throw<ConfigurationException>().Where(e => e.Message.Contains(ApiAccess.HostsVariable) && e.Message.Contains("bad host"));
    }
}
