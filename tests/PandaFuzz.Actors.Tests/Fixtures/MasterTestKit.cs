using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Hosting;
using Akka.TestKit;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master;
using PandaFuzz.Master.Bots;
using PandaFuzz.Master.Campaigns;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Corpus;
using PandaFuzz.Master.Jobs;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Master.Targets;
using PandaFuzz.ReadModel;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Actors.Tests.Fixtures;

/// <summary>
/// TestKit that starts masters over a SQLite file (or a PostgreSQL database) in a fresh temp dir, each in its own
/// host composed with the node's hosting extensions. <see cref="RestartAsync"/> stops a master's host and starts a new
/// one on the same journal, the way a master process comes back after it was stopped.
/// </summary>
public abstract class MasterTestKit : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    // Deadlines for a machine whose cores are all busy (CI runs the end-to-end tests beside these): a sharded entity's
    // first answer waits for its coordinator to recover from the journal, which took over 10 s on a loaded machine.
    protected static readonly TimeSpan SystemStartTimeout = TimeSpan.FromSeconds(60);
    protected static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    private const string SystemName = "pandafuzz";

    private readonly List<IHost> _hosts = [];
    private readonly Config _journalConfig;
    private readonly TestPostgresDatabase? _postgres;
    private readonly List<TestPostgresDatabase> _otherDatabases = [];

    protected MasterTestKit(ITestOutputHelper output, StorageProvider storage = StorageProvider.Sqlite)
        : this(new TestDirectory(), storage == StorageProvider.PostgreSql ? new TestPostgresDatabase() : null, output)
    {
    }

    private MasterTestKit(TestDirectory directory, TestPostgresDatabase? postgres, ITestOutputHelper output)
        : base(output: output)
    {
        TestDir = directory;
        _postgres = postgres;
        _journalConfig = MasterConfig.Build(postgres is null
            ? SqliteJournal.Persistence(directory.DatabasePath)
            : PostgreSqlJournal.Persistence(postgres.ConnectionString));
        MasterBlobs = new ContentAddressedStore(directory.PathOf("master-blobs"));
    }

    /// <summary>The read model that goes with the journal: <c>readmodel.db</c> in the test dir, or the journal's PostgreSQL database.</summary>
    protected ReadModelDatabase ReadModel => _postgres is null ? ReadModelDatabase.In(TestDir.Root) : ReadModelDatabase.PostgreSql(_postgres.ConnectionString);

    /// <summary>A second, empty read model (another file, or another PostgreSQL database), such as a rebuild's target.</summary>
    protected ReadModelDatabase AnotherReadModel(string name)
    {
        if (_postgres is null)
        {
            return ReadModelDatabase.In(TestDir.PathOf(name));
        }

        var other = new TestPostgresDatabase();
        _otherDatabases.Add(other);
        return ReadModelDatabase.PostgreSql(other.ConnectionString);
    }

    /// <summary>Reads one number straight from the journal's tables (SQLite or PostgreSQL); parameters are named <c>@name</c>.</summary>
    protected long JournalScalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var connection = ConfiguredStorage.OpenJournal(_journalConfig)!;
        using var command = ReadModelWriter.Command(connection, null, sql, parameters);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    protected TestDirectory TestDir { get; }

    /// <summary>The master's blob store; like the data dir, it outlives a restart.</summary>
    protected ContentAddressedStore MasterBlobs { get; }

    /// <summary>Starts a master on the test's journal.</summary>
    protected Task<MasterNode> StartMasterAsync(MasterSettings settings) => StartOnAsync(_journalConfig, settings, wakeCampaigns: false);

    /// <summary>
    /// Stops the node's host (its actor system ends) and starts a new one on the same journal; like the node, the new
    /// master wakes the campaigns it finds in the journal.
    /// </summary>
    protected async Task<MasterNode> RestartAsync(MasterNode node, MasterSettings? settings = null)
    {
        var host = _hosts.Single(h => h.Services.GetRequiredService<ActorSystem>() == node.System);
        await host.StopAsync().WaitAsync(SystemStartTimeout);
        await node.System.WhenTerminated.WaitAsync(SystemStartTimeout);
        return await StartOnAsync(_journalConfig, settings ?? node.Settings, wakeCampaigns: true);
    }

    /// <summary>
    /// Starts a master over another journal file, such as one written by an older build; like the node, it wakes the
    /// campaigns it finds.
    /// </summary>
    protected Task<MasterNode> StartMasterOnJournalAsync(string databasePath, MasterSettings settings) =>
        StartOnAsync(MasterConfig.Build(databasePath), settings, wakeCampaigns: true);

    /// <summary>Asks and checks the type of the answer, so a <c>CommandRejected</c> fails with its reason in view.</summary>
    protected static async Task<T> AskFor<T>(IActorRef region, object message)
    {
        var reply = await region.Ask<object>(message, AskTimeout);
        return reply.Should().BeOfType<T>().Subject;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.StopAsync().WaitAsync(SystemStartTimeout);
            host.Dispose();
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _postgres?.Dispose();
            _otherDatabases.ForEach(d => d.Dispose());
            TestDir.Dispose();
        }
    }

    private async Task<MasterNode> StartOnAsync(Config config, MasterSettings settings, bool wakeCampaigns)
    {
        // The node's own hosting extensions start the entities, so a test's master has what the node's has; only
        // the scheduler is a probe, registered before the regions start.
        TestProbe? scheduler = null;
        var blobs = MasterBlobs;
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(SystemName, akka =>
            {
                akka.AddHocon(config, HoconAddMode.Prepend)
                    .WithActors((system, registry) =>
                    {
                        InitializeLogger(system);
                        scheduler = CreateTestProbe(system, "scheduler");
                        registry.Register<SchedulerProxy>(scheduler.Ref);
                    })
                    .AddCampaignEntities(settings, blobs)
                    .AddCorpusEntities(settings, blobs)
                    .AddJobEntities(settings)
                    .AddBotEntities(settings)
                    .AddTargetEntities(settings)
                    .AddBlobServer<BlobServer>(blobs, BlobServerActor.MasterName);
                if (wakeCampaigns)
                {
                    akka.AddCampaignWaker();
                }
            }))
            .Build();
        _hosts.Add(host);
        await host.StartAsync().WaitAsync(SystemStartTimeout);

        var system = host.Services.GetRequiredService<ActorSystem>();
        var cluster = Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.Join(cluster.SelfAddress);
        await up.Task.WaitAsync(SystemStartTimeout);

        var registry = host.Services.GetRequiredService<ActorRegistry>();
        return new MasterNode(
            system,
            cluster.SelfAddress,
            registry.Get<CampaignRegion>(),
            registry.Get<JobRegion>(),
            registry.Get<BotRegion>(),
            scheduler!,
            settings)
        {
            Targets = registry.Get<TargetRegion>(),
        };
    }
}
