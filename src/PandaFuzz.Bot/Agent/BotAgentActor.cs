using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using PandaFuzz.Bot.Configuration;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Outbox;
using PandaFuzz.Bot.Runner;
using PandaFuzz.Bot.Salvage;
using PandaFuzz.Bot.Sandboxing;
using PandaFuzz.Infrastructure.Actors;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Agent;

/// <summary>The bot's representative: checks in with the bot entity and runs each job it accepts under a job runner.</summary>
public sealed class BotAgentActor : ReceiveActor, IWithTimers
{
    public const string Name = "bot-agent";

    private readonly BotIdentity _identity;
    private readonly BotSettings _settings;
    private readonly IReadOnlyDictionary<string, IFuzzingEngine> _engines;
    private readonly BotCapabilities _capabilities;
    private readonly BotStorage _storage;
    private readonly IActorRef _bots;
    private readonly IActorRef _jobs;
    private readonly IActorRef _outbox;
    private readonly IActorRef _corpora;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<JobId, IActorRef> _runners = [];
    private readonly HashSet<JobId> _fuzzing = [];
    private readonly CoreLeases? _cores;
    private readonly Dictionary<JobId, CoreLease> _leases = [];
    private bool _registered;

    /// <param name="cores">The machine's cores for jobs that run a target, or null when they run unpinned.</param>
    public BotAgentActor(BotIdentity identity, BotSettings settings, IReadOnlyList<IFuzzingEngine> engines, BotCapabilities capabilities, BotStorage storage,
        IActorRegistry registry, CoreLeases? cores = null)
    {
        _cores = cores;
        _identity = identity;
        _settings = settings;
        _engines = engines.ToDictionary(e => e.Name);
        _capabilities = capabilities;
        _storage = storage;
        _bots = registry.Get<BotRegion>();
        _jobs = registry.Get<JobRegion>();
        _outbox = registry.Get<OutboxActor>();
        _corpora = registry.Get<CorpusRegion>();

        Receive<CheckInTick>(_ => CheckIn());
        Receive<BotCommands.CheckInAccepted>(_ =>
        {
            if (!_registered)
            {
                _log.Info("Bot {BotId} registered with the master", _identity.Id);
                _registered = true;
            }
        });
        Receive<AgentCommands.StartJob>(Start);
        Receive<AgentCommands.StopJob>(stop =>
        {
            if (_runners.TryGetValue(stop.JobId, out var runner))
            {
                runner.Forward(stop);
            }
        });
        Receive<FuzzingEnded>(ended =>
        {
            _fuzzing.Remove(ended.JobId);
            ReleaseCore(ended.JobId);
            CheckIn();
        });
        Receive<SalvageFinished>(done =>
        {
            if (done.Reported + done.Removed + done.LeftAlone > 0)
            {
                _log.Info("Salvage of the job dirs of an earlier run is done: {Reported} findings reported, {Removed} dirs removed, {LeftAlone} left alone",
                    done.Reported, done.Removed, done.LeftAlone);
            }
        });
        Receive<Terminated>(t =>
        {
            var job = _runners.FirstOrDefault(r => r.Value.Equals(t.ActorRef)).Key;
            if (job is not null)
            {
                _runners.Remove(job);
                _fuzzing.Remove(job);
                ReleaseCore(job);
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private string AgentPath => Self.Path.ToStringWithAddress(Cluster.Get(Context.System).SelfAddress);

    // Where the master fetches the inputs of this bot's reports.
    private string OutboxBlobPath => (new RootActorPath(Cluster.Get(Context.System).SelfAddress) / "user" / BlobServerActor.BotName).ToString();

    protected override void PreStart()
    {
        // Once per start, so an operator reading the log knows what confines the targets here, not what was asked for.
        foreach (var measure in _capabilities.Sandbox?.Measures ?? [])
        {
            _log.Info("Sandbox {Measure} ({Mode}): {State} - {Detail}", measure.Name, measure.Mode, measure.Enforced ? "enforced" : "NOT enforced", measure.Detail);
        }

        if (_capabilities.Sandbox?.RefusesJobs is { } refusal)
        {
            _log.Warning("This bot takes no job: {Reason}", refusal);
        }

        // In-bot engines leave no processes behind: a node of many simulated bots is spared a /proc scan per bot.
        if (_engines.Values.Any(e => e is not IInProcessEngine))
        {
            var killed = _storage.KillLeftovers();
            if (killed > 0)
            {
                _log.Warning("Killed {Count} fuzzer process groups left by an earlier run of this bot", killed);
            }
        }

        // Before the first check-in, so no job of this life starts in a dir whose findings are still owed (see HandOver).
        SalvageActor.HandOver(_storage, Context.System.Serialization, _log);
        var outboxPath = OutboxBlobPath;
        Context.ActorOf(Props.Create(() => new SalvageActor(_identity.Id, _engines, _settings, _storage, outboxPath, _outbox)), SalvageActor.Name);

        Timers.StartPeriodicTimer(CheckInTick.Instance, CheckInTick.Instance, TimeSpan.Zero, _settings.CheckInInterval);
    }

    protected override void PostStop()
    {
        foreach (var lease in _leases.Values)
        {
            lease.Dispose();
        }

        _leases.Clear();
    }

    private void ReleaseCore(JobId job)
    {
        if (_leases.Remove(job, out var lease))
        {
            lease.Dispose();
        }
    }

    // Runners that died are restarted by nobody: the job entity notices the silence and requeues the job.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private void CheckIn()
    {
        var cluster = Cluster.Get(Context.System);
        var address = cluster.SelfAddress;
        _bots.Tell(new BotCommands.CheckIn(_identity.Id, AgentPath, $"{address.Host}:{address.Port}", Environment.MachineName,
            _capabilities, [.. _fuzzing], DateTimeOffset.UtcNow, cluster.SelfUniqueAddress.Uid));
    }

    private void Start(AgentCommands.StartJob start)
    {
        if (_runners.ContainsKey(start.JobId))
        {
            Sender.Tell(new JobCommands.ConfirmJobStarted(start.JobId, _identity.Id, DateTimeOffset.UtcNow));
            return;
        }

        if (!_engines.TryGetValue(start.Spec.Engine, out var engine))
        {
            Sender.Tell(new JobCommands.RefuseJob(start.JobId, _identity.Id, $"engine {start.Spec.Engine} is not installed on this bot"));
            return;
        }

        // The master offers no slot of a bot that cannot isolate; this holds even against a master that predates that.
        var runsTarget = engine is not IInProcessEngine;
        if (runsTarget && _capabilities.Sandbox?.RefusesJobs is { } refusal)
        {
            Sender.Tell(new JobCommands.RefuseJob(start.JobId, _identity.Id, $"this bot takes no job: {refusal}"));
            return;
        }

        if (_fuzzing.Count >= _capabilities.Slots)
        {
            Sender.Tell(new JobCommands.RefuseJob(start.JobId, _identity.Id, $"all {_capabilities.Slots} slots are busy"));
            return;
        }

        var dir = _storage.WorkDirOf(start.JobId);
        // Before the runner exists: its first engine run already starts on the job's core.
        // A fuzzing job's engine run owns a core; the other jobs' runs go where no fuzzer runs (JobLaunchExtras).
        var lease = runsTarget && start.Spec.Task == JobTask.Fuzz ? _cores?.TryTake(dir.Root) : null;
        if (lease is not null)
        {
            _leases[start.JobId] = lease;
        }

        var outboxPath = OutboxBlobPath;
        var runner = Context.ActorOf(
            ActorProps.Of(() => new JobRunnerActor(start, _identity.Id, engine, _settings, dir, _storage.Targets, _storage.Outbox, outboxPath, _jobs, _outbox, _corpora)),
            "job-" + start.JobId.Value);
        Context.Watch(runner);
        _runners[start.JobId] = runner;
        _fuzzing.Add(start.JobId);
        _log.Info("Bot {BotId} starts job {JobId} of campaign {CampaignId} {Core}", _identity.Id, start.JobId, start.CampaignId,
            lease is not null ? $"on core {lease.Core}"
            : _cores is not null && runsTarget && start.Spec.Task == JobTask.Fuzz ? "unpinned: every core is taken"
            : _cores is not null && runsTarget ? "off the fuzzers' cores" : "unpinned");
        if (runsTarget && _capabilities.Sandbox is { Isolated: false })
        {
            _log.Warning("Job {JobId} runs its target WITHOUT network and filesystem isolation: it can reach this node's files and ports " +
                "(pandafuzz.bot.sandbox.allow-unisolated = on)", start.JobId);
        }
        Sender.Tell(new JobCommands.ConfirmJobStarted(start.JobId, _identity.Id, DateTimeOffset.UtcNow));
    }

    private sealed record CheckInTick
    {
        public static readonly CheckInTick Instance = new();
    }
}

/// <summary>Hosting for the bot agents: the node's own, or one per simulated bot.</summary>
public static class BotAgentHosting
{
    public static AkkaConfigurationBuilder AddBotAgents(this AkkaConfigurationBuilder builder, BotSettings settings, BotStorage storage,
        BotCapabilities capabilities, IReadOnlyList<IFuzzingEngine> engines) =>
        builder
            .WithActors((system, registry) =>
            {
                var cores = Cores(settings, system.Log);
                JobLaunchExtras.KeepOffFuzzingCores(cores);
                var agents = Enumerable.Range(0, settings.Simulation.Bots).Select(index =>
                {
                    var botStorage = storage.ForSimulatedBot(index);
                    var botSettings = settings with { Sandbox = settings.Sandbox with { WorkRoot = botStorage.JobsRoot } };
                    return system.ActorOf(
                        Props.Create(() => new BotAgentActor(botStorage.Identity, botSettings, engines, capabilities, botStorage, registry, cores)),
                        index == 0 ? BotAgentActor.Name : $"{BotAgentActor.Name}-{index}");
                }).ToList();

                // Fuzzing stops first whenever the node shuts down: a node downed or dropped by the master must not keep a
                // copy of a job that now runs elsewhere while the cluster phases of the shutdown time out.
                CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "stop-fuzzing", async () =>
                {
                    try
                    {
                        await Task.WhenAll(agents.Select(agent => agent.GracefulStop(settings.StopGrace + settings.StopGrace + TimeSpan.FromSeconds(5))));
                    }
                    catch (TaskCanceledException)
                    {
                        // The agent's children got their stop; what is still alive dies with the actor system.
                    }

                    return Done.Instance;
                });
            });

    private static CoreLeases? Cores(BotSettings settings, Akka.Event.ILoggingAdapter log)
    {
        if (!settings.CpuPinning.Enabled)
        {
            log.Info("Jobs run unpinned (pandafuzz.bot.cpu-pinning.enabled = off)");
            return null;
        }

        var cores = CoreLeases.ForThisMachine(settings.CpuPinning.LockDirOrDefault, settings.CpuPinning.NodeOffFuzzingCores, out var reason);
        if (cores is null)
        {
            log.Warning("Jobs run unpinned: {Reason}", reason);
        }
        else
        {
            log.Info("Each fuzzing job runs on a core of its own, of cores {Cores}, and everything else off them (locks in {LockDir}, shared with this machine's other bots)",
                string.Join(",", cores.Cores), settings.CpuPinning.LockDirOrDefault);
        }

        return cores;
    }
}
