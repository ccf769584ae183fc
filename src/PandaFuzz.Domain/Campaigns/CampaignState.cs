using System.Collections.Immutable;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CampaignEvents;

namespace PandaFuzz.Domain.Campaigns;

/// <summary>A campaign's persisted state: its spec, which of its jobs have ended, and its crashes.</summary>
public sealed record CampaignState(
    CampaignId Id,
    CampaignSpec Spec,
    CampaignStatus Status,
    ImmutableList<JobId> JobIds,
    ImmutableDictionary<string, JobStatus> EndedJobs,
    ImmutableList<CrashRecord> Crashes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    ImmutableDictionary<string, JobSpec>? AddedJobs = null)
{
    public bool IsFinished => Status is CampaignStatus.Completed or CampaignStatus.Stopped;

    /// <summary>Jobs that have not reported a terminal state yet.</summary>
    public IEnumerable<JobId> UnfinishedJobs => JobIds.Where(j => !EndedJobs.ContainsKey(j.Value));

    public static CampaignState Created(CampaignCreated e) =>
        new(e.CampaignId, e.Spec, CampaignStatus.Running, [.. e.JobIds], ImmutableDictionary<string, JobStatus>.Empty, [], e.At, null);

    /// <summary>The events that create a campaign: its jobs are named by index, so a retried create names the same jobs.</summary>
    public static CampaignCreated Create(CampaignId id, CampaignSpec spec, DateTimeOffset now) =>
        new(id, spec, [.. Enumerable.Range(0, spec.Jobs).Select(i => JobId.For(id, i))], now);

    public CampaignState Apply(IPersistedEvent e) => e switch
    {
        CampaignStopRequested => this with { Status = CampaignStatus.Stopping },
        CampaignJobAdded added => this with
        {
            JobIds = JobIds.Add(added.JobId),
            AddedJobs = (AddedJobs ?? ImmutableDictionary<string, JobSpec>.Empty).SetItem(added.JobId.Value, added.Spec),
        },
        CampaignJobEnded j => this with { EndedJobs = EndedJobs.SetItem(j.JobId.Value, j.Status) },
        CampaignFinished f => this with { Status = f.Status, FinishedAt = f.At },
        CrashRecorded c => this with { Crashes = Crashes.Add(c.Crash) },
        CampaignCreated => this,
        _ => throw new ArgumentException($"Not a campaign event: {e.GetType().Name}", nameof(e)),
    };

    public IReadOnlyList<IPersistedEvent> Stop(DateTimeOffset now)
    {
        if (Status != CampaignStatus.Running)
        {
            return [];
        }

        return UnfinishedJobs.Any()
            ? [new CampaignStopRequested(Id, now)]
            : [new CampaignStopRequested(Id, now), new CampaignFinished(Id, CampaignStatus.Stopped, now)];
    }

    /// <summary>Records a job's end once; the last job to end finishes the campaign.</summary>
    public IReadOnlyList<IPersistedEvent> JobEnded(JobId job, JobStatus status, DateTimeOffset now)
    {
        if (!JobIds.Contains(job) || EndedJobs.ContainsKey(job.Value))
        {
            return [];
        }

        var ended = new CampaignJobEnded(Id, job, status, now);
        var remaining = UnfinishedJobs.Count(j => j != job);
        if (remaining > 0 || IsFinished)
        {
            return [ended];
        }

        var final = Status == CampaignStatus.Stopping ? CampaignStatus.Stopped : CampaignStatus.Completed;
        return [ended, new CampaignFinished(Id, final, now)];
    }

    /// <summary>The spec of any of the campaign's jobs: fuzzing jobs by index, added jobs as recorded.</summary>
    public JobSpec SpecOf(JobId job) =>
        AddedJobs is not null && AddedJobs.TryGetValue(job.Value, out var spec) ? spec : Spec.ToJobSpec(JobIds.IndexOf(job));

    /// <summary>
    /// A corpus minimization job: libFuzzer's merge where the campaign has a libFuzzer build, else the first engine.
    /// It runs while the campaign runs, or after it has finished; a stopping campaign takes no new job.
    /// </summary>
    public Decision AddMinimization(int timeLimitSeconds, DateTimeOffset now)
    {
        if (Status == CampaignStatus.Stopping)
        {
            return Decision.Reject($"campaign {Id} is stopping");
        }

        var engine = Spec.Engines.FirstOrDefault(e => e.Engine == EngineNames.LibFuzzer) ?? Spec.Engines[0];
        var spec = new JobSpec(engine.Target, engine.Engine, timeLimitSeconds, Spec.MemoryLimitMb, Spec.TimeoutMs, null, JobTask.MinimizeCorpus);
        return Decision.Accept(new CampaignJobAdded(Id, JobId.For(Id, JobIds.Count), spec, now));
    }

    public CrashRecord? FindCrash(CrashId id) => Crashes.FirstOrDefault(c => c.Id == id);

    /// <summary>A crash is recorded once per input; late crashes of a finished campaign are still kept.</summary>
    public IReadOnlyList<IPersistedEvent> RecordCrash(JobId job, BotId bot, CrashFinding finding, DateTimeOffset now)
    {
        var id = CrashId.For(Id, finding.Input);
        return FindCrash(id) is not null ? [] : [new CrashRecorded(Id, new CrashRecord(id, Id, job, bot, finding), now)];
    }
}
