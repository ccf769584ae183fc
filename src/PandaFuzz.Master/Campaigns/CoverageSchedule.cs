using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using PandaFuzz.Infrastructure.Sharding;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Master.Campaigns;

/// <summary>
/// Keeps running campaigns' coverage reports fresh (<c>pandafuzz.master.coverage.interval</c>): every
/// <see cref="CoverageSettings.CheckEvery"/> it lists the running campaigns from the read model and asks each one that
/// is due to <see cref="CampaignCommands.CheckCoverage"/>. The campaign decides (it owns its measurements, so two
/// masters asking at once still start one) and says when it is next due; until then it is not woken again, so a campaign
/// entity that left memory is read back from the journal about once per interval, not once per check.
/// A campaign's measurement at its end is its own doing.
/// </summary>
public sealed class CoverageSchedule : ReceiveActor, IWithTimers
{
    public const string Name = "coverage-schedule";

    /// <summary>A campaign that has not answered by then is asked again.</summary>
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromMinutes(5);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<CampaignId, DateTimeOffset> _nextCheck = [];
    private readonly CoverageSettings _settings;
    private bool _listing;

    public CoverageSchedule(ReadModelQueries queries, IActorRef campaigns, CoverageSettings settings)
    {
        _settings = settings;
        Receive<Tick>(_ =>
        {
            if (_listing)
            {
                return;
            }

            _listing = true;
            Task.Run(queries.RunningCampaignsOfTargets).PipeTo(Self, success: ids => new Listed(ids, null), failure: e => new Listed([], e));
        });
        Receive<Listed>(listed =>
        {
            _listing = false;
            if (listed.Failure is { } failure)
            {
                _log.Warning("Could not list the running campaigns to keep their coverage fresh, trying again at the next check: {Reason}", failure.Message);
                return;
            }

            var now = DateTimeOffset.UtcNow;
            foreach (var gone in _nextCheck.Keys.Except(listed.Campaigns).ToList())
            {
                _nextCheck.Remove(gone);
            }

            foreach (var campaign in listed.Campaigns)
            {
                if (!_nextCheck.TryGetValue(campaign, out var next) || next <= now)
                {
                    _nextCheck[campaign] = now + AnswerWithin;
                    campaigns.Tell(new CampaignCommands.CheckCoverage(campaign));
                }
            }
        });
        Receive<CampaignCommands.CoverageChecked>(checkedIn =>
        {
            if (_nextCheck.ContainsKey(checkedIn.CampaignId))
            {
                // Not due by itself (its build is not a target's, or it ended): looked at again after an interval.
                _nextCheck[checkedIn.CampaignId] = checkedIn.NextCheck ?? DateTimeOffset.UtcNow + (_settings.Interval ?? AnswerWithin);
            }
        });
        Receive<CommandRejected>(_ => { });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, _settings.CheckEvery);

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record Listed(IReadOnlyList<CampaignId> Campaigns, Exception? Failure);
}

/// <summary>Hosting of the coverage schedule, one per master node, when coverage has an interval and the journal a read model.</summary>
public static class CoverageScheduleHosting
{
    public static AkkaConfigurationBuilder AddCoverageSchedule(this AkkaConfigurationBuilder builder, MasterSettings settings) =>
        builder.WithActors((system, registry) =>
        {
            if (settings.Coverage.Interval is not null && ConfiguredStorage.ReadModelOf(system.Settings.Config) is { } database)
            {
                var campaigns = registry.Get<CampaignRegion>();
                system.ActorOf(Props.Create(() => new CoverageSchedule(new ReadModelQueries(database), campaigns, settings.Coverage)), CoverageSchedule.Name);
            }
        });
}
