using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using PandaFuzz.Gateway;
using PandaFuzz.Gateway.Access;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Targets;
using PandaFuzz.Node.Observability;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Node.Tests;

/// <summary>
/// A master's HTTP side on a real Kestrel (loopback, port 0) with every route Program.cs maps, over an empty read model
/// and blob store in a temp dir. Target requests reach real target entities (in-memory journal); nothing else has an
/// entity behind it here.
/// </summary>
public sealed class MasterApiHost : IAsyncDisposable
{
    public const string Token = "openapi-test-token-0123456789";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "pandafuzz-api-" + Guid.NewGuid().ToString("N"));
    private readonly ActorSystem _system = ActorSystem.Create("api-test");

    private MasterApiHost(WebApplication app) => App = app;

    public WebApplication App { get; private set; }

    public string Dir => _dir;

    public static async Task<MasterApiHost> StartAsync()
    {
        var host = new MasterApiHost(null!);
        Directory.CreateDirectory(host._dir);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddPandaFuzzApi();
        builder.Services.AddApiAuthorization(ApiAccess.From(Akka.Configuration.ConfigurationFactory.ParseString(
            $"pandafuzz.master.api {{ tokens = [\"{Token}\"], reads-require-token = off }}"), _ => null, host._dir));
        // The shipped master.conf read directly: NodeConfiguration.Load follows PANDAFUZZ_HOCON_DIR and PANDAFUZZ_POSTGRES,
        // which other test classes running at the same time set.
        var settings = MasterSettings.From(Akka.Configuration.ConfigurationFactory.ParseString(
            File.ReadAllText(Path.Combine(ShippedConfigurationTests.RepositoryRoot, "hocon", "master.conf"))));
        builder.Services.AddSingleton<IRequiredActor<GatewayActor>>(new TargetsGateway(host._system.ActorOf(Props.Create(() => new TargetsOnly(settings)))));
        builder.Services.AddSingleton(new ContentAddressedStore(Path.Combine(host._dir, "blobs")));
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(new ReadModelQueries(ReadModelDatabase.In(host._dir)));
        builder.Services.AddSingleton(host._system);
        builder.Services.AddHealthChecks();
        host.App = builder.Build();
        host.App.UseMasterHttp(host.App.Services.GetRequiredService<ApiAccess>(), "127.0.0.1");
        await host.App.StartAsync();
        return host;
    }

    /// <summary>A client of the API; with <paramref name="token"/>, it sends the test's token.</summary>
    public HttpClient Client(bool token = false)
    {
        var http = new HttpClient { BaseAddress = new Uri(App.Urls.Single()) };
        if (token)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        }

        return http;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await _system.Terminate();
        Directory.Delete(_dir, recursive: true);
    }

    private sealed class TargetsGateway(IActorRef gateway) : IRequiredActor<GatewayActor>
    {
        public IActorRef ActorRef => gateway;

        public Task<IActorRef> GetAsync(CancellationToken cancellationToken = default) => Task.FromResult(gateway);
    }

    /// <summary>The gateway's routing for target messages: one real entity per target name.</summary>
    private sealed class TargetsOnly : ReceiveActor
    {
        public TargetsOnly(MasterSettings settings) =>
            Receive<IWithTargetName>(m =>
            {
                var name = Uri.EscapeDataString(m.TargetName);
                var entity = Context.Child(name);
                if (entity.IsNobody())
                {
                    entity = Context.ActorOf(Props.Create(() => new TargetEntity(m.TargetName, settings)), name);
                }

                entity.Forward(m);
            });
    }
}
