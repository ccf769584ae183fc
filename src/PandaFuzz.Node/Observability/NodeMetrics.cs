using System.Diagnostics;
using System.Reflection;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Persistence;
using ReadModelBacklog = PandaFuzz.Master.Projection.ReadModelBacklog;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;
using Prometheus;
using Serilog;

namespace PandaFuzz.Node.Observability;

/// <summary>
/// Cluster gauges filled at scrape time from what this node sees (cluster view; on a master the read model, scheduler,
/// projection and live job stats; on a bot its outbox). A refresh is reused for <see cref="ObservabilitySettings.MetricsCache"/>
/// and each question times out after <see cref="ObservabilitySettings.CheckTimeout"/>, so a scrape stays cheap and bounded.
/// </summary>
public sealed class NodeMetrics(IServiceProvider services, ObservabilitySettings settings)
{
    public const int MaxJobsAsked = 256;

    private static readonly Gauge Members = Metrics.CreateGauge("pandafuzz_cluster_members", "Cluster members this node sees, by member status.", "status");
    private static readonly Gauge Unreachable = Metrics.CreateGauge("pandafuzz_cluster_unreachable_members", "Cluster members this node's failure detector finds unreachable.");
    private static readonly Gauge Bots = Metrics.CreateGauge("pandafuzz_bots", "Bots known to the master's read model, by state.", "state");
    private static readonly Gauge Jobs = Metrics.CreateGauge("pandafuzz_jobs", "Jobs in the master's read model, by state.", "state");
    private static readonly Gauge Campaigns = Metrics.CreateGauge("pandafuzz_campaigns", "Campaigns in the master's read model, by state.", "state");
    private static readonly Gauge QueueLength = Metrics.CreateGauge("pandafuzz_scheduler_pending_jobs", "Jobs waiting in the scheduler's queue for a bot.");
    private static readonly Gauge OldestWait = Metrics.CreateGauge("pandafuzz_scheduler_oldest_pending_seconds", "How long the longest-waiting job in the scheduler's queue has waited (0: none waits).");
    private static readonly Gauge FreeSlots = Metrics.CreateGauge("pandafuzz_scheduler_free_slots", "Free job slots on reachable bots, as the scheduler counts them.");
    private static readonly Gauge SchedulerBots = Metrics.CreateGauge("pandafuzz_scheduler_bots", "Bots the scheduler currently knows (checked in and not lost).");
    private static readonly Gauge ExecsPerSecond = Metrics.CreateGauge("pandafuzz_campaign_execs_per_second", "Executions per second of a campaign's running jobs, summed.", "campaign");
    private static readonly Gauge Coverage = Metrics.CreateGauge("pandafuzz_campaign_coverage", "Largest coverage (libFuzzer cov, AFL++ edges) among a campaign's running jobs.", "campaign");
    private static readonly Gauge CorpusInputs = Metrics.CreateGauge("pandafuzz_campaign_corpus_inputs", "Largest corpus (inputs) among a campaign's running jobs.", "campaign");
    private static readonly Gauge RunningJobs = Metrics.CreateGauge("pandafuzz_campaign_running_jobs", "Running jobs of a campaign.", "campaign");
    private static readonly Counter Crashes = Metrics.CreateCounter("pandafuzz_campaign_crashes_total", "Crash reports a campaign counted (each crashing input once).", "campaign");
    private static readonly Counter ExecsTotal = Metrics.CreateCounter("pandafuzz_campaign_execs_total",
        "Executions of a campaign: its ended jobs' final counts plus its running jobs' live ones (rate() it for exec/s over any window).", "campaign");
    private static readonly Gauge LibFuzzerFeatures = Metrics.CreateGauge("pandafuzz_campaign_libfuzzer_features",
        "Largest libFuzzer feature count (ft) among a campaign's running libFuzzer jobs.", "campaign");
    private static readonly Gauge AflPlusPlusEdges = Metrics.CreateGauge("pandafuzz_campaign_aflplusplus_edges",
        "Largest count of edges found among a campaign's running AFL++ jobs.", "campaign");
    private static readonly Gauge CampaignInfo = Metrics.CreateGauge("pandafuzz_campaign_info",
        "1 per running campaign, with its name, target and engine: join on campaign to show names instead of ids.", "campaign", "name", "target", "engine");
    private static readonly Gauge BuildInfo = Metrics.CreateGauge("pandafuzz_build_info", "1, with this node's PandaFuzz version and roles.", "version", "roles");
    private static readonly Gauge UniqueCrashes = Metrics.CreateGauge("pandafuzz_campaign_unique_crashes", "Unique crashes (distinct signatures) of a campaign.", "campaign");
    private static readonly Gauge ProjectionPending = Metrics.CreateGauge("pandafuzz_read_model_pending_events", "Journal events the read model has not projected yet.");
    private static readonly Gauge ProjectionLag = Metrics.CreateGauge("pandafuzz_read_model_lag_seconds", "Age of the oldest journal event the read model does not hold yet (0: caught up).");
    private static readonly Gauge OutboxMessages = Metrics.CreateGauge("pandafuzz_outbox_messages", "Messages in the bot's durable outbox not yet acknowledged by the master.");
    private static readonly Gauge OutboxOldest = Metrics.CreateGauge("pandafuzz_outbox_oldest_message_age_seconds", "Age of the oldest message in the bot's outbox (0: empty).");
    private static readonly Gauge OutboxBreakerOpen = Metrics.CreateGauge("pandafuzz_outbox_breaker_open", "1 while the outbox's circuit breaker towards the master is open or half-open.");
    private static readonly Counter SourceFailures = Metrics.CreateCounter("pandafuzz_metrics_source_failures_total", "Scrape-time questions that failed or timed out, by source.", "source");

