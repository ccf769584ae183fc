using System.Text.RegularExpressions;
using FluentAssertions;
using PandaFuzz.Master.Configuration;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace PandaFuzz.Node.Tests;

/// <summary>
/// Every shipped way to run a node validates through <see cref="NodeStartupSettings.Load(IReadOnlyDictionary{string, string})"/>,
/// the start-up path: each role combination of the hocon files, PostgreSQL storage, and each service of docker-compose.yml
/// with the Dockerfile's ENV under its <c>environment:</c> block.
/// </summary>
public sealed partial class ShippedEnvironmentsTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "pandafuzz-environments-" + Guid.NewGuid().ToString("N"));

    public ShippedEnvironmentsTests() => Directory.CreateDirectory(_temp);

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static string Root => ShippedConfigurationTests.RepositoryRoot;

    [Theory]
    [InlineData("master", null)]
    [InlineData("bot", null)]
    [InlineData("master,bot", null)]
    [InlineData("master", "Host=db;Port=5432;Database=pandafuzz;Username=pandafuzz;Password=pw")]
    [InlineData("master,bot", "Host=db;Database=pandafuzz;Username=pandafuzz")]
    public void Each_combination_of_the_shipped_hocon_files_validates(string roles, string? postgres)
    {
        var env = new Dictionary<string, string>
        {
            [NodeConfiguration.HoconDirVariable] = Path.Combine(Root, "hocon"),
            [NodeSettings.RolesVariable] = roles,
            [NodeSettings.DataDirVariable] = Path.Combine(_temp, "data"),
        };
        if (!roles.Contains("master"))
        {
            env[NodeSettings.SeedsVariable] = "127.0.0.1:4053";
        }

        if (postgres is not null)
        {
            env[NodeConfiguration.PostgreSqlVariable] = postgres;
        }

        var settings = NodeStartupSettings.Load(env);

        settings.Master.Should().Match<MasterSettings?>(m => (m != null) == roles.Contains("master"));
        settings.Bot.Should().Match<object?>(b => (b != null) == roles.Contains("bot"));
        settings.RemoteTls.Should().BeNull("the shipped files leave TLS off");
        if (postgres is not null)
        {
            settings.Master!.Storage.Should().Be(new StorageSettings(StorageProvider.PostgreSql, postgres));
        }
    }

    [Fact]
    public void Each_docker_compose_service_that_runs_a_node_validates_with_its_environment()
    {
        var services = ComposeServices(Path.Combine(Root, "docker-compose.yml"));
        var image = DockerfileEnvironment(Path.Combine(Root, "Dockerfile"));

        var nodes = services.Where(s => s.Builds || s.Environment.Keys.Any(k => k.StartsWith("PANDAFUZZ", StringComparison.Ordinal))).ToList();

        nodes.Should().NotBeEmpty("docker-compose.yml runs PandaFuzz nodes");
        nodes.Should().Contain(s => s.Environment.GetValueOrDefault(NodeSettings.RolesVariable, "master,bot").Contains("master"), "some service runs a master");
        foreach (var service in nodes)
        {
            var env = new Dictionary<string, string>(image, StringComparer.Ordinal);
            foreach (var (name, value) in service.Environment)
            {
                env[name] = value;
            }

            // The container's paths become the test's: its volumes mapped onto the repository, its data dir a temp dir.
            env[NodeConfiguration.HoconDirVariable] = Path.Combine(Root, "hocon");
            env[NodeSettings.DataDirVariable] = Path.Combine(_temp, service.Name, "data");
            if (env.ContainsKey(NodeSettings.BlobDirVariable))
            {
                env[NodeSettings.BlobDirVariable] = Path.Combine(_temp, service.Name, "blobs");
            }

            foreach (var variable in new[] { NodeConfiguration.OperatorFileVariable, "PANDAFUZZ_REMOTE_TLS_CERT", "PANDAFUZZ_REMOTE_TLS_PASSWORD_FILE" })
            {
                if (env.TryGetValue(variable, out var containerPath))
                {
                    env[variable] = service.HostPath(containerPath, Root);
                }
            }

            var act = () => NodeStartupSettings.Load(env);

            act.Should().NotThrow($"service {service.Name} of docker-compose.yml must start");
        }
    }

    [Fact]
    public void Each_docker_compose_bot_may_isolate_its_targets_without_opting_out()
    {
        var bots = ComposeServices(Path.Combine(Root, "docker-compose.yml"))
            .Where(s => s.Environment.TryGetValue(NodeSettings.RolesVariable, out var roles) ? roles.Contains("bot") : s.Builds)
            .ToList();

        bots.Should().NotBeEmpty();
        foreach (var bot in bots)
        {
            // bwrap in the container: namespaces (seccomp), mounts in them (AppArmor), a fresh /proc (no masked paths).
            bot.SecurityOptions.Should().Contain(["seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"], $"service {bot.Name} runs targets in bwrap");
            bot.Environment.Keys.Should().NotContain(k => k.Contains("allow-unisolated", StringComparison.Ordinal), $"service {bot.Name} must isolate, not opt out");
        }
    }

    [Fact]
    public void The_compose_reader_takes_maps_lists_and_defaults_of_interpolations()
    {
        var file = Path.Combine(_temp, "compose.yml");
        File.WriteAllText(file, """
            services:
              a:
                build: .
                environment:
                  PANDAFUZZ_ROLES: master
                  PANDAFUZZ_HTTP: "0.0.0.0:${HTTP_PORT:-8080}"
              b:
                image: x
                environment:
                  - PANDAFUZZ_ROLES=bot
                  - PANDAFUZZ_SEEDS=a:4053
                volumes:
                  - ./ops/conf:/etc/pandafuzz:ro
            """);

        var services = ComposeServices(file);

        services.Select(s => s.Name).Should().Equal("a", "b");
        services[0].Builds.Should().BeTrue();
        services[0].Environment.Should().Contain("PANDAFUZZ_HTTP", "0.0.0.0:8080");
        services[1].Environment.Should().Contain("PANDAFUZZ_SEEDS", "a:4053");
        services[1].HostPath("/etc/pandafuzz/extra.conf", "/repo").Should().Be(Path.Combine("/repo", "ops/conf", "extra.conf"));
    }

    /// <summary>A compose service: its name, whether it builds this repository's image, its environment and volumes.</summary>
    public sealed record ComposeService(string Name, bool Builds, IReadOnlyDictionary<string, string> Environment, IReadOnlyList<string> Volumes)
    {
        /// <summary>Its <c>security_opt:</c> entries.</summary>
        public IReadOnlyList<string> SecurityOptions { get; init; } = [];

        /// <summary>A path inside the container as a path in the repository, through a bind mount of it; unchanged otherwise.</summary>
        public string HostPath(string containerPath, string root)
        {
            foreach (var volume in Volumes)
            {
                var parts = volume.Split(':');
                if (parts.Length >= 2 && (parts[0].StartsWith('.') || parts[0].StartsWith('/')) && containerPath.StartsWith(parts[1], StringComparison.Ordinal))
                {
                    return Path.Combine(root, parts[0].TrimStart('.', '/'), containerPath[parts[1].Length..].TrimStart('/'));
                }
            }

            return containerPath;
        }
    }

    /// <summary>The services of a compose file, whatever they are; <c>environment:</c> as a map or a list of NAME=value.</summary>
    public static IReadOnlyList<ComposeService> ComposeServices(string path)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var services = new List<ComposeService>();
        if (!root.Children.TryGetValue(new YamlScalarNode("services"), out var servicesNode) || servicesNode is not YamlMappingNode serviceMap)
        {
            return services;
        }

        foreach (var (nameNode, body) in serviceMap.Children)
        {
            var service = (YamlMappingNode)body;
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            if (service.Children.TryGetValue(new YamlScalarNode("environment"), out var environment))
            {
                switch (environment)
                {
                    case YamlMappingNode map:
                        foreach (var (key, value) in map.Children)
                        {
                            env[((YamlScalarNode)key).Value!] = Interpolate(((YamlScalarNode)value).Value ?? "");
                        }

                        break;
                    case YamlSequenceNode list:
                        foreach (var item in list.Children.Cast<YamlScalarNode>())
                        {
                            var text = item.Value ?? "";
                            var equals = text.IndexOf('=');
                            env[equals < 0 ? text : text[..equals]] = equals < 0 ? "" : Interpolate(text[(equals + 1)..]);
                        }

                        break;
                }
            }

            var volumes = service.Children.TryGetValue(new YamlScalarNode("volumes"), out var v) && v is YamlSequenceNode vs
                ? vs.Children.OfType<YamlScalarNode>().Select(n => n.Value ?? "").ToList()
                : [];
            var securityOptions = service.Children.TryGetValue(new YamlScalarNode("security_opt"), out var so) && so is YamlSequenceNode sos
                ? sos.Children.OfType<YamlScalarNode>().Select(n => n.Value ?? "").ToList()
                : [];
            services.Add(new ComposeService(((YamlScalarNode)nameNode).Value!, service.Children.ContainsKey(new YamlScalarNode("build")), env, volumes)
            {
                SecurityOptions = securityOptions,
            });
        }

        return services;
    }

    /// <summary>The Dockerfile's ENV variables (the last stage's win), which every container starts with.</summary>
    public static Dictionary<string, string> DockerfileEnvironment(string path)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var text = File.ReadAllText(path).Replace("\\\n", " ");
        foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("ENV ", StringComparison.Ordinal)))
        {
            foreach (Match pair in EnvPair().Matches(line[4..]))
            {
                env[pair.Groups["name"].Value] = pair.Groups["value"].Value.Trim('"');
            }
        }

        return env;
    }

    // ${NAME:-default} and ${NAME-default} take their default (the test sets no variables); ${NAME} is empty.
    private static string Interpolate(string value) =>
        Interpolation().Replace(value, m => m.Groups["default"].Success ? m.Groups["default"].Value : "");

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?<default>[^}]*))?\}")]
    private static partial Regex Interpolation();

    [GeneratedRegex(@"(?<name>[A-Za-z_][A-Za-z0-9_]*)=(?<value>""[^""]*""|\S*)")]
    private static partial Regex EnvPair();
}
