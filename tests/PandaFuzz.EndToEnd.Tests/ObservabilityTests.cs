using System.Globalization;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// A master-only node and a bot-only node with PANDAFUZZ_METRICS: both scrapes pass <c>promtool check metrics</c> and
/// count what runs; the master's readiness fails while its journal cannot be written and recovers after; no log line
/// carries the PostgreSQL password.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class ObservabilityTests(TargetBuilder targets) : EndToEndTest
{
    [Fact]
    public Task Metrics_pass_promtool_and_readiness_follows_the_journal() =>
        Env.RunAsync(TimeSpan.FromMinutes(3), async ct =>
        {
            // Arrange: a master, a bot with its own metrics endpoint, a campaign whose job keeps running (no bug to find).
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master"), ct);
            var botMetrics = $"{NodeOptions.Loopback}:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}";
            var bot = Env.StartNode(Env.NewNodeOptions("bot", "bot", seeds: master.Options.RemoteEndpoint) with { Metrics = botMetrics });
            using var api = new ApiClient(master.Options.BaseAddress);
            using var botHttp = new ApiClient(new Uri($"http://{botMetrics}/"));

            void BothRunning()
            {
                master.EnsureRunning();
                bot.EnsureRunning();
            }

            var target = await FuzzingFlow.UploadAsync(api, targets.NoBug, ct);
            var campaign = await FuzzingFlow.StartCampaignAsync(api, "observed", target, ct);
            await FuzzingFlow.WaitForCampaignAsync(api, campaign.Id, "its job is running on the bot",
                c => c.FuzzJobs is { Count: > 0 } jobs && jobs.All(j => States.Is(j.State, States.Running)), BothRunning, ct);

            // Act: scrape the master until its cached figures show the running job with live stats.
            var masterScrape = await Eventually.SatisfyAsync(
                "the master's /metrics counts a running job, an online bot, two members up and the campaign's exec/s",
                TimeSpan.FromSeconds(60),
                token => ScrapeAsync(api, token),
                m => m.Value("pandafuzz_jobs", "state=\"running\"") >= 1
                     && m.Value("pandafuzz_bots", "state=\"online\"") == 1
                     && m.Value("pandafuzz_cluster_members", "status=\"up\"") == 2
                     && m.Value("pandafuzz_campaign_execs_per_second", $"campaign=\"{campaign.Id}\"") > 0,
                ct,
                BothRunning);
            var botScrape = await ScrapeAsync(botHttp, ct);

            // Assert: both pass promtool, and the figures are sane.
            await ShouldPassPromtoolAsync(masterScrape, "master", ct);
            await ShouldPassPromtoolAsync(botScrape, "bot", ct);
            masterScrape.Value("pandafuzz_campaign_running_jobs", $"campaign=\"{campaign.Id}\"").Should().Be(1);
            masterScrape.Value("pandafuzz_scheduler_pending_jobs").Should().Be(0);
            masterScrape.Value("pandafuzz_read_model_pending_events").Should().NotBeNull();
            masterScrape.Value("pandafuzz_journal_write_duration_seconds_count", "entity=\"job\"").Should().BeGreaterThan(0, "jobs persisted their creation and assignment");
            botScrape.Value("pandafuzz_cluster_members", "status=\"up\"").Should().Be(2);
            botScrape.Value("pandafuzz_outbox_messages").Should().Be(0);
            botScrape.Value("pandafuzz_engine_restarts_total", "engine=\"libfuzzer\",reason=\"failure\"").Should().Be(0);
            botScrape.Text.Should().NotContain("pandafuzz_jobs{", "a bot has no read model to count jobs from");
            botScrape.Text.Should().NotContain("engine=\"simulated\"", "the test engine has no series where it is not offered");
            masterScrape.Text.Should().MatchRegex(@"(?m)^pandafuzz_build_info\{version=""[^""]+"",roles=""master""\} 1$");
            botScrape.Text.Should().MatchRegex(@"(?m)^pandafuzz_build_info\{version=""[^""]+"",roles=""bot""\} 1$");
            masterScrape.Text.Should().MatchRegex($@"(?m)^pandafuzz_campaign_info\{{campaign=""{campaign.Id}"",name=""observed"",target=""[^""]+"",engine=""libfuzzer""\}} 1$");

            // The campaign's execution counter rises while it fuzzes, and its libFuzzer coverage has its unit in its name.
            var execs = masterScrape.Value("pandafuzz_campaign_execs_total", $"campaign=\"{campaign.Id}\"");
            execs.Should().BeGreaterThan(0);
            var later = await Eventually.SatisfyAsync("the campaign's execs_total rises and its libFuzzer features show", TimeSpan.FromSeconds(60),
                token => ScrapeAsync(api, token),
                m => m.Value("pandafuzz_campaign_execs_total", $"campaign=\"{campaign.Id}\"") > execs
                     && m.Value("pandafuzz_campaign_libfuzzer_features", $"campaign=\"{campaign.Id}\"") > 0,
                ct, BothRunning);
            later.Text.Should().NotContain("pandafuzz_campaign_aflplusplus_edges{", "the campaign runs no AFL++ job");
            await ShouldPassPromtoolAsync(later, "master", ct);

            (await botHttp.GetRawAsync("healthz", ct)).StatusCode.Should().Be(200);
            (await botHttp.GetRawAsync("readyz", ct)).StatusCode.Should().Be(200);
            (await api.GetRawAsync("healthz", ct)).StatusCode.Should().Be(200);
            var ready = await api.GetRawAsync("readyz", ct);
            ready.StatusCode.Should().Be(200, ready.Body);
            CheckStatuses(ready.Body).Should().BeEquivalentTo(new Dictionary<string, string>
            {
                ["actor-system"] = "healthy", ["cluster"] = "healthy", ["journal"] = "healthy", ["read-model"] = "healthy",
            });

            // Act: make the journal unwritable. Root ignores file modes, not the immutable flag; SQLite in WAL mode
            // writes the -wal file, so both are frozen, and even handles the node already holds refuse writes.
            var journal = Path.Combine(master.Options.DataDir, "pandafuzz.db");
            string[] frozen = [journal, journal + "-wal"];
            try
            {
                await ChattrAsync("+i", frozen, ct);
                WriteFails(journal).Should().BeTrue("the immutable journal must refuse a write from any process");

                // Assert: readiness fails, naming the journal; liveness does not.
                var unready = await Eventually.SatisfyAsync("/readyz answers 503 with the journal check failing", TimeSpan.FromSeconds(20),
                    token => api.GetRawAsync("readyz", token), r => r.StatusCode == 503, ct, BothRunning);
                CheckStatuses(unready.Body)["journal"].Should().Be("unhealthy", unready.Body);
                CheckStatuses(unready.Body)["cluster"].Should().Be("healthy");
                (await api.GetRawAsync("healthz", ct)).StatusCode.Should().Be(200);
                (await api.GetRawAsync("health/ready", ct)).StatusCode.Should().Be(200, "/health/ready stays the cluster-membership check scripts wait on");
            }
            finally
            {
                await ChattrAsync("-i", frozen, CancellationToken.None);
            }

            // Assert: writable again, ready again.
            await Eventually.SatisfyAsync("/readyz answers 200 again once the journal is writable", TimeSpan.FromSeconds(20),
                token => api.GetRawAsync("readyz", token), r => r.StatusCode == 200, ct, BothRunning);
        });

    [Fact]
    public Task The_postgres_password_is_never_logged() =>
        Env.RunAsync(TimeSpan.FromMinutes(2), async ct =>
        {
            // Arrange: a PostgreSQL connection string with a password nothing should print. The test server trusts loopback
            // and ignores the password, so the master runs on it; without a test server the master fails to start, the
            // other path where connection details get printed.
            const string Password = "canary-3f9a1c-password";
            var server = Environment.GetEnvironmentVariable("PANDAFUZZ_TEST_POSTGRES");
            await using var database = server is { Length: > 0 } ? await TestDatabase.CreateAsync(server, ct) : null;
            var connection = database is not null
                ? new NpgsqlConnectionStringBuilder(database.ConnectionString) { Password = Password }.ConnectionString
                : $"Host=127.0.0.1;Port={FreePort.Next().ToString(CultureInfo.InvariantCulture)};Database=pandafuzz;Username=pandafuzz;Password={Password};Timeout=2";
            var options = Env.NewNodeOptions("master", "master") with
            {
                Postgres = connection,
                Environment = new Dictionary<string, string> { ["PANDAFUZZ_LOG_FORMAT"] = "json" },
            };

            // Act
            var node = Env.StartNode(options);
            if (database is not null)
            {
                await node.WaitReadyAsync(Timeouts.NodeReady, ct);
                using var api = new ApiClient(options.BaseAddress);
                var verbose = await api.PutJsonRawAsync("api/v1/admin/log-levels", new { @default = "verbose", levels = new Dictionary<string, string?> { ["Microsoft"] = null } }, ct);
                verbose.StatusCode.Should().Be(200, verbose.Body);
                await FuzzingFlow.UploadAsync(api, targets.NoBug, ct);
                (await api.GetRawAsync("readyz", ct)).StatusCode.Should().Be(200, "the journal check writes to PostgreSQL");
                await node.StopAsync();
            }
            else
            {
                (await node.WaitForExitAsync(TimeSpan.FromSeconds(45), ct)).Should().NotBe(0, "a master cannot start without its database");
            }

            // Assert
            var log = await File.ReadAllTextAsync(options.LogPath, ct);
            log.Should().Contain("127.0.0.1", "the log shows where the database is");
            log.Should().NotContain(Password);
        });

    private static async Task<Scrape> ScrapeAsync(ApiClient http, CancellationToken cancellationToken)
    {
        var response = await http.GetRawAsync("metrics", cancellationToken);
        response.StatusCode.Should().Be(200);
        return new Scrape(response.Body);
    }

    private async Task ShouldPassPromtoolAsync(Scrape scrape, string name, CancellationToken cancellationToken)
    {
        var file = Path.Combine(Env.Root, name + "-metrics.txt");
        await File.WriteAllTextAsync(file, scrape.Text, cancellationToken);
        var check = await Promtool.CheckMetricsAsync(file, cancellationToken);
        check.ExitCode.Should().Be(0, "promtool check metrics must pass the {0}'s scrape ({1}): {2}{3}", name, file, check.StandardOutput, check.StandardError);
        foreach (var family in scrape.Text.Split('\n').Where(l => l.StartsWith("# TYPE pandafuzz_", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]))
        {
            scrape.Text.Should().Contain($"# HELP {family} ", "every metric has a description");
        }
    }

    private static Dictionary<string, string> CheckStatuses(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("checks").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("status").GetString()!);
    }

    private static async Task ChattrAsync(string flag, IEnumerable<string> files, CancellationToken cancellationToken)
    {
        var run = await ProcessTools.RunAsync("chattr", [flag, .. files], TimeSpan.FromSeconds(10), cancellationToken);
        run.ExitCode.Should().Be(0, "chattr {0} needs root and a file system with the immutable flag (ext4, xfs): {1}", flag, run.StandardError);
    }

    private static bool WriteFails(string journal)
    {
        try
        {
            using var connection = new SqliteConnection($"Data Source={journal};Mode=ReadWrite;Pooling=False;Default Timeout=3");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE IF NOT EXISTS pandafuzz_test_write (x INTEGER); INSERT INTO pandafuzz_test_write VALUES (1);";
            command.ExecuteNonQuery();
            return false;
        }
        catch (SqliteException)
        {
            return true;
        }
    }

    /// <summary>A fresh database on the test PostgreSQL server, dropped at the end.</summary>
    private sealed class TestDatabase : IAsyncDisposable
    {
        private readonly string _server;
        private readonly string _name;

        private TestDatabase(string server, string name)
        {
            _server = server;
            _name = name;
        }

        public string ConnectionString => new NpgsqlConnectionStringBuilder(_server) { Database = _name }.ConnectionString;

        public static async Task<TestDatabase> CreateAsync(string server, CancellationToken cancellationToken)
        {
            var database = new TestDatabase(server, "pandafuzz_e2e_" + Guid.NewGuid().ToString("N")[..16]);
            await database.AdminAsync($"CREATE DATABASE {database._name}", cancellationToken);
            return database;
        }

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await AdminAsync($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", CancellationToken.None);
        }

        private async Task AdminAsync(string sql, CancellationToken cancellationToken)
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_server) { Database = "postgres", Pooling = false }.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>One scrape in the Prometheus text format, and the value of a sample by name and labels.</summary>
    private sealed record Scrape(string Text)
    {
        public double? Value(string name, string labels = "")
        {
            var prefix = labels.Length == 0 ? name + " " : $"{name}{{{labels}}} ";
            var line = Text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
            return line is null ? null : double.Parse(line[prefix.Length..].Trim(), CultureInfo.InvariantCulture);
        }
    }
}