    private static NodeMetrics? _current;
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly HashSet<string> _campaignLabels = [];
    private readonly Dictionary<string, string[]> _infoLabels = new(StringComparer.Ordinal);
    private long _refreshedAt = long.MinValue;

    static NodeMetrics()
    {
        // One callback for the process: a node downed and started again gets a new host, whose metrics take over.
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async cancel =>
        {
            if (_current is { } current)
            {
                await current.RefreshAsync(cancel);
            }
        });
    }

    /// <summary>Keeps prometheus-net's .NET runtime metrics out (their names fail <c>promtool check metrics</c>); call before any metric exists.</summary>
    public static void SuppressDefaults() =>
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressMeters = true, SuppressDebugMetrics = true });

    public void Activate()
    {
        _current = this;
        var version = typeof(NodeMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var roles = string.Join(',', services.GetRequiredService<NodeSettings>().Roles.Order(StringComparer.Ordinal));
        BuildInfo.WithLabels(version.Split('+')[0], roles).Set(1);
    }

    public void Deactivate() => Interlocked.CompareExchange(ref _current, null, this);

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _refreshedAt)) < settings.MetricsCache && _refreshedAt != long.MinValue)
        {
            return;
        }

        await _refreshing.WaitAsync(cancellationToken);
        try
        {
            if (_refreshedAt != long.MinValue && Stopwatch.GetElapsedTime(_refreshedAt) < settings.MetricsCache)
            {
                return;
            }

            var system = services.GetRequiredService<ActorSystem>();
            var registry = services.GetRequiredService<ActorRegistry>();
            Try("cluster", () => ClusterView(system));
            var tasks = new List<Task>();
            if (services.GetService<ReadModelQueries>() is { } queries)
            {
                tasks.Add(TryAsync("read-model", () => ReadModelAsync(queries, registry, cancellationToken)));
            }

            if (registry.TryGet<SchedulerProxy>(out var scheduler))
            {
                tasks.Add(TryAsync("scheduler", () => SchedulerAsync(scheduler, cancellationToken)));
            }

            if (services.GetService<MasterStorage>() is not null)
            {
                tasks.Add(TryAsync("read-model-backlog", () => BacklogAsync(system, cancellationToken)));
            }

            if (registry.TryGet<OutboxActor>(out var outbox))
            {
                tasks.Add(TryAsync("outbox", () => OutboxAsync(outbox, cancellationToken)));
            }

            await Task.WhenAll(tasks);
            _refreshedAt = Stopwatch.GetTimestamp();
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private static void ClusterView(ActorSystem system)
    {
        var state = Cluster.Get(system).State;
        foreach (var status in Enum.GetValues<MemberStatus>())
        {
            Members.WithLabels(Name(status)).Set(state.Members.Count(m => m.Status == status));
        }

        Unreachable.Set(state.Unreachable.Count);
    }

    private async Task ReadModelAsync(ReadModelQueries queries, ActorRegistry registry, CancellationToken cancellationToken)
    {
        var summary = await Task.Run(queries.Summary, cancellationToken).WaitAsync(settings.CheckTimeout, cancellationToken);
        SetAll<CampaignStatus>(Campaigns, summary.CampaignsByStatus);
        SetAll<JobStatus>(Jobs, summary.JobsByStatus);
        SetAll<BotStatus>(Bots, summary.BotsByStatus);

        // Live stats are in the job entities' memory, not in the read model: ask the running jobs, a bounded number.
        var stats = new Dictionary<JobId, (string Engine, FuzzerStats Stats)>();
        if (registry.TryGet<JobRegion>(out var jobs))
        {
            var asked = summary.ActiveCampaigns.SelectMany(c => c.RunningJobs).Take(MaxJobsAsked)
                .Select(async id => (Id: id, View: await AskOrNull<JobQueries.JobView>(jobs, new JobQueries.GetJob(id), cancellationToken)))
                .ToList();
            foreach (var (id, view) in await Task.WhenAll(asked))
            {
                if (view?.Stats is { } s)
                {
                    stats[id] = (view.Engine, s);
                }
            }
        }

        var seen = new HashSet<string>();
        foreach (var campaign in summary.ActiveCampaigns)
        {
            var label = campaign.Id.Value;
            seen.Add(label);
            var byEngine = campaign.RunningJobs.Where(stats.ContainsKey).Select(j => stats[j]).ToList();
            var jobStats = byEngine.Select(j => j.Stats).ToList();
            ExecsPerSecond.WithLabels(label).Set(jobStats.Sum(s => s.ExecsPerSecond));
            ExecsTotal.WithLabels(label).IncTo(campaign.EndedExecs + jobStats.Sum(s => s.Execs));
            SetOrRemove(LibFuzzerFeatures, label, byEngine.Where(j => j.Engine == EngineNames.LibFuzzer).Select(j => j.Stats.Features));
            SetOrRemove(AflPlusPlusEdges, label, byEngine.Where(j => j.Engine == EngineNames.AflPlusPlus).Select(j => j.Stats.Coverage));
            string[] info = [label, campaign.Name, campaign.Target, campaign.Engine];
            if (_infoLabels.TryGetValue(label, out var shown) && !shown.SequenceEqual(info))
            {
                CampaignInfo.RemoveLabelled(shown);
            }

            CampaignInfo.WithLabels(info).Set(1);
            _infoLabels[label] = info;
            Coverage.WithLabels(label).Set(jobStats.Select(s => s.Coverage).DefaultIfEmpty(0).Max());
            CorpusInputs.WithLabels(label).Set(jobStats.Select(s => s.CorpusUnits).DefaultIfEmpty(0).Max());
            RunningJobs.WithLabels(label).Set(campaign.RunningJobs.Count);
            Crashes.WithLabels(label).IncTo(campaign.CrashReports);
            UniqueCrashes.WithLabels(label).Set(campaign.UniqueCrashes);
        }

        // A campaign that has ended leaves the per-campaign series; its totals stay in the read model and the API.
        foreach (var gone in _campaignLabels.Except(seen).ToList())
        {
            ExecsPerSecond.RemoveLabelled(gone);
            Coverage.RemoveLabelled(gone);
            CorpusInputs.RemoveLabelled(gone);
            RunningJobs.RemoveLabelled(gone);
            Crashes.RemoveLabelled(gone);
            UniqueCrashes.RemoveLabelled(gone);
            ExecsTotal.RemoveLabelled(gone);
            LibFuzzerFeatures.RemoveLabelled(gone);
            AflPlusPlusEdges.RemoveLabelled(gone);
            if (_infoLabels.Remove(gone, out var info))
            {
                CampaignInfo.RemoveLabelled(info);
            }

            _campaignLabels.Remove(gone);
        }

        _campaignLabels.UnionWith(seen);
    }

    /// <summary>The largest value, or no series when the campaign runs no job of that engine.</summary>
    private static void SetOrRemove(Gauge gauge, string campaign, IEnumerable<long> values)
    {
        var all = values.ToList();
        if (all.Count == 0)
        {
            gauge.RemoveLabelled(campaign);
        }
        else
        {
            gauge.WithLabels(campaign).Set(all.Max());
        }
    }

    private async Task SchedulerAsync(IActorRef scheduler, CancellationToken cancellationToken)
    {
        var queue = await scheduler.Ask<SchedulerMessages.QueueView>(SchedulerMessages.GetQueue.CountsOnly, settings.CheckTimeout, cancellationToken);
        QueueLength.Set(queue.Total);
        OldestWait.Set(queue.OldestPendingSince is { } since ? Math.Max(0, (DateTimeOffset.UtcNow - since).TotalSeconds) : 0);
        FreeSlots.Set(queue.FreeSlots);
        SchedulerBots.Set(queue.BotsKnown);
    }

    private async Task BacklogAsync(ActorSystem system, CancellationToken cancellationToken)
    {
        var backlog = await Task.Run(() => ReadModelBacklog.Measure(system.Settings.Config, DateTimeOffset.UtcNow), cancellationToken)
            .WaitAsync(settings.CheckTimeout, cancellationToken);
        ProjectionPending.Set(backlog.PendingEvents);
        ProjectionLag.Set(backlog.Lag.TotalSeconds);
    }

    private async Task OutboxAsync(IActorRef outbox, CancellationToken cancellationToken)
    {
        var backlog = await outbox.Ask<OutboxQueries.Backlog>(OutboxQueries.GetBacklog.Instance, settings.CheckTimeout, cancellationToken);
        OutboxMessages.Set(backlog.Count);
        OutboxOldest.Set(backlog.Count == 0 ? 0 : backlog.OldestAge.TotalSeconds);
        OutboxBreakerOpen.Set(backlog.Breaker == OutboxBreakerState.Closed ? 0 : 1);
    }

    private async Task<T?> AskOrNull<T>(IActorRef actor, object message, CancellationToken cancellationToken) where T : class
    {
        try
        {
            return await actor.Ask(message, settings.CheckTimeout, cancellationToken) as T;
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            SourceFailures.WithLabels("job").Inc();
            return null;
        }
    }

    private static void SetAll<TStatus>(Gauge gauge, IReadOnlyDictionary<string, long> counts) where TStatus : struct, Enum
    {
        foreach (var status in Enum.GetValues<TStatus>())
        {
            var name = status.ToString().ToLowerInvariant();
            gauge.WithLabels(name).Set(counts.TryGetValue(name, out var n) ? n : 0);
        }
    }

    private static string Name(MemberStatus status) => status.ToString().ToLowerInvariant();

    private static void Try(string source, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            SourceFailures.WithLabels(source).Inc();
            Log.Warning("Metrics from {Source} failed: {Reason}", source, e.Message);
        }
    }

    private static async Task TryAsync(string source, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e)
        {
            SourceFailures.WithLabels(source).Inc();
            Log.Warning("Metrics from {Source} failed: {Reason}", source, e.Message);
        }
    }
}
