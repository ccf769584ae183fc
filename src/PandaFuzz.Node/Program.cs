using PandaFuzz.Master.Persistence;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence.Sql;
using Akka.Remote.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PandaFuzz.Bot;
using PandaFuzz.Bot.Agent;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.CommandHost;
using PandaFuzz.Gateway;
using PandaFuzz.Gateway.Access;
using PandaFuzz.ReadModel;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Cluster;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Master;
using PandaFuzz.Master.Membership;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Node;
using PandaFuzz.Node.Observability;
using Serilog;

NodeMetrics.SuppressDefaults();
Log.Logger = NodeLogging.Bootstrap();

NodeStartupSettings startup;
ApiAccess? apiAccess;
CommandHostSettings commandHost;
var environment = NodeConfiguration.ProcessEnvironment();
try
{
    startup = NodeStartupSettings.Load(environment);
    apiAccess = startup.Node.IsMaster
        ? ApiAccess.From(startup.Config, name => environment.TryGetValue(name, out var value) ? value : null, startup.Node.DataDir)
        : null;
    // The command host always wants a token: with none configured, the one this node keeps in its data dir.
    commandHost = startup.CommandHost.WithLocalToken(startup.Node.DataDir);
    Log.Logger = NodeLogging.Create(startup.Observability.Logging);
}
catch (Exception e) when (e is NodeConfigurationException or ConfigurationException)
{
    Log.Fatal("PandaFuzz cannot start: {Problem}", e.Message);
    await Log.CloseAndFlushAsync();
    return 2;
}

var node = startup.Node;
// Akka names a TLS transport's addresses akka.ssl.tcp://…: seed nodes must say the same.
var akkaScheme = startup.RemoteTls is null ? "akka.tcp" : "akka.ssl.tcp";
var config = startup.Config;
var masterSettings = startup.Master;
var botSettings = startup.Bot;
var observability = startup.Observability;

// The journal, read model and blob store are the node's user's only, from before anything writes to them.
if (node.IsMaster)
{
    try
    {
        new MasterStorage(masterSettings!.Storage, node.DataDir).MakePrivate(node.BlobDir);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        Log.Warning("The journal, read model or blob store could not be made private to this user: {Problem}", e.Message);
    }
}

if (await DatabaseCommands.RunAsync(args, node, config, masterSettings, Console.Out) is { } readModelExit)
{
    await Log.CloseAndFlushAsync();
    return readModelExit;
}

Log.Information("PandaFuzz node starting: roles {Roles}, data {DataDir}, remote {Remote}, seeds {Seeds}, http {Http}",
    string.Join(",", node.Roles), node.DataDir, node.Remote, node.Seeds.Count == 0 ? "(founds the cluster)" : string.Join(",", node.Seeds),
    node.IsMaster ? node.Http.ToString() : "(none: bot only)");
if (apiAccess is not null)
{
    Log.Information("API tokens: {Source}; writes need one, reads {Reads}", apiAccess.Source, apiAccess.ReadsRequireToken ? "too" : "do not");
    if (apiAccess.ExposureWarning(node.Http.Host, NodeSettings.HttpVariable) is { } warning)
    {
        Log.Warning("{Warning}", warning);
    }
}

if (startup.RemoteTls is { } tls)
{
    Log.Information("Akka.Remote uses TLS: {RemoteTls}", tls.ToString());
}

try
{
    // A node the master downed cannot rejoin with the same actor system: it starts a fresh one. Its fuzzers stopped
    // with the old one and the master moved their jobs, so no job runs twice.
    while (true)
    {
        var host = BuildHost();
        await host.StartAsync();
        var system = host.Services.GetRequiredService<ActorSystem>();
        // An actor system that ends by itself (downed, quarantined) ends the host, so the loop can start a fresh one.
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        _ = system.WhenTerminated.ContinueWith(_ => lifetime.StopApplication(), TaskScheduler.Default);
        await host.WaitForShutdownAsync();
        var downed = CoordinatedShutdown.Get(system).ShutdownReason is CoordinatedShutdown.ClusterDowningReason;
        if (host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
        else
        {
            host.Dispose();
        }

        if (!downed)
        {
            return 0;
        }

        Log.Warning("This node was downed by the master; it starts again and rejoins the cluster");
    }
}
catch (Exception e)
{
    Log.Fatal(e, "PandaFuzz stopped on an error");
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}

IHost BuildHost()
{
    if (node.IsMaster)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.WebHost.UseUrls($"http://{node.Http}");
        // Every body is bounded; the upload routes raise the bound to their own limit for their request.
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = masterSettings!.MaxJsonBytes;
            kestrel.Limits.MaxRequestLineSize = MasterHttpPipeline.KestrelRequestLineBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = MasterHttpPipeline.KestrelHeaderBytes;
            kestrel.Limits.MaxRequestHeaderCount = MasterHttpPipeline.KestrelHeaderCount;
        });
        Compose(builder.Services);
        var app = builder.Build();
        app.UseMasterHttp(apiAccess!, node.Http.Host);
        return app;
    }

    return ObservabilityHosting.BuildBotHost(args, observability, Compose);
}

