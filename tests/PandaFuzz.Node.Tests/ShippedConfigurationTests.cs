using Akka.Configuration;
using FluentAssertions;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Bot.Runner;
using PandaFuzz.Infrastructure.Cluster;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Node.Observability;
using Serilog.Events;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>
/// Loads the HOCON files the node ships through <see cref="NodeConfiguration.Load"/> and validates them the way
/// start-up does. The tests of this class set PANDAFUZZ_HOCON_DIR, so they run one after another.
/// </summary>
public sealed class ShippedConfigurationTests : IDisposable
{
    private const string HoconDirVariable = "PANDAFUZZ_HOCON_DIR";

    private readonly string? _previousHoconDir = Environment.GetEnvironmentVariable(HoconDirVariable);
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "pandafuzz-hocon-" + Guid.NewGuid().ToString("N"));

    public ShippedConfigurationTests()
    {
        Directory.CreateDirectory(_temp);
        Environment.SetEnvironmentVariable(HoconDirVariable, ShippedHoconDir);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(HoconDirVariable, _previousHoconDir);
        Directory.Delete(_temp, recursive: true);
    }

    /// <summary>The repository: found by walking up from the test binaries to PandaFuzz.sln.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "PandaFuzz.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException($"PandaFuzz.sln not found above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>The repository's hocon folder.</summary>
    private static string ShippedHoconDir => Path.Combine(RepositoryRoot, "hocon");

    private NodeSettings Node(string roles = "master,bot") =>
        NodeSettings.FromEnvironment(name => name switch
        {
            NodeSettings.RolesVariable => roles,
            NodeSettings.SeedsVariable => roles.Contains("master") ? null : "127.0.0.1:4053",
            NodeSettings.DataDirVariable => Path.Combine(_temp, "data"),
            _ => null,
        });

    /// <summary>Copies the shipped files to a temporary folder with one line replaced, and loads from there.</summary>
    private Config LoadBroken(string file, string line, string replacement, string roles = "master,bot")
    {
        var broken = Path.Combine(_temp, "hocon");
        Directory.CreateDirectory(broken);
        foreach (var shipped in Directory.GetFiles(ShippedHoconDir, "*.conf"))
        {
            File.Copy(shipped, Path.Combine(broken, Path.GetFileName(shipped)), overwrite: true);
        }

        var path = Path.Combine(broken, file);
        var text = File.ReadAllText(path);
        text.Should().Contain(line, "the test edits a line the shipped file has");
        File.WriteAllText(path, text.Replace(line, replacement));
        Environment.SetEnvironmentVariable(HoconDirVariable, broken);
        return NodeConfiguration.Load(Node(roles));
    }

    [Fact]
    public void Shipped_master_settings_validate()
    {
        var config = NodeConfiguration.Load(Node());

        var master = MasterSettings.From(config);

        master.Should().Be(new MasterSettings(
            JobStartTimeout: TimeSpan.FromSeconds(30),
            JobSilenceTimeout: TimeSpan.FromSeconds(30),
            JobMaxAttempts: 5,
            JobDeadlineGrace: TimeSpan.FromMinutes(3),
            PendingReannounceInterval: TimeSpan.FromSeconds(10),
            BotCheckInTimeout: TimeSpan.FromSeconds(30),
            RetryInterval: TimeSpan.FromSeconds(3),
            SchedulerOfferTimeout: TimeSpan.FromSeconds(5),
            BlobChunkTimeout: TimeSpan.FromSeconds(10),
            SnapshotEvery: 50,
            MaxTargetBytes: 512L * 1024 * 1024,
            MaxCrashInputBytes: 16L * 1024 * 1024,
            MaxCorpusEntryBytes: 1024 * 1024,
            CorpusPageSize: 500,
            StatsSeriesInterval: TimeSpan.FromSeconds(30),
            StatsSeriesPoints: 240,
            CrashSamples: 5,
            CampaignSnapshotEvery: 10_000,
            CrashMinimizationTime: TimeSpan.FromSeconds(120),
            Webhooks: new WebhookSettings([], TimeSpan.FromSeconds(10), 8, TimeSpan.FromSeconds(1)))
        {
            ReadModel = new ReadModelSettings(MigrateOnStart: true, BatchSize: 500, BatchWindow: TimeSpan.FromMilliseconds(50)),
        });
    }

    [Fact]
    public void Shipped_observability_settings_validate()
    {
        var config = NodeConfiguration.Load(Node("bot"));

        var settings = ObservabilitySettings.From(config, _ => null);

        settings.MetricsEndpoint.Should().BeNull("a bot-only node serves metrics only when PANDAFUZZ_METRICS says where");
        settings.MetricsCache.Should().Be(TimeSpan.FromSeconds(5));
        settings.CheckTimeout.Should().Be(TimeSpan.FromSeconds(3));
        settings.ReadModelMaxLag.Should().Be(TimeSpan.FromSeconds(30));
        settings.Logging.Format.Should().Be(LogFormat.Text);
        settings.Logging.Default.Should().Be(LogEventLevel.Information);
        settings.Logging.Levels.Should().Equal(new Dictionary<string, LogEventLevel>
        {
            ["Microsoft"] = LogEventLevel.Warning,
            ["Microsoft.Hosting.Lifetime"] = LogEventLevel.Information,
            ["PandaFuzz.Gateway.Access"] = LogEventLevel.Warning,
        });
    }

    [Fact]
    public void The_environment_chooses_json_logs_and_the_metrics_endpoint()
    {
        var config = NodeConfiguration.Load(Node("bot"));

        var settings = ObservabilitySettings.From(config, name => name switch
        {
            LoggingSettings.FormatVariable => "json",
            ObservabilitySettings.MetricsVariable => "0.0.0.0:9464",
            _ => null,
        });

        settings.Logging.Format.Should().Be(LogFormat.Json);
        settings.MetricsEndpoint.Should().Be(new HostPort("0.0.0.0", 9464));
    }

    [Fact]
    public void A_bad_metrics_endpoint_names_its_variable()
    {
        var config = NodeConfiguration.Load(Node("bot"));

        var act = () => ObservabilitySettings.From(config, name => name == ObservabilitySettings.MetricsVariable ? "nine-four-six-four" : null);

        act.Should().Throw<NodeConfigurationException>().WithMessage("PANDAFUZZ_METRICS='nine-four-six-four' is invalid*");
    }

    [Fact]
    public void A_log_level_that_is_not_a_level_names_its_full_key()
    {
        var config = LoadBroken("base.conf", "Microsoft = warning", "Microsoft = loud", roles: "bot");

        var act = () => ObservabilitySettings.From(config, _ => null);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.logging.levels.\"Microsoft\"='loud' is invalid: expected one of verbose, debug*");
    }

    [Fact]
    public void A_log_format_that_is_neither_text_nor_json_names_its_full_key()
    {
        var config = LoadBroken("base.conf", "format = text", "format = xml", roles: "bot");

        var act = () => ObservabilitySettings.From(config, _ => null);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.logging.format='xml' is invalid: expected text or json");
    }

    [Fact]
    public void A_read_model_switch_that_is_not_on_or_off_names_its_full_key()
    {
        var config = LoadBroken("master.conf", "migrate-on-start = on", "migrate-on-start = sometimes");

        var act = () => MasterSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.master.read-model.migrate-on-start='sometimes' is invalid: expected on or off");
    }

    [Fact]
    public void The_read_model_can_be_left_to_the_operator_to_migrate()
    {
        var config = LoadBroken("master.conf", "migrate-on-start = on", "migrate-on-start = off");

        MasterSettings.From(config).ReadModel.MigrateOnStart.Should().BeFalse();
    }

    [Fact]
    public void The_read_journal_polls_often_enough_for_a_live_projection()
    {
        var config = NodeConfiguration.Load(Node("master"));

        config.GetTimeSpan("akka.persistence.query.journal.sql.refresh-interval").Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(1));
        config.GetTimeSpan("akka.persistence.query.journal.sql.journal-sequence-retrieval.query-delay").Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Shipped_cluster_settings_validate_and_use_the_master_decides_downing()
    {
        var config = NodeConfiguration.Load(Node());

        DowningSettings.From(config).Should().Be(new DowningSettings(TimeSpan.FromSeconds(5)));
        config.GetString("akka.cluster.downing-provider-class").Should().StartWith(typeof(MasterDecidesDowningProvider).FullName + ", ");
        Type.GetType(config.GetString("akka.cluster.downing-provider-class")).Should().Be(typeof(MasterDecidesDowningProvider));
    }

    [Fact]
    public void Shipped_bot_settings_validate()
    {
        var config = NodeConfiguration.Load(Node());

        var bot = BotSettings.From(config);

        bot.Should().Be(new BotSettings(
            Slots: Environment.ProcessorCount,
            CheckInInterval: TimeSpan.FromSeconds(5),
            StatsInterval: TimeSpan.FromSeconds(2),
            RetryInterval: TimeSpan.FromSeconds(3),
            RestartDelay: TimeSpan.FromSeconds(1),
            MinimumRun: TimeSpan.FromSeconds(2),
            BlobChunkTimeout: TimeSpan.FromSeconds(10),
            StopGrace: TimeSpan.FromSeconds(2),
            MaxReportBytes: 64 * 1024,
            PollInterval: TimeSpan.FromSeconds(1),
            ReproduceGrace: TimeSpan.FromSeconds(30),
            ReproduceAttempts: 3,
            SyncInterval: TimeSpan.FromSeconds(10),
            InitialSyncTimeout: TimeSpan.FromSeconds(60),
            SyncLimits: new CorpusSyncLimits(200, 8 * 1024 * 1024, 1024 * 1024, TimeSpan.FromSeconds(10)))
        {
            Outbox = new OutboxSettings(
                FirstRetryDelay: TimeSpan.FromSeconds(1),
                MaxRetryDelay: TimeSpan.FromSeconds(60),
                AskTimeout: TimeSpan.FromSeconds(30),
                FailuresBeforeOpen: 5,
                OpenDuration: TimeSpan.FromSeconds(30),
                MaxInFlight: 16),
            Engine = new EngineSupervisionSettings(
                MaxRestartDelay: TimeSpan.FromSeconds(60),
                MaxFailures: 5,
                HealthyRun: TimeSpan.FromSeconds(60),
                StallTimeout: TimeSpan.FromSeconds(60)),
        });
    }

    [Fact]
    public void Shipped_bot_settings_validate_on_a_bot_only_node()
    {
        var config = NodeConfiguration.Load(Node("bot"));

        BotSettings.From(config).CheckInInterval.Should().Be(TimeSpan.FromSeconds(5));
        config.HasPath("pandafuzz.master.job-start-timeout").Should().BeFalse("a bot-only node loads no master file");
        config.HasPath("akka.persistence.journal.plugin").Should().BeFalse("a bot-only node has no journal");
    }

    [Fact]
    public void A_master_loads_the_sqlite_journal_and_snapshot_store()
    {
        var config = NodeConfiguration.Load(Node("master"));

        config.GetString("akka.persistence.journal.plugin").Should().Be("akka.persistence.journal.sql");
        config.GetString("akka.persistence.snapshot-store.plugin").Should().Be("akka.persistence.snapshot-store.sql");
        config.GetString("akka.persistence.journal.sql.provider-name").Should().Be("SQLite.MS", "SQLite is the default storage");
        config.HasPath("pandafuzz.bot.slots").Should().BeFalse("a master-only node loads no bot file");
    }

    [Fact]
    public void The_shipped_storage_is_sqlite_under_the_data_dir()
    {
        var settings = MasterSettings.From(NodeConfiguration.Load(Node("master")));

        settings.Storage.Should().Be(StorageSettings.Sqlite);
        var storage = new PandaFuzz.Master.Persistence.MasterStorage(settings.Storage, _temp);
        storage.JournalFile.Should().Be(Path.Combine(_temp, "pandafuzz.db"));
        storage.ReadModel.FilePath.Should().Be(Path.Combine(_temp, "readmodel.db"));
        storage.Persistence().GetString("akka.persistence.journal.sql.connection-string").Should().Contain(Path.Combine(_temp, "pandafuzz.db"));
    }

    [Fact]
    public void PANDAFUZZ_POSTGRES_puts_journal_snapshots_and_read_model_in_that_database()
    {
        const string connection = "Host=db.example;Port=5433;Database=pandafuzz;Username=pf;Password=s3cret";
        Environment.SetEnvironmentVariable(NodeConfiguration.PostgreSqlVariable, connection);
        try
        {
            var settings = MasterSettings.From(NodeConfiguration.Load(Node("master")));

            settings.Storage.Should().Be(new StorageSettings(StorageProvider.PostgreSql, connection));
            var storage = new PandaFuzz.Master.Persistence.MasterStorage(settings.Storage, _temp);
            storage.JournalFile.Should().BeNull();
            storage.ReadModel.Store.Should().Be(PandaFuzz.ReadModel.ReadModelStore.PostgreSql);
            storage.ReadModel.Name.Should().Be("PostgreSQL database 'pandafuzz' on db.example:5433").And.NotContain("s3cret");
            var persistence = storage.Persistence();
            foreach (var plugin in new[] { "journal.sql", "snapshot-store.sql", "query.journal.sql" })
            {
                persistence.GetString($"akka.persistence.{plugin}.provider-name").Should().Be("PostgreSQL.15");
                persistence.GetString($"akka.persistence.{plugin}.connection-string").Should().Be(connection);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(NodeConfiguration.PostgreSqlVariable, null);
        }
    }

    [Fact]
    public void Postgresql_storage_without_a_connection_string_names_its_key()
    {
        var config = LoadBroken("master.conf", "provider = sqlite", "provider = postgresql");

        var act = () => MasterSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.master.storage.postgresql.connection-string is missing: expected*");
    }

    [Fact]
    public void An_unknown_storage_provider_names_its_key()
    {
        var config = LoadBroken("master.conf", "provider = sqlite", "provider = mysql");

        var act = () => MasterSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.master.storage.provider='mysql' is invalid: expected sqlite or postgresql");
    }

    [Fact]
    public void A_bad_postgresql_connection_string_names_its_key_and_not_its_password()
    {
        var config = ConfigurationFactory.ParseString("""
            pandafuzz.master.storage { provider = postgresql, postgresql.connection-string = "Host=db;Password=hunter2;Bogus Key=1" }
            """).WithFallback(NodeConfiguration.Load(Node("master")));

        var act = () => MasterSettings.From(config);

        act.Should().Throw<ConfigurationException>()
            .WithMessage("pandafuzz.master.storage.postgresql.connection-string is invalid: expected an Npgsql connection string such as*")
            .Which.Message.Should().NotContain("hunter2");
    }

    [Fact]
    public void Shipped_cluster_settings_do_not_remember_entities()
    {
        var config = NodeConfiguration.Load(Node());

        config.GetBoolean("akka.cluster.sharding.remember-entities").Should().BeFalse();
    }

    [Fact]
    public void The_hocon_copied_next_to_the_binaries_is_the_shipped_one()
    {
        var copied = Path.Combine(AppContext.BaseDirectory, "hocon");

        foreach (var shipped in Directory.GetFiles(ShippedHoconDir, "*.conf"))
        {
            File.ReadAllText(Path.Combine(copied, Path.GetFileName(shipped))).Should().Be(File.ReadAllText(shipped));
        }
    }

    [Fact]
    public void A_duration_that_is_not_a_duration_names_its_full_key()
    {
        var config = LoadBroken("master.conf", "job-start-timeout = 30s", "job-start-timeout = banana");

        var act = () => MasterSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.master.job-start-timeout='banana' is invalid: expected a positive duration such as 5s*");
    }

    [Fact]
    public void Job_entities_never_leave_memory_before_their_own_timers_could_fire()
    {
        var shipped = MasterSettings.From(LoadBroken("master.conf", "job-passivate-after = 45s", "job-passivate-after = 45s"));
        var shorter = MasterSettings.From(LoadBroken("master.conf", "job-passivate-after = 45s", "job-passivate-after = 10s"));
        var longerStart = MasterSettings.From(LoadBroken("master.conf", "job-start-timeout = 30s", "job-start-timeout = 60s"));

        shipped.JobPassivateAfter.Should().Be(TimeSpan.FromSeconds(45));
        shorter.JobPassivateAfter.Should().Be(TimeSpan.FromSeconds(45), "1.5 x the 30 s start and silence timeouts");
        longerStart.JobPassivateAfter.Should().Be(TimeSpan.FromSeconds(90), "1.5 x a 60 s start timeout");
    }

    [Fact]
    public void A_zero_duration_names_its_full_key()
    {
        var config = LoadBroken("master.conf", "job-silence-timeout = 30s", "job-silence-timeout = 0s");

        var act = () => MasterSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.master.job-silence-timeout='0s' is invalid: expected a positive duration such as 5s*");
    }

    [Fact]
    public void A_bad_downing_stable_after_names_its_full_key()
    {
        var config = LoadBroken("base.conf", "stable-after = 5s", "stable-after = soon");

        var act = () => DowningSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.cluster.downing.stable-after='soon' is invalid: expected a positive duration such as 5s*");
    }

    [Fact]
    public void A_negative_slot_count_names_its_full_key()
    {
        var config = LoadBroken("bot.conf", "slots = 0", "slots = -3");

        var act = () => BotSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.bot.slots='-3' is invalid: expected a whole number from 0 to 1024");
    }

    [Fact]
    public void A_snapshot_interval_out_of_range_names_its_full_key()
    {
        var config = LoadBroken("master.conf", "snapshot-every = 50", "snapshot-every = 0");

        var act = () => MasterSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.master.snapshot-every='0' is invalid: expected a whole number from 1 to 100000");
    }

    [Fact]
    public void A_webhook_that_is_not_an_http_url_names_its_full_key()
    {
        var config = LoadBroken("master.conf", "urls = []", "urls = [\"https://hooks.example/a\", \"ftp://files.example/b\"]");

        var act = () => MasterSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.master.webhooks.urls='ftp://files.example/b' is invalid: expected a list of absolute http or https URLs*");
    }

    [Fact]
    public void Webhook_urls_are_read_in_order()
    {
        var config = LoadBroken("master.conf", "urls = []", "urls = [\"https://hooks.example/a\", \"http://127.0.0.1:9000/b\"]");

        MasterSettings.From(config).Webhooks.Urls.Select(u => u.ToString()).Should().Equal("https://hooks.example/a", "http://127.0.0.1:9000/b");
    }

    [Fact]
    public void A_size_that_is_not_a_size_names_its_full_key()
    {
        var config = LoadBroken("master.conf", "max-target-size = 512MiB", "max-target-size = lots");

        var act = () => MasterSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.master.max-target-size='lots' is invalid: expected a size of at least 1 bytes*");
    }

    [Fact]
    public void The_shipped_sandbox_settings_are_the_defaults_with_every_measure_best_effort()
    {
        var sandbox = BotSettings.From(NodeConfiguration.Load(Node())).Sandbox;

        sandbox.Should().Be(SandboxSettings.Default);
        new[] { sandbox.User.Mode, sandbox.Rlimits.Mode, sandbox.Memory.Mode, sandbox.Network.Mode, sandbox.Filesystem.Mode }
            .Should().OnlyContain(m => m == SandboxMode.BestEffort, "a machine without bwrap or cgroups must still fuzz, and say what it lacks");
        sandbox.Rlimits.CoreDumpBytes.Should().Be(0);
    }

    [Fact]
    public void A_sandbox_mode_that_is_not_a_mode_names_its_full_key()
    {
        var config = LoadBroken("bot.conf", "isolation = auto", "isolation = maybe");

        var act = () => BotSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.bot.sandbox.network.isolation='maybe' is invalid: expected one of auto, bwrap, unshare");
    }

    [Fact]
    public void A_missing_key_names_its_full_key()
    {
        var config = LoadBroken("bot.conf", "stop-grace = 2s", "");

        var act = () => BotSettings.From(config);

        act.Should().Throw<ConfigurationException>().WithMessage("pandafuzz.bot.stop-grace *");
    }

    [Fact]
    public void A_file_that_does_not_parse_names_the_file()
    {
        // Akka's HOCON parser tolerates most syntax slips; an unresolved substitution is one it refuses.
        var act = () => LoadBroken("bot.conf", "stop-grace = 2s", "stop-grace = ${nowhere.defined}");

        act.Should().Throw<ConfigurationException>().WithMessage("*bot.conf*");
    }

    [Fact]
    public void A_missing_file_names_the_file_and_the_variable()
    {
        Environment.SetEnvironmentVariable(HoconDirVariable, Path.Combine(_temp, "nowhere"));

        var act = () => NodeConfiguration.Load(Node());

        act.Should().Throw<ConfigurationException>().WithMessage($"*{Path.Combine(_temp, "nowhere", "base.conf")}*{HoconDirVariable}*");
    }
}
