using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using FluentAssertions;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master;
using PandaFuzz.Master.Bots;
using PandaFuzz.Master.Campaigns;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Jobs;
using PandaFuzz.Master.Persistence;
using PandaFuzz.ReadModel;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.Actors.Tests.Fixtures;

/// <summary>
/// TestKit whose <see cref="Akka.TestKit.TestKitBase.Sys"/> is a master node over a SQLite file in a fresh temp dir.
/// A test starts the master with <see cref="StartMasterAsync"/> and can stop it and start a new actor system on
/// the same file with <see cref="RestartAsync"/>, the way a master process comes back after it was stopped.
/// </summary>
public abstract class MasterTestKit : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    // Deadlines for a machine whose cores are all busy (CI runs the end-to-end tests beside these): a sharded entity's
    // first answer waits for its coordinator to recover from the journal, which took over 10 s on a loaded machine.
    // They cost nothing when things go well.
    protected static readonly TimeSpan SystemStartTimeout = TimeSpan.FromSeconds(60);
    protected static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    private readonly List<ActorSystem> _restarted = [];

    private readonly TestPostgresDatabase? _postgres;
    private readonly List<TestPostgresDatabase> _otherDatabases = [];

    protected MasterTestKit(ITestOutputHelper output, StorageProvider storage = StorageProvider.Sqlite)
        : this(new TestDirectory(), storage == StorageProvider.PostgreSql ? new TestPostgresDatabase() : null, output)
    {
    }

    private MasterTestKit(TestDirectory directory, TestPostgresDatabase? postgres, ITestOutputHelper output)
        : base(MasterConfig.Build(postgres is null
            ? SqliteJournal.Persistence(directory.DatabasePath)
            : PostgreSqlJournal.Persistence(postgres.ConnectionString)), "pandafuzz", output)
    {
        TestDir = directory;
        _postgres = postgres;
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
        using var connection = ConfiguredStorage.OpenJournal(Sys.Settings.Config)!;
        using var command = ReadModelWriter.Command(connection, null, sql, parameters);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    protected TestDirectory TestDir { get; }

    /// <summary>The master's blob store; like the data dir, it outlives a restart.</summary>
    protected ContentAddressedStore MasterBlobs { get; }

    /// <summary>Starts the master role on <see cref="Akka.TestKit.TestKitBase.Sys"/>.</summary>
    protected Task<MasterNode> StartMasterAsync(MasterSettings settings) => StartOnAsync(Sys, settings, wakeCampaigns: false);

    /// <summary>
    /// Terminates the node's actor system completely and starts a new one with the same configuration on the
    /// same SQLite file; like the node, the new master wakes the campaigns it finds in the journal.
    /// </summary>
    protected async Task<MasterNode> RestartAsync(MasterNode node, MasterSettings? settings = null)
    {
        var config = node.System.Settings.Config;
        await node.System.Terminate().WaitAsync(SystemStartTimeout);
        var system = ActorSystem.Create(node.System.Name, config);
        _restarted.Add(system);
        InitializeLogger(system);
        return await StartOnAsync(system, settings ?? node.Settings, wakeCampaigns: true);
    }

    /// <summary>
    /// Starts a master in a new actor system over another journal file, such as one written by an older build; like
    /// the node, it wakes the campaigns it finds.
    /// </summary>
    protected async Task<MasterNode> StartMasterOnJournalAsync(string databasePath, MasterSettings settings)
    {
        var system = ActorSystem.Create(Sys.Name, MasterConfig.Build(databasePath));
        _restarted.Add(system);
        InitializeLogger(system);
        return await StartOnAsync(system, settings, wakeCampaigns: true);
    }

    /// <summary>Asks and checks the type of the answer, so a <c>CommandRejected</c> fails with its reason in view.</summary>
    protected static async Task<T> AskFor<T>(IActorRef region, object message)
    {
        var reply = await region.Ask<object>(message, AskTimeout);
        return reply.Should().BeOfType<T>().Subject;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var system in _restarted)
        {
            await system.Terminate().WaitAsync(SystemStartTimeout);
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

    private async Task<MasterNode> StartOnAsync(ActorSystem system, MasterSettings settings, bool wakeCampaigns)
    {
        var cluster = Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.Join(cluster.SelfAddress);
        await up.Task.WaitAsync(SystemStartTimeout);

        var registry = ActorRegistry.For(system);
        var scheduler = CreateTestProbe(system, "scheduler");
        registry.Register<SchedulerProxy>(scheduler.Ref);
        var blobs = MasterBlobs;
        registry.Register<BlobServer>(system.ActorOf(Props.Create(() => new BlobServerActor(blobs)), BlobServerActor.MasterName));

        var sharding = ClusterSharding.Get(system);
        var shardSettings = ClusterShardingSettings.Create(system).WithRole(ShardNames.MasterRole).WithRememberEntities(false);
        var campaigns = await sharding.StartAsync(
            ShardNames.Campaign,
            id => Props.Create(() => new CampaignEntity(id, settings, blobs, registry)),
            shardSettings,
            new CampaignMessageExtractor(ShardNames.MaxShards));
        registry.Register<CampaignRegion>(campaigns);
        var jobs = await sharding.StartAsync(
            ShardNames.Job,
            id => Props.Create(() => new JobEntity(id, settings, registry)),
            shardSettings,
            new JobMessageExtractor(ShardNames.MaxShards));
        registry.Register<JobRegion>(jobs);
        var bots = await sharding.StartAsync(
            ShardNames.Bot,
            id => Props.Create(() => new BotEntity(id, settings, registry)),
            shardSettings,
            new BotMessageExtractor(ShardNames.MaxShards));
        registry.Register<BotRegion>(bots);

        if (wakeCampaigns)
        {
            system.ActorOf(Props.Create(() => new CampaignWaker(new EntityDirectory(system), registry)), "campaign-waker");
        }

        return new MasterNode(system, cluster.SelfAddress, campaigns, jobs, bots, scheduler, settings);
    }
}
