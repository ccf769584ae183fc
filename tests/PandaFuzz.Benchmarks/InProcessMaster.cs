using PandaFuzz.Master.Persistence;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence.Sql;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master;
using PandaFuzz.Master.Configuration;

namespace PandaFuzz.Benchmarks;

/// <summary>
/// The master role inside this process, composed the way src/PandaFuzz.Node/Program.cs composes it for a master
/// node: the shipped hocon/ files, a SQLite file in WAL mode with the node's connection string, the protocol
/// serializer and <see cref="MasterHosting.AddMasterRole"/> (every entity, the scheduler, the blob server). What
/// differs, and why: remoting on 127.0.0.1 port 0 and the one-node cluster joined by hand (nothing else joins);
/// Akka's own logger at WARNING instead of Serilog at INFO (per-crash log lines would only fill the console); no
/// durable sharding store (remember-entities is off, and it would create an LMDB dir in the current directory); no
/// warnings from the scheduler's singleton proxy at start-up.
/// </summary>
public sealed class InProcessMaster : IAsyncDisposable
{
    private static readonly string[] HoconFiles = ["base.conf", "master.conf", "persistence.conf"];

    private readonly IHost _host;

    private InProcessMaster(IHost host, ActorSystem system, Address address, IActorRef campaigns, MasterSettings settings, ContentAddressedStore blobs,
        string databasePath)
    {
        _host = host;
        System = system;
        SelfAddress = address;
        Campaigns = campaigns;
        Settings = settings;
        Blobs = blobs;
        DatabasePath = databasePath;
    }

    public ActorSystem System { get; }

    public Address SelfAddress { get; }

    /// <summary>The campaign shard region, where bots send their crash reports.</summary>
    public IActorRef Campaigns { get; }

    public MasterSettings Settings { get; }

    /// <summary>The master's blob store (crash samples land here).</summary>
    public ContentAddressedStore Blobs { get; }

    public string DatabasePath { get; }

    /// <summary>The hocon files read, in order of precedence (the last wins), as paths.</summary>
    public static IReadOnlyList<string> ConfigFiles => [.. HoconFiles.Select(f => Path.Combine(RepoLayout.Root, "hocon", f))];

    /// <param name="overrides">HOCON lines (<c>key = value</c>) that take precedence over the shipped files.</param>
    public static async Task<InProcessMaster> StartAsync(string dataDir, IReadOnlyList<string> overrides, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataDir);
        var database = Path.Combine(dataDir, "pandafuzz.db");
        SqliteJournal.EnableWriteAheadLog(database);
        var config = LoadConfig();
        if (overrides.Count > 0)
        {
            // Over the shipped files, so MasterSettings and the journal both see them (--set).
            config = ConfigurationFactory.ParseString(string.Join('\n', overrides)).WithFallback(config);
        }

        var settings = MasterSettings.From(config);
        var blobs = new ContentAddressedStore(Path.Combine(dataDir, "blobs"));

        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLogging();
        builder.Services.AddAkka("pandafuzz", (akka, _) =>
        {
            akka.AddHocon(config, HoconAddMode.Prepend)
                .WithRemoting(new RemoteOptions { HostName = "127.0.0.1", Port = 0 })
                .WithClustering(new ClusterOptions { Roles = [ShardNames.MasterRole] })
                .WithCustomSerializer("pandafuzz", ProtocolSerializer.BoundTypes, system => new ProtocolSerializer(system))
                .AddHocon(SqliteJournal.Persistence(database), HoconAddMode.Prepend)
                .AddSetup(SqliteJournal.Setup(database))
                .AddHocon(SqlPersistence.DefaultConfiguration, HoconAddMode.Append)
                .AddHocon(Overrides, HoconAddMode.Prepend)
                .AddMasterRole(settings, blobs);
        });
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var cluster = Cluster.Get(system);
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            cluster.Join(cluster.SelfAddress);
            await up.Task.WaitAsync(timeout, cancellationToken);
            var campaigns = await ActorRegistry.For(system).GetAsync<CampaignRegion>(cancellationToken);
            return new InProcessMaster(host, system, cluster.SelfAddress, campaigns, settings, blobs, database);
        }
        catch
        {
            await StopAsync(host);
            throw;
        }
    }

    /// <summary>The full remote path of a local actor, as a bot announces its blob server (<c>akka.tcp://…/user/…</c>).</summary>
    public string PathOf(IActorRef actor) => actor.Path.ToStringWithAddress(SelfAddress);

    public ValueTask DisposeAsync() => new(StopAsync(_host));

    private static async Task StopAsync(IHost host)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await host.StopAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("The in-process master did not stop within 30 s.");
        }

        host.Dispose();
    }

    private const string Overrides =
        """
        akka {
          loggers = ["Akka.Event.DefaultLogger, Akka"]
          logger-formatter = "Akka.Event.SemanticLogMessageFormatter, Akka"
          loglevel = WARNING
          stdout-loglevel = WARNING
          coordinated-shutdown.run-by-clr-shutdown-hook = off
          remote.flush-wait-on-shutdown = 100ms
          cluster.sharding.distributed-data.durable.keys = []
          # The scheduler proxy warns at once when it starts and whenever membership changes (its time-out timer has
          # no initial delay in Akka 1.5.73), before the singleton could have been found: noise here.
          cluster.singleton-proxy.log-singleton-identification-failure = off
        }
        """;

    private static Config LoadConfig()
    {
        var config = Config.Empty;
        foreach (var path in ConfigFiles)
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"The shipped configuration file {path} is missing.", path);
            }

            config = ConfigurationFactory.ParseString(File.ReadAllText(path)).WithFallback(config);
        }

        return config;
    }
}
