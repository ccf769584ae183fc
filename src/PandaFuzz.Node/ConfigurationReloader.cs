using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Notifications;
using PandaFuzz.Node.Observability;
using PandaFuzz.Protocol;
using Serilog.Events;

namespace PandaFuzz.Node;

/// <summary>What a reload changes: the safe settings to apply (null: unchanged) and the keys needing a restart; pure, so tested without a node.</summary>
public sealed record ReloadPlan(
    LoggingSettings? Logging,
    WebhookSettings? Webhooks,
    SchedulerSettings? Scheduler,
    IReadOnlyList<string> NeedRestart)
{
    /// <summary>Keys that apply at run time; every other key needs a restart.</summary>
    public static readonly IReadOnlyList<string> SafeSections =
        [$"{LoggingSettings.Section}.levels", $"{SchedulerSettings.Section}.campaign-weights", $"{MasterSettings.Section}.webhooks"];

    public bool IsEmpty => Logging is null && Webhooks is null && Scheduler is null && NeedRestart.Count == 0;

    /// <summary>
    /// Safe settings compare with what was last applied, the others with what the node started with, so a change
    /// needing a restart is reported on every reload until then.
    /// </summary>
    public static ReloadPlan Between(NodeStartupSettings applied, NodeStartupSettings started, NodeStartupSettings reloaded)
    {
        var levelsBefore = Flatten(applied.Config, $"{LoggingSettings.Section}.levels");
        var levelsAfter = Flatten(reloaded.Config, $"{LoggingSettings.Section}.levels");
        var logging = SameEntries(levelsBefore, levelsAfter) ? null : reloaded.Observability.Logging;
        var webhooks = reloaded.Master is { } m && applied.Master is { } a && !m.Webhooks.Equals(a.Webhooks) ? m.Webhooks : null;
        var scheduler = reloaded.Master is { } ms && applied.Master is { } ams && !ms.Scheduler.Equals(ams.Scheduler) ? ms.Scheduler : null;

        var before = Flatten(started.Config, "");
        var after = Flatten(reloaded.Config, "");
        var restart = before.Keys.Union(after.Keys)
            .Where(k => !SafeSections.Any(s => k == s || k.StartsWith(s + ".", StringComparison.Ordinal)))
            .Where(k => before.GetValueOrDefault(k) != after.GetValueOrDefault(k))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (!Equals(started.RemoteTls?.Certificate.Thumbprint, reloaded.RemoteTls?.Certificate.Thumbprint) && !restart.Contains(RemoteTlsSettings.Section))
        {
            restart.Add(RemoteTlsSettings.Section);
        }

        return new ReloadPlan(logging, webhooks, scheduler, restart);
    }

    private static bool SameEntries(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(e => b.TryGetValue(e.Key, out var v) && v == e.Value);

    /// <summary>Every leaf under <paramref name="path"/> ("" for all) as full key → value text.</summary>
    public static Dictionary<string, string> Flatten(Config config, string path)
    {
        var leaves = new Dictionary<string, string>(StringComparer.Ordinal);
        var root = path.Length == 0 ? config.Root : config.HasPath(path) ? config.GetValue(path) : null;
        if (root is not null)
        {
            Walk(root, path, leaves);
        }

        return leaves;
    }

    private static void Walk(HoconValue value, string path, Dictionary<string, string> leaves)
    {
        if (value.IsObject())
        {
            foreach (var (key, child) in value.GetObject().Items)
            {
                var name = key.Contains('.') ? $"\"{key}\"" : key;
                Walk(child, path.Length == 0 ? name : $"{path}.{name}", leaves);
            }

            return;
        }

        leaves[path] = value.ToString();
    }
}

/// <summary>
/// Reloads the configuration when the operator's file changes (polled) or on SIGHUP, through the start-up path: a bad
/// value refuses the whole reload, naming the key, and the running values stay. Log levels, scheduler weights and
/// webhooks apply at once; any other change is logged as needing a restart.
/// </summary>
public sealed class ConfigurationReloader(
    NodeStartupSettings startedWith,
    IReadOnlyDictionary<string, string> environment,
    ActorSystem system,
    ILogger<ConfigurationReloader> log) : IHostedService, IDisposable
{
    public const string Section = "pandafuzz.config-reload";

    private readonly Lock _gate = new();
    private readonly NodeStartupSettings _started = startedWith;
    private NodeStartupSettings _applied = startedWith;
    private PosixSignalRegistration? _hangUp;
    private Timer? _poll;
    private string? _fingerprint;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            log.LogInformation("SIGHUP: reloading the configuration");
            _ = Task.Run(Reload);
        });

        if (NodeConfiguration.OperatorFile(Env) is { } file)
        {
            _fingerprint = NodeStartupSettings.Fingerprint(file);
            var interval = _started.ReloadPollInterval;
            _poll = new Timer(_ => Poll(file), null, interval, interval);
            log.LogInformation("Watching {ConfigFile} for configuration changes every {Interval}", file, interval);
            if (_fingerprint != _started.OperatorFileFingerprint)
            {
                // Changed since start-up, and this host is new (the node was downed and started again): catch up.
                Reload();
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _poll?.Dispose();
        _hangUp?.Dispose();
    }

    /// <summary>Reads, validates and applies the configuration again; returns what it did.</summary>
    public ReloadPlan? Reload()
    {
        lock (_gate)
        {
            NodeStartupSettings reloaded;
            try
            {
                reloaded = NodeStartupSettings.Load(_started.Node, environment);
            }
            catch (Exception e) when (e is NodeConfigurationException or ConfigurationException)
            {
                log.LogError("Configuration reload refused, the running settings stay: {Problem}", e.Message);
                return null;
            }
            catch (Exception e)
            {
                // A reload runs on a timer or a signal: nothing may escape and end the node.
                log.LogError(e, "Configuration reload failed, the running settings stay");
                return null;
            }

            var plan = ReloadPlan.Between(_applied, _started, reloaded);
            Apply(plan);
            foreach (var key in plan.NeedRestart)
            {
                log.LogWarning("{Key} changed; needs a restart", key);
            }

            if (plan.IsEmpty)
            {
                log.LogInformation("Configuration reloaded: nothing changed");
            }

            _applied = reloaded;
            return plan;
        }
    }

    private void Apply(ReloadPlan plan)
    {
        if (plan.Logging is { } logging)
        {
            var levels = NodeLogging.Levels;
            var changes = levels.Overrides.Keys.ToDictionary(k => k, _ => (LogEventLevel?)null, StringComparer.Ordinal);
            foreach (var (name, level) in logging.Levels)
            {
                changes[name] = level;
            }

            levels.Set(logging.Default, changes);
            log.LogInformation("Log levels reloaded: default {Default}, {Levels}", logging.Default,
                string.Join(", ", logging.Levels.Select(l => $"{l.Key}={l.Value}")));
        }

        var registry = ActorRegistry.For(system);
        if (plan.Webhooks is { } webhooks && registry.TryGet<CrashNotifier>(out var notifier))
        {
            notifier.Tell(webhooks);
            log.LogInformation("Webhook targets reloaded: {Webhooks}", webhooks.Urls.Count == 0 ? "none" : string.Join(", ", webhooks.Urls.Select(PandaFuzz.Infrastructure.Logging.SecretUrls.Display)));
        }

        if (plan.Scheduler is { } scheduler && registry.TryGet<SchedulerProxy>(out var proxy))
        {
            proxy.Tell(new SchedulerMessages.SetCampaignWeights(scheduler.CampaignWeights));
            log.LogInformation("Scheduler weights reloaded: {Weights}", scheduler.CampaignWeights.Count == 0
                ? "none"
                : string.Join(", ", scheduler.CampaignWeights.Select(w => $"{w.Key}={w.Value}")));
        }
    }

    private void Poll(string file)
    {
        var now = NodeStartupSettings.Fingerprint(file);
        if (now is null || now == _fingerprint)
        {
            return;
        }

        _fingerprint = now;
        log.LogInformation("{ConfigFile} changed: reloading the configuration", file);
        Reload();
    }

    private string? Env(string name) => environment.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
}

/// <summary>Hosting for the reloader.</summary>
public static class ConfigurationReloaderHosting
{
    public static IServiceCollection AddConfigurationReloader(this IServiceCollection services, NodeStartupSettings started, IReadOnlyDictionary<string, string> environment) =>
        services.AddHostedService(sp => new ConfigurationReloader(
            started, environment, sp.GetRequiredService<ActorSystem>(), sp.GetRequiredService<ILogger<ConfigurationReloader>>()));
}