// Remoting binds the configured host only (Akka would bind its hostname; public-hostname is what others are told).
static RemoteOptions RemoteOptionsFor(NodeSettings node, RemoteTlsSettings? tls) => tls is null
    ? new RemoteOptions { HostName = node.Remote.Host, Port = node.Remote.Port }
    : new RemoteOptions { HostName = node.Remote.Host, Port = node.Remote.Port, EnableSsl = true, Ssl = tls.ToSslOptions() };

// The command host reaches this master's API on loopback when the API listens on every interface.
static string LoopbackFor(HostPort http) =>
    http.Host is "0.0.0.0" or "::" or "*" or "+" ? $"127.0.0.1:{http.Port}" : http.ToString();

// A founding master first tries the members it last saw: bots that kept fuzzing still form that cluster, and Akka's
// first seed node joins it instead of founding a new one.
IEnumerable<string> RememberedSeeds()
{
    var remembered = node.IsMaster ? RememberedMembers.Read(node.DataDir) : [];
    if (remembered.Count > 0)
    {
        Log.Information("Trying first to rejoin the members this master last saw: {Members}", string.Join(",", remembered));
    }

    return remembered
        .Where(e => HostPort.TryParse(e, out var endpoint) && endpoint.Port > 0 && endpoint != node.Remote)
        .Select(e => $"{akkaScheme}://pandafuzz@{e}");
}

void Compose(IServiceCollection services)
{
    services.AddSerilog();
    services.AddCommandHost(commandHost, node.IsMaster ? new Uri($"http://{LoopbackFor(node.Http)}/api/v1/") : null, apiAccess?.ClientToken);
    ContentAddressedStore? masterBlobs = null;
    MasterStorage? storage = null;
    Config? persistence = null;
    if (node.IsMaster)
    {
        masterBlobs = new ContentAddressedStore(node.BlobDir);
        storage = new MasterStorage(masterSettings!.Storage, node.DataDir);
        storage.Prepare();
        persistence = storage.Persistence();
        services.AddSingleton(masterBlobs);
        if (masterSettings!.BlobGc.Enabled)
        {
            services.AddHostedService(_ => new BlobSweepService(masterSettings.BlobGc, storage, masterBlobs));
        }

        services.AddSingleton(masterSettings!);
        services.AddSingleton(new ReadModelQueries(storage.ReadModel));
        services.AddPandaFuzzApi();
        services.AddApiAuthorization(apiAccess!);
    }

    var botStorage = node.IsBot ? new BotStorage(node.DataDir) : null;
    var botCapabilities = node.IsBot ? BotHosting.Capabilities(botSettings!, botStorage!) : null;
    services.AddNodeObservability(observability, node, storage, botCapabilities?.Sandbox, simulation: botSettings?.Simulation.Enabled == true);
    var selfSeed = $"{akkaScheme}://pandafuzz@{node.Remote}";
    var seeds = node.Seeds.Count == 0
        ? [selfSeed, .. RememberedSeeds()]
        : node.Seeds.Select(s => $"{akkaScheme}://pandafuzz@{s}").ToArray();

    services.AddAkka("pandafuzz", (akka, _) =>
    {
        akka.AddHocon(config, HoconAddMode.Prepend)
            .WithRemoting(RemoteOptionsFor(node, startup.RemoteTls))
            .WithClustering(new ClusterOptions { Roles = [.. node.Roles], SeedNodes = seeds })
            .WithCustomSerializer("pandafuzz", ProtocolSerializer.BoundTypes, system => new ProtocolSerializer(system));
        if (node.IsMaster)
        {
            akka.AddHocon(persistence!, HoconAddMode.Prepend)
                .AddHocon(SqlPersistence.DefaultConfiguration, HoconAddMode.Append);
            if (storage!.Setup() is { } setup)
            {
                // Per-connection pragmas and the correlated tag look-up for every SQLite journal connection.
                akka.AddSetup(setup);
            }

            akka.AddMasterRole(masterSettings!, masterBlobs!)
                .AddMembershipRecorder(node.DataDir)
                .AddGateway();
        }

        if (node.IsBot)
        {
            akka.AddBotRole(botSettings!, botStorage!, botCapabilities!, masterInThisNode: node.IsMaster);
        }
    });

    // After AddAkka: hosted services start in order, and a reload reaches actors the actor system has started.
    services.AddConfigurationReloader(startup, environment);
}

