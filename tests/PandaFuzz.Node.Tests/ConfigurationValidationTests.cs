using Akka.Configuration;
using FluentAssertions;
using PandaFuzz.Master.Configuration;
using Serilog.Events;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>
/// Start-up validation through <see cref="NodeStartupSettings.Load(IReadOnlyDictionary{string, string})"/>, the path the node
/// takes: each bad or missing value stops it with one message naming the key (or variable) and the expected form; the
/// operator's file and the environment override the shipped files in a fixed order. Every test passes its own environment,
/// so none reads or changes the process's.
/// </summary>
public sealed class ConfigurationValidationTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "pandafuzz-config-" + Guid.NewGuid().ToString("N"));

    public ConfigurationValidationTests() => Directory.CreateDirectory(_temp);

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static string ShippedHoconDir => Path.Combine(ShippedConfigurationTests.RepositoryRoot, "hocon");

    private Dictionary<string, string> Env(string roles = "master,bot", params (string Name, string Value)[] more)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [NodeConfiguration.HoconDirVariable] = ShippedHoconDir,
            [NodeSettings.RolesVariable] = roles,
            [NodeSettings.DataDirVariable] = Path.Combine(_temp, "data"),
        };
        if (!roles.Contains("master"))
        {
            env[NodeSettings.SeedsVariable] = "127.0.0.1:4053";
        }

        foreach (var (name, value) in more)
        {
            env[name] = value;
        }

        return env;
    }

    private string OperatorFile(string hocon)
    {
        var path = Path.Combine(_temp, "operator.conf");
        File.WriteAllText(path, hocon);
        return path;
    }

    // One representative bad value per settings record (and per kind of value), set through the generic override.
    [Theory]
    [InlineData("PANDAFUZZ__PANDAFUZZ__MASTER__JOB_START_TIMEOUT", "0s", "pandafuzz.master.job-start-timeout='0s' is invalid: expected a positive duration such as 5s*")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__MASTER__MAX_TARGET_SIZE", "lots", "pandafuzz.master.max-target-size='lots' is invalid: expected a size of at least 1 bytes, such as 64KiB*")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__MASTER__JOB_MAX_ATTEMPTS", "5.5", "pandafuzz.master.job-max-attempts='5.5' is invalid: expected a whole number from 1 to 1000")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__MASTER__WEBHOOKS__URLS", "[\"ftp://example.org/x\"]", "pandafuzz.master.webhooks.urls='ftp://example.org/x' is invalid: expected a list of absolute http or https URLs*")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__MASTER__READ_MODEL__MIGRATE_ON_START", "maybe", "pandafuzz.master.read-model.migrate-on-start='maybe' is invalid: expected on or off")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__MASTER__STORAGE__PROVIDER", "mysql", "pandafuzz.master.storage.provider='mysql' is invalid: expected sqlite or postgresql")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__MASTER__SCHEDULER__CAMPAIGN_WEIGHTS__3f2a9c1b0d4e", "0", "pandafuzz.master.scheduler.campaign-weights.3f2a9c1b0d4e='0' is invalid: expected a whole number from 1 to 1000")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__MASTER__SCHEDULER__CAMPAIGN_WEIGHTS__nightly", "2", "pandafuzz.master.scheduler.campaign-weights.nightly='2' is invalid: expected a campaign id*")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__BOT__STATS_INTERVAL", "soon", "pandafuzz.bot.stats-interval='soon' is invalid: expected a positive duration such as 5s*")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__BOT__OUTBOX__MAX_IN_FLIGHT", "0", "pandafuzz.bot.outbox.max-in-flight='0' is invalid: expected a whole number from 1 to 10000")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__BOT__CORPUS_SYNC__MAX_BYTES_PER_ROUND", "big", "pandafuzz.bot.corpus-sync.max-bytes-per-round='big' is invalid: expected a size*")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__OBSERVABILITY__METRICS_CACHE", "-1s", "pandafuzz.observability.metrics-cache='-1s' is invalid: expected a positive duration*")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__LOGGING__FORMAT", "xml", "pandafuzz.logging.format='xml' is invalid: expected text or json")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__LOGGING__LEVELS__Akka", "loud", "pandafuzz.logging.levels.\"Akka\"=*loud* is invalid: expected one of verbose, debug, information*")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__CLUSTER__DOWNING__STABLE_AFTER", "never", "pandafuzz.cluster.downing.stable-after='never' is invalid: expected a positive duration*")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__COMMAND_HOST__ENDPOINT", "nowhere", "pandafuzz.command-host.endpoint='nowhere' is invalid: expected an IP address and port such as 127.0.0.1:9110, or off")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__CONFIG_RELOAD__POLL_INTERVAL", "0s", "pandafuzz.config-reload.poll-interval='0s' is invalid: expected a positive duration*")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__REMOTE__TLS__CERTIFICATE_PATH", "/no/such/cluster.pfx", "pandafuzz.remote.tls.certificate-path='/no/such/cluster.pfx' is invalid: expected a PKCS#12*(no such file)")]
    [InlineData("PANDAFUZZ__PANDAFUZZ__BOT__STATS_INTERVALL", "5s", "PANDAFUZZ__PANDAFUZZ__BOT__STATS_INTERVALL='5s' is invalid: expected a variable naming a setting the hocon files have; pandafuzz.bot.stats-intervall is none (a typo?)")]
    [InlineData(NodeSettings.RolesVariable, "chef", "PANDAFUZZ_ROLES='chef' is invalid: expected a comma-separated list of the roles master and bot")]
    [InlineData(NodeSettings.HttpVariable, "8080", "PANDAFUZZ_HTTP='8080' is invalid: expected host:port, such as 127.0.0.1:8080")]
    [InlineData(NodeSettings.RemoteVariable, "127.0.0.1:99999", "PANDAFUZZ_REMOTE='127.0.0.1:99999' is invalid: expected host:port*")]
    [InlineData("PANDAFUZZ_METRICS", "everywhere", "PANDAFUZZ_METRICS='everywhere' is invalid: expected host:port for a bot-only node's /metrics*")]
    [InlineData("PANDAFUZZ_LOG_FORMAT", "xml", "PANDAFUZZ_LOG_FORMAT='xml' is invalid: expected text or json")]
    [InlineData("PANDAFUZZ_CMD", "0.0.0.0:9110", "PANDAFUZZ_CMD binds 0.0.0.0:9110, beyond loopback, without a token*")]
    [InlineData(NodeConfiguration.OperatorFileVariable, "/no/such/operator.conf", "PANDAFUZZ_CONFIG='/no/such/operator.conf' is invalid: expected the path of a readable HOCON file*")]
    public void A_bad_value_stops_start_up_with_one_message_naming_its_key_and_the_expected_form(string variable, string value, string message)
    {
        var act = () => NodeStartupSettings.Load(Env("master,bot", (variable, value)));

        act.Should().Throw<Exception>().Where(e => e is ConfigurationException || e is NodeConfigurationException)
            .WithMessage(message);
    }

    [Fact]
    public void A_missing_value_names_its_key_and_the_expected_form()
    {
        var hocon = Path.Combine(_temp, "hocon");
        Directory.CreateDirectory(hocon);
        foreach (var file in Directory.GetFiles(ShippedHoconDir, "*.conf"))
        {
            File.Copy(file, Path.Combine(hocon, Path.GetFileName(file)));
        }

        var bot = Path.Combine(hocon, "bot.conf");
        File.WriteAllText(bot, File.ReadAllText(bot).Replace("  stats-interval = 2s\n", ""));

        var act = () => NodeStartupSettings.Load(Env("bot", (NodeConfiguration.HoconDirVariable, hocon)));

        act.Should().Throw<ConfigurationException>()
            .WithMessage("pandafuzz.bot.stats-interval is missing: expected a positive duration such as 5s, 500ms or 2m");
    }

    // Akka's parser never returns on the first and silently accepts the second: the brackets are checked before it runs.
    [Theory]
    [InlineData("pandafuzz.bot {\n  slots = [4\n}", "'}' on line 3 does not close the '[' opened on line 2")]
    [InlineData("pandafuzz.bot {{ slots = 4 }", "the '{' opened on line 1 is not closed")]
    [InlineData("pandafuzz.master.webhooks.urls = [\"http://x/]\"", "the '[' opened on line 1 is not closed")]
    public void An_operator_file_that_is_not_hocon_names_the_file_its_variable_and_the_line(string text, string problem)
    {
        var path = OperatorFile(text);

        var act = () => NodeStartupSettings.Load(Env("bot", (NodeConfiguration.OperatorFileVariable, path)));

        act.Should().Throw<ConfigurationException>().WithMessage($"configuration file {path} (PANDAFUZZ_CONFIG) is not valid HOCON: {problem}");
    }

    [Fact]
    public void Brackets_inside_strings_and_comments_do_not_count()
    {
        NodeConfiguration.UnbalancedBracket("""
            # a comment with a { brace
            a = "value ] with [ brackets" // and } here
            b = [1, 2] { c = "\"{" }
            """).Should().BeNull();
    }

    [Fact]
    public void The_operator_file_overrides_the_shipped_files_and_the_environment_overrides_both()
    {
        var path = OperatorFile("""
            pandafuzz.bot { slots = 3, stats-interval = 4s, check-in-interval = 6s }
            pandafuzz.master.webhooks.urls = ["http://127.0.0.1:9001/file"]
            """);

        var fileOnly = NodeStartupSettings.Load(Env("master,bot", (NodeConfiguration.OperatorFileVariable, path)));
        var overridden = NodeStartupSettings.Load(Env(
            "master,bot",
            (NodeConfiguration.OperatorFileVariable, path),
            ("PANDAFUZZ__PANDAFUZZ__BOT__SLOTS", "4"),
            ("PANDAFUZZ__pandafuzz__bot__stats-interval", "7s"),
            ("PANDAFUZZ__PANDAFUZZ__MASTER__WEBHOOKS__URLS", "[\"http://127.0.0.1:9002/generic\"]")));
        var specific = NodeStartupSettings.Load(Env(
            "master,bot",
            (NodeConfiguration.OperatorFileVariable, path),
            ("PANDAFUZZ__PANDAFUZZ__MASTER__WEBHOOKS__URLS", "[\"http://127.0.0.1:9002/generic\"]"),
            (NodeConfiguration.WebhooksVariable, "http://127.0.0.1:9003/specific")));

        fileOnly.Bot!.Slots.Should().Be(3);
        fileOnly.Bot.StatsInterval.Should().Be(TimeSpan.FromSeconds(4));
        fileOnly.Bot.RetryInterval.Should().Be(TimeSpan.FromSeconds(3), "keys the operator's file leaves out keep the shipped value");
        fileOnly.Master!.Webhooks.Urls.Should().Equal(new Uri("http://127.0.0.1:9001/file"));
        overridden.Bot!.Slots.Should().Be(4);
        overridden.Bot.StatsInterval.Should().Be(TimeSpan.FromSeconds(7));
        overridden.Bot.CheckInInterval.Should().Be(TimeSpan.FromSeconds(6));
        overridden.Master!.Webhooks.Urls.Should().Equal(new Uri("http://127.0.0.1:9002/generic"));
        specific.Master!.Webhooks.Urls.Should().Equal([new Uri("http://127.0.0.1:9003/specific")], "PANDAFUZZ_WEBHOOKS keeps taking precedence");
    }

    [Fact]
    public void Generic_overrides_reach_akka_keys_open_maps_and_string_values_that_look_like_comments()
    {
        var settings = NodeStartupSettings.Load(Env(
            "master",
            ("PANDAFUZZ__AKKA__LOGLEVEL", "DEBUG"),
            ("PANDAFUZZ__AKKA__REMOTE__DOT_NETTY__TCP__MAXIMUM_FRAME_SIZE", "256000b"),
            ("PANDAFUZZ__PANDAFUZZ__LOGGING__LEVELS__Akka", "debug"),
            ("PANDAFUZZ__PANDAFUZZ__MASTER__SCHEDULER__CAMPAIGN_WEIGHTS__3f2a9c1b0d4e", "3"),
            ("PANDAFUZZ__PANDAFUZZ__MASTER__STORAGE__POSTGRESQL__CONNECTION_STRING", "Host=db;Database=pf // not a comment")));

        settings.Config.GetString("akka.loglevel").Should().Be("DEBUG");
        settings.Config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size").Should().Be(256000);
        settings.Observability.Logging.Levels.Should().Contain("Akka", LogEventLevel.Debug);
        settings.Master!.Scheduler.CampaignWeights.Should().Contain("3f2a9c1b0d4e", 3);
        settings.Config.GetString("pandafuzz.master.storage.postgresql.connection-string").Should().Be("Host=db;Database=pf // not a comment");
    }

    [Fact]
    public void Chain_validation_needs_peer_names_or_a_ca_and_then_refuses_certificates_of_other_names_or_cas()
    {
        using var ca = TestCertificates.CertificateAuthority();
        using var otherCa = TestCertificates.CertificateAuthority("CN=another-ca");
        using var node = TestCertificates.IssuedBy(ca, "CN=bot-7", "bot-7.fuzz.example");
        var path = TestCertificates.WritePkcs12(node, Path.Combine(_temp, "node.pfx"), "pw");
        var caFile = Path.Combine(_temp, "ca.pem");
        File.WriteAllText(caFile, ca.ExportCertificatePem());
        (string, string) Chain = ("PANDAFUZZ__PANDAFUZZ__REMOTE__TLS__PEER_VALIDATION", "chain");

        // Any certificate a trusted CA signed for anyone is not enough.
        var anyone = () => NodeStartupSettings.Load(Env("bot", ("PANDAFUZZ_REMOTE_TLS_CERT", path), ("PANDAFUZZ_REMOTE_TLS_PASSWORD", "pw"), Chain));
        anyone.Should().Throw<Exception>().Where(e => e.Message.Contains("pandafuzz.remote.tls.peer-names") && e.Message.Contains("pandafuzz.remote.tls.ca-certificate"));

        // Pinned CA and names: a certificate from the CA with an accepted name passes; another name or another CA does not.
        var settings = NodeStartupSettings.Load(Env("bot", ("PANDAFUZZ_REMOTE_TLS_CERT", path), ("PANDAFUZZ_REMOTE_TLS_PASSWORD", "pw"), Chain,
            ("PANDAFUZZ__PANDAFUZZ__REMOTE__TLS__CA_CERTIFICATE", caFile), ("PANDAFUZZ__PANDAFUZZ__REMOTE__TLS__PEER_NAMES", "[\"*.fuzz.example\", \"master\"]"))).RemoteTls!;
        using var master = TestCertificates.IssuedBy(ca, "CN=master");
        using var intruder = TestCertificates.IssuedBy(ca, "CN=intruder", "intruder.evil.example");
        using var foreign = TestCertificates.IssuedBy(otherCa, "CN=master");
        using var selfSigned = TestCertificates.SelfSigned("CN=master");

        settings.CaCertificate!.Thumbprint.Should().Be(ca.Thumbprint);
        settings.AcceptsPeer(node, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors).Should().BeTrue("it chains to the pinned CA (not trusted by this machine) and has a SAN under *.fuzz.example");
        settings.AcceptsPeer(master, System.Net.Security.SslPolicyErrors.None).Should().BeTrue("its CN is a peer name");
        settings.AcceptsPeer(intruder, System.Net.Security.SslPolicyErrors.None).Should().BeFalse("the CA signed it, but for another name");
        settings.AcceptsPeer(foreign, System.Net.Security.SslPolicyErrors.None).Should().BeFalse("another CA signed it");
        settings.AcceptsPeer(selfSigned, System.Net.Security.SslPolicyErrors.None).Should().BeFalse();

        // Names alone: the machine's trust decides the chain (its errors), the names the rest.
        var byName = settings with { CaCertificate = null };
        byName.AcceptsPeer(master, System.Net.Security.SslPolicyErrors.None).Should().BeTrue();
        byName.AcceptsPeer(master, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors).Should().BeFalse();
        byName.AcceptsPeer(intruder, System.Net.Security.SslPolicyErrors.None).Should().BeFalse();
    }

    [Fact]
    public void Remote_tls_loads_a_pkcs12_file_and_pins_its_certificate()
    {
        using var certificate = TestCertificates.SelfSigned();
        var path = TestCertificates.WritePkcs12(certificate, Path.Combine(_temp, "cluster.pfx"), "s3cret-pw");
        var passwordFile = Path.Combine(_temp, "password");
        File.WriteAllText(passwordFile, "s3cret-pw\n");

        var settings = NodeStartupSettings.Load(Env("bot", ("PANDAFUZZ_REMOTE_TLS_CERT", path), ("PANDAFUZZ_REMOTE_TLS_PASSWORD_FILE", passwordFile)));

        settings.RemoteTls.Should().NotBeNull();
        settings.RemoteTls!.Validation.Should().Be(PeerValidation.Pinned);
        settings.RemoteTls.PinnedThumbprints.Should().Equal(certificate.Thumbprint);
        settings.RemoteTls.Certificate.HasPrivateKey.Should().BeTrue();
        settings.RemoteTls.ToString().Should().NotContain("s3cret-pw");
        NodeStartupSettings.Load(Env("bot")).RemoteTls.Should().BeNull("TLS is off while no certificate is named");
    }

    [Fact]
    public void A_wrong_tls_password_names_the_certificate_variable_and_never_the_password()
    {
        using var certificate = TestCertificates.SelfSigned();
        var path = TestCertificates.WritePkcs12(certificate, Path.Combine(_temp, "cluster.pfx"), "right-password");

        var act = () => NodeStartupSettings.Load(Env("bot", ("PANDAFUZZ_REMOTE_TLS_CERT", path), ("PANDAFUZZ_REMOTE_TLS_PASSWORD", "wrong-password")));

        act.Should().Throw<ConfigurationException>()
            .WithMessage($"PANDAFUZZ_REMOTE_TLS_CERT='{path}' is invalid: expected a PKCS#12*readable with the configured password*")
            .Which.Message.Should().NotContain("wrong-password").And.NotContain("right-password");
    }

    [Fact]
    public void A_tls_certificate_without_its_private_key_or_expired_names_its_key()
    {
        using var certificate = TestCertificates.SelfSigned();
        var publicOnly = TestCertificates.WritePublicOnly(certificate, Path.Combine(_temp, "public.pfx"), "pw");
        using var expired = TestCertificates.SelfSigned(notAfter: DateTimeOffset.UtcNow.AddMinutes(-5));
        var expiredPath = TestCertificates.WritePkcs12(expired, Path.Combine(_temp, "expired.pfx"), "pw");

        var noKey = () => NodeStartupSettings.Load(Env("bot",
            (NodeConfiguration.OperatorFileVariable, OperatorFile($"pandafuzz.remote.tls {{ certificate-path = \"{publicOnly}\", password = pw }}"))));
        var old = () => NodeStartupSettings.Load(Env("bot", ("PANDAFUZZ_REMOTE_TLS_CERT", expiredPath), ("PANDAFUZZ_REMOTE_TLS_PASSWORD", "pw")));
        var badMode = () => NodeStartupSettings.Load(Env("bot", ("PANDAFUZZ_REMOTE_TLS_CERT", expiredPath),
            ("PANDAFUZZ__PANDAFUZZ__REMOTE__TLS__PEER_VALIDATION", "trust-me")));

        noKey.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.remote.tls.certificate-path=* is invalid: expected a PKCS#12*(it holds no private key)");
        old.Should().Throw<ConfigurationException>().WithMessage("PANDAFUZZ_REMOTE_TLS_CERT=* is invalid: expected *still valid (it expired*");
        badMode.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.remote.tls.peer-validation='trust-me' is invalid: expected pinned or chain");
    }

    [Fact]
    public void A_reload_applies_the_safe_settings_and_names_each_other_change_as_needing_a_restart()
    {
        var path = OperatorFile("pandafuzz.logging.levels { Akka = warning }");
        var env = Env("master,bot", (NodeConfiguration.OperatorFileVariable, path));
        var started = NodeStartupSettings.Load(env);
        File.WriteAllText(path, """
            pandafuzz.logging.levels { Akka = debug }
            pandafuzz.master.webhooks.urls = ["http://127.0.0.1:9004/hook"]
            pandafuzz.master.scheduler.campaign-weights { 3f2a9c1b0d4e = 2 }
            pandafuzz.master.job-start-timeout = 45s
            pandafuzz.bot.slots = 7
            """);

        var reloaded = NodeStartupSettings.Load(started.Node, env);
        var plan = ReloadPlan.Between(started, started, reloaded);
        var again = ReloadPlan.Between(reloaded, started, reloaded);

        plan.Logging!.Levels.Should().Contain("Akka", LogEventLevel.Debug);
        plan.Webhooks!.Urls.Should().Equal(new Uri("http://127.0.0.1:9004/hook"));
        plan.Scheduler!.CampaignWeights.Should().Contain("3f2a9c1b0d4e", 2);
        plan.NeedRestart.Should().Equal("pandafuzz.bot.slots", "pandafuzz.master.job-start-timeout");
        again.Logging.Should().BeNull("the safe settings were applied");
        again.Webhooks.Should().BeNull();
        again.Scheduler.Should().BeNull();
        again.NeedRestart.Should().Equal(["pandafuzz.bot.slots", "pandafuzz.master.job-start-timeout"], "they still wait for a restart");
    }

    [Fact]
    public void A_reload_with_nothing_changed_is_empty()
    {
        var env = Env("master,bot", (NodeConfiguration.OperatorFileVariable, OperatorFile("pandafuzz.bot.slots = 2")));
        var started = NodeStartupSettings.Load(env);

        ReloadPlan.Between(started, started, NodeStartupSettings.Load(started.Node, env)).IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void Webhook_settings_from_the_shipped_files_have_no_targets()
    {
        NodeStartupSettings.Load(Env("master")).Master!.Webhooks.Should().Be(new WebhookSettings([], TimeSpan.FromSeconds(10), 8, TimeSpan.FromSeconds(1)));
    }
}
