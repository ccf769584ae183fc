using System.Collections.Immutable;
using PandaFuzz.Domain.Crashes;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CampaignEvents;

namespace PandaFuzz.Domain.Campaigns;

/// <summary>A campaign's persisted state. <see cref="SeenInputs"/> (16 hex digits of each input's hash) keeps a
/// re-delivered crash report from being counted twice.</summary>
public sealed partial record CampaignState(
    CampaignId Id,
    CampaignSpec Spec,
    CampaignStatus Status,
    ImmutableList<JobId> JobIds,
    ImmutableDictionary<string, JobStatus> EndedJobs,
    ImmutableDictionary<string, UniqueCrash> Crashes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    ImmutableDictionary<string, JobSpec>? AddedJobs = null,
    ImmutableHashSet<string>? SeenInputs = null,
    long CrashReports = 0,
    ImmutableDictionary<string, string>? FormerSignatures = null,
    CampaignRebased? Rebased = null,
    ImmutableHashSet<string>? ReplacedJobs = null,
    ImmutableDictionary<string, BugTriage>? Triage = null,
    ImmutableDictionary<string, ImmutableList<BugBuildCheck>>? Checks = null,
    CoverageSummary? Coverage = null,
    ImmutableList<CoverageFile>? CoverageFiles = null,
    ImmutableList<CoverageSummary>? CoverageHistory = null,
    DateTimeOffset? CoverageRequestedAt = null,
    int? Priority = null)
{
    /// <summary>How long a bug's verification job may take on its bot; its reruns take seconds.</summary>
    public const int VerificationSeconds = 300;

    /// <summary>How many coverage measurements a campaign keeps (their totals, not their files), the oldest dropped first.</summary>
    public const int CoverageHistoryLength = 100;

    /// <summary>The spec as the campaign fuzzes now: after a rebase, the new build's engines and binaries.</summary>
    public CampaignSpec CurrentSpec => Rebased is not { } rebased
        ? Spec with { Priority = Priority ?? Spec.Priority }
        : Spec with
        {
            Target = rebased.Engines[0].Target,
            Engine = rebased.Engines[0].Engine,
            Ensemble = rebased.Engines.Count > 1 ? rebased.Engines : null,
            Build = rebased.Build,
            PinnedBuild = false,
            // The new build's CMPLOG binary, if it has one (an event of an older release knows none).
            Cmplog = rebased.Cmplog,
            Priority = Priority ?? Spec.Priority,
        };

    /// <summary>A job a rebase replaced: it is cancelled, never (re)created.</summary>
    public bool IsReplaced(JobId job) => ReplacedJobs?.Contains(job.Value) == true;

    public bool IsFinished => Status is CampaignStatus.Completed or CampaignStatus.Stopped;

    public IEnumerable<JobId> UnfinishedJobs => JobIds.Where(j => !EndedJobs.ContainsKey(j.Value));

    /// <summary>The builds this campaign's bugs are being rerun on: those with a verification job not ended.</summary>
    public IReadOnlyList<int> VerifyingBuilds =>
        [.. (AddedJobs ?? ImmutableDictionary<string, JobSpec>.Empty)
            .Where(j => j.Value is { Task: JobTask.VerifyBug, Build: not null } && !EndedJobs.ContainsKey(j.Key))
            .Select(j => j.Value.Build!.Value).Distinct().Order()];

    public static CampaignState Created(CampaignCreated e) =>
        new(e.CampaignId, e.Spec, CampaignStatus.Running, [.. e.JobIds], ImmutableDictionary<string, JobStatus>.Empty,
            ImmutableDictionary<string, UniqueCrash>.Empty, e.At, null);

    /// <summary>The events that create a campaign: its jobs are named by index, so a retried create names the same jobs.</summary>
    public static CampaignCreated Create(CampaignId id, CampaignSpec spec, DateTimeOffset now) =>
        new(id, spec, [.. Enumerable.Range(0, spec.Jobs).Select(i => JobId.For(id, i))], now);

    public CampaignState Apply(IPersistedEvent e) => e switch
    {
        CampaignStopRequested => this with { Status = CampaignStatus.Stopping },
        CampaignPriorityChanged p => this with { Priority = p.Priority },
        CampaignJobAdded added => this with
        {
            JobIds = JobIds.Add(added.JobId),
            AddedJobs = (AddedJobs ?? ImmutableDictionary<string, JobSpec>.Empty).SetItem(added.JobId.Value, added.Spec),
            CoverageRequestedAt = added.Spec.Task == JobTask.Coverage ? added.At : CoverageRequestedAt,
        },
        CampaignJobEnded j => this with { EndedJobs = EndedJobs.SetItem(j.JobId.Value, j.Status) },
        CampaignFinished f => this with { Status = f.Status, FinishedAt = f.At },
        BugVerified v => this with
        {
            Checks = (Checks ?? ImmutableDictionary<string, ImmutableList<BugBuildCheck>>.Empty)
                .SetItem(v.Signature, (Checks?.GetValueOrDefault(v.Signature) ?? []).Add(v.Check)),
        },
        BugTriaged t => this with { Triage = (Triage ?? ImmutableDictionary<string, BugTriage>.Empty).SetItem(t.Signature, t.Triage) },
        CoverageMeasured m => WithCoverage(m),
        CampaignRebased r => this with { Rebased = r, ReplacedJobs = (ReplacedJobs ?? []).Union(r.Replaced.Select(j => j.Value)) },
        CrashReported r => Count(r.Crash, r.Sampled, r.At),
        // A success stays when another crash that became the same one failed (an earlier release's size-split crashes).
        CrashMinimized m when Crashes.TryGetValue(Resolve(m.Signature), out var crash) => this with
        {
            Crashes = Crashes.SetItem(crash.Signature, crash with
            {
                Minimization = crash.Minimization is { Input: not null } && m.Outcome.Input is null ? crash.Minimization : m.Outcome,
            }),
        },
        CrashMinimized => this,
        CampaignCreated => this,
        _ => throw new ArgumentException($"Not a campaign event: {e.GetType().Name}", nameof(e)),
    };

    public Decision Stop(DateTimeOffset now)
    {
        if (Status != CampaignStatus.Running)
        {
            return [];
        }

        return UnfinishedJobs.Any()
            ? [new CampaignStopRequested(Id, now)]
            : [new CampaignStopRequested(Id, now), new CampaignFinished(Id, CampaignStatus.Stopped, now)];
    }

    /// <summary>A running campaign's share of free slots; the same priority again changes nothing.</summary>
    public Decision SetPriority(int priority, DateTimeOffset now)
    {
        if (priority is < 1 or > CampaignSpec.MaxPriority)
        {
            return Decision.Reject($"priority must be between 1 and {CampaignSpec.MaxPriority}");
        }

        if (Status != CampaignStatus.Running)
        {
            return Decision.Reject($"campaign {Id} is {Status.ToString().ToLowerInvariant()}: only a running campaign's priority can change");
        }

        return priority == CurrentSpec.Priority ? [] : [new CampaignPriorityChanged(Id, priority, now)];
    }

    /// <summary>Records a job's end once; the last job to end finishes the campaign.</summary>
    public Decision JobEnded(JobId job, JobStatus status, DateTimeOffset now)
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

    public JobSpec SpecOf(JobId job) =>
        AddedJobs is not null && AddedJobs.TryGetValue(job.Value, out var spec) ? spec : Spec.ToJobSpec(JobIds.IndexOf(job));

    /// <summary>libFuzzer's merge where the campaign has a libFuzzer build, else the first engine; a stopping campaign takes no new job.</summary>
    public Decision AddMinimization(int timeLimitSeconds, DateTimeOffset now)
    {
        if (Status == CampaignStatus.Stopping)
        {
            return Decision.Reject($"campaign {Id} is stopping");
        }

        var engines = CurrentSpec.Engines;
        var engine = engines.FirstOrDefault(e => e.Engine == EngineNames.LibFuzzer) ?? engines[0];
        var spec = new JobSpec(engine.Target, engine.Engine, timeLimitSeconds, Spec.MemoryLimitMb, Spec.TimeoutMs, null, JobTask.MinimizeCorpus,
            Options: CurrentSpec.Options, FuzzTarget: CurrentSpec.FuzzTarget);
        return Decision.Accept(new CampaignJobAdded(Id, JobId.For(Id, JobIds.Count), spec, now));
    }

    /// <summary>
    /// Moves the campaign to another build: every unfinished fuzzing job with time left is replaced by a job of the
    /// same engine on the new build for that time (from <paramref name="startedAt"/> by job id; a job not in it has not
    /// started and keeps its whole duration). The same build again changes nothing; only a running campaign moves.
    /// </summary>
    public Decision Rebase(int build, IReadOnlyList<EngineTarget> engines, IReadOnlyDictionary<string, DateTimeOffset> startedAt, DateTimeOffset now,
        BlobId? cmplog = null)
    {
        if (Status != CampaignStatus.Running)
        {
            return Decision.Reject($"campaign {Id} is {Status.ToString().ToLowerInvariant()}: only a running campaign moves to another build");
        }

        if (engines.Count == 0)
        {
            return Decision.Reject("a rebase needs the new build's binary for each engine");
        }

        if (CurrentSpec.Build == build && CurrentSpec.Engines.SequenceEqual(engines) && CurrentSpec.Cmplog == cmplog)
        {
            return [];
        }

        var replaced = UnfinishedJobs
            .Select(job => (Job: job, Spec: SpecOf(job)))
            .Select(j => (j.Job, j.Spec, Left: startedAt.TryGetValue(j.Job.Value, out var started)
                ? j.Spec.DurationSeconds - (int)Math.Ceiling((now - started).TotalSeconds)
                : j.Spec.DurationSeconds))
            .Where(j => j.Spec.Task == JobTask.Fuzz && !IsReplaced(j.Job) && j.Left > 0)
            .ToList();
        var events = new List<IPersistedEvent> { new CampaignRebased(Id, build, engines, [.. replaced.Select(j => j.Job)], now, cmplog) };
        var index = JobIds.Count;
        foreach (var (_, spec, left) in replaced)
        {
            var engine = engines.FirstOrDefault(e => e.Engine == spec.Engine) ?? engines[index % engines.Count];
            events.Add(new CampaignJobAdded(Id, JobId.For(Id, index++), spec with
            {
                Target = engine.Target,
                Engine = engine.Engine,
                DurationSeconds = left,
                Build = build,
                // A replacement keeps its instance (main or secondary), so the same ones run the new build's CMPLOG binary.
                CmplogTarget = engine.Engine == EngineNames.AflPlusPlus ? cmplog : null,
            }, now));
        }

        return Decision.Accept([.. events]);
    }

    public IEnumerable<UniqueCrash> UniqueCrashes => Crashes.Values.OrderBy(c => c.FirstSeen).ThenBy(c => c.Signature, StringComparer.Ordinal);

    /// <summary>By its id, or by the id an earlier release gave it (before access sizes stopped counting).</summary>
    public UniqueCrash? FindCrash(CrashId id) =>
        id.Campaign == Id && Crashes.TryGetValue(Resolve(id.Value[(Id.Value.Length + 1)..]), out var crash) ? crash : null;

    /// <summary>The signature a crash is kept under: itself, or what a former signature became.</summary>
    public string Resolve(string signature) =>
        !Crashes.ContainsKey(signature) && FormerSignatures is not null && FormerSignatures.TryGetValue(signature, out var now) ? now : signature;

    public IReadOnlyList<BugGroup> Bugs() =>
        Triage is null && Checks is null && Spec.Build is null
            ? BugGrouping.Group(Id, Crashes.Values)
            : [.. BugGrouping.Group(Id, Crashes.Values).Select(g => g with { Triage = TriageOf(g), Checks = ChecksOf(g), FoundInBuild = FoundInBuildOf(g) })];

    private IReadOnlyList<BugBuildCheck>? ChecksOf(BugGroup group) =>
        Checks is null ? null : [.. group.Members.SelectMany(m => Checks.GetValueOrDefault(m.Signature) ?? []).OrderBy(c => c.Build).ThenBy(c => c.At)];

    /// <summary>How the job that first found <paramref name="crash"/> reruns an input: the command a user runs to reproduce it.</summary>
    public ReproduceCommand? ReproduceOf(UniqueCrash crash) =>
        JobIds.Contains(crash.First.JobId) ? Engines.Reproduction.For(SpecOf(crash.First.JobId)) : null;

    /// <summary>The build the job that found the bug's leader fuzzed (null before campaigns had builds).</summary>
    private int? FoundInBuildOf(BugGroup group) => JobIds.Contains(group.Leader.First.JobId) ? SpecOf(group.Leader.First.JobId).Build : null;

    /// <summary>Merges the crashes an earlier release's snapshot keeps split by access size (events are re-keyed as they are
    /// read).</summary>
    public CampaignState Rekeyed()
    {
        if (Crashes.Values.All(c => c.First.Finding.SignatureOrFallback == c.Signature))
        {
            return this;
        }

        var crashes = ImmutableDictionary<string, UniqueCrash>.Empty;
        var former = FormerSignatures ?? ImmutableDictionary<string, string>.Empty;
        foreach (var crash in Crashes.Values.OrderBy(c => c.FirstSeen).ThenBy(c => c.Signature, StringComparer.Ordinal))
        {
            var signature = crash.First.Finding.SignatureOrFallback;
            var moved = crash with { Id = CrashId.ForSignature(Id, signature), Signature = signature, AccessSizes = crash.SizesSeen };
            crashes = crashes.SetItem(signature, crashes.TryGetValue(signature, out var kept) ? Merge(kept, moved) : moved);
            if (crash.Signature != signature)
            {
                former = former.SetItem(crash.Signature, signature);
            }
        }

        return this with { Crashes = crashes, FormerSignatures = former };
    }

    public bool HasCounted(BlobId input) => SeenInputs?.Contains(InputKey(input)) == true;

    public bool WantsSample(string signature, int maxSamples, int samplesOnTheirWay) =>
        (Crashes.TryGetValue(Resolve(signature), out var crash) ? crash.Samples.Count : 0) + samplesOnTheirWay < maxSamples;

    /// <summary>Counts a report once per input; late crashes of a finished campaign count too. Only a new signature's first
    /// report keeps its output.</summary>
    public Decision ReportCrash(JobId job, BotId bot, CrashFinding finding, bool sampled, DateTimeOffset now)
    {
        if (HasCounted(finding.Input))
        {
            return [];
        }

        var signature = finding.SignatureOrFallback;
        var known = Crashes.ContainsKey(signature);
        var kept = known ? finding with { Output = string.Empty, Stack = [], Summary = string.Empty } : finding;
        var record = new CrashRecord(CrashId.ForSignature(Id, signature), Id, job, bot, kept);
        return [new CrashReported(Id, record, sampled, now)];
    }

    /// <summary>One minimization per bug group, on the engine and build that found its leader; none while a member is being
    /// or was minimized, while the campaign stops or after it stopped, or before a member has a stored input.</summary>
    public Decision AddCrashMinimization(string signature, int timeLimitSeconds, DateTimeOffset now)
    {
        signature = Resolve(signature);
        var group = Crashes.ContainsKey(signature) ? Bugs().FirstOrDefault(b => b.Members.Any(m => m.Signature == signature)) : null;
        // A stopped campaign takes none either: a finding that was on its way when the user stopped it is counted, not worked on.
        if (Status is CampaignStatus.Stopping or CampaignStatus.Stopped || group is null)
        {
            return [];
        }

        // The leader, unless its first report came without a stored input (under load): then the first member with one.
        var crash = group.Members.FirstOrDefault(m => m.Samples.Count > 0);
        var minimizing = (AddedJobs?.Values ?? []).Where(j => j.Task == JobTask.MinimizeCrash && j.CrashSignature is not null)
            .Select(j => Resolve(j.CrashSignature!)).ToHashSet(StringComparer.Ordinal);
        if (crash is null || group.Members.Any(m => minimizing.Contains(m.Signature)))
        {
            return [];
        }

        signature = crash.Signature;

        var finder = JobIds.Contains(crash.First.JobId) ? SpecOf(crash.First.JobId) : Spec.ToJobSpec(0);
        var spec = finder with
        {
            DurationSeconds = timeLimitSeconds,
            Dictionary = null,
            Task = JobTask.MinimizeCrash,
            CrashInput = crash.Samples[0],
            CrashSignature = signature,
        };
        return [new CampaignJobAdded(Id, JobId.For(Id, JobIds.Count), spec, now)];
    }

    private static string InputKey(BlobId input) => input.Sha256[..16];

    private CampaignState Count(CrashRecord report, bool sampled, DateTimeOffset at)
    {
        var finding = report.Finding;
        var signature = finding.SignatureOrFallback;
        var seen = (SeenInputs ?? ImmutableHashSet<string>.Empty).Add(InputKey(finding.Input));
        var formers = finding.FormerSignature is { } former
            ? (FormerSignatures ?? ImmutableDictionary<string, string>.Empty).SetItem(former, signature)
            : FormerSignatures;
        var size = CrashIdentity.AccessSize(finding.Kind);
        var crash = Crashes.TryGetValue(signature, out var existing)
            ? existing with
            {
                AccessSizes = size is null || existing.SizesSeen.Contains(size) ? existing.AccessSizes : [.. existing.SizesSeen, size],
                Count = existing.Count + 1,
                LastSeen = at > existing.LastSeen ? at : existing.LastSeen,
                Jobs = existing.Jobs.Contains(report.JobId) ? existing.Jobs : [.. existing.Jobs, report.JobId],
                Bots = existing.Bots.Contains(report.BotId) ? existing.Bots : [.. existing.Bots, report.BotId],
                Samples = sampled && !existing.Samples.Contains(finding.Input) ? [.. existing.Samples, finding.Input] : existing.Samples,
                ReproduceAttempts = existing.ReproduceAttempts + finding.ReproduceAttempts,
                Reproduced = existing.Reproduced + finding.Reproduced,
            }
            : new UniqueCrash(
                CrashId.ForSignature(Id, signature), signature, finding.Kind, finding.State ?? string.Empty, finding.Security, 1, at, at,
                [report.JobId], [report.BotId], report with { Id = CrashId.ForSignature(Id, signature) }, sampled ? [finding.Input] : [],
                finding.ReproduceAttempts, finding.Reproduced, AccessSizes: size is null ? null : [size], Location: finding.Location);
        return this with { Crashes = Crashes.SetItem(signature, crash), SeenInputs = seen, CrashReports = CrashReports + 1, FormerSignatures = formers };
    }

    private static UniqueCrash Merge(UniqueCrash first, UniqueCrash second) =>
        first with
        {
            Count = first.Count + second.Count,
            FirstSeen = first.FirstSeen < second.FirstSeen ? first.FirstSeen : second.FirstSeen,
            LastSeen = first.LastSeen > second.LastSeen ? first.LastSeen : second.LastSeen,
            Jobs = [.. first.Jobs.Union(second.Jobs)],
            Bots = [.. first.Bots.Union(second.Bots)],
            Samples = [.. first.Samples.Union(second.Samples)],
            ReproduceAttempts = first.ReproduceAttempts + second.ReproduceAttempts,
            Reproduced = first.Reproduced + second.Reproduced,
            Minimization = first.Minimization is { Input: not null } ? first.Minimization : second.Minimization ?? first.Minimization,
            AccessSizes = [.. first.SizesSeen.Union(second.SizesSeen)],
        };
}

/// <summary>A snapshot from before crashes were de-duplicated (one record per input). Never written now: the serializer
/// upcasts it, counting each record as a report whose input was kept.</summary>
public sealed record CampaignSnapshotV1(
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
    public CampaignState ToState() =>
        Crashes.Aggregate(
            new CampaignState(Id, Spec, Status, JobIds, EndedJobs, ImmutableDictionary<string, UniqueCrash>.Empty, CreatedAt, FinishedAt, AddedJobs),
            (state, crash) => state.Apply(new CrashReported(Id, crash, Sampled: true, crash.Finding.FoundAt)));
}
