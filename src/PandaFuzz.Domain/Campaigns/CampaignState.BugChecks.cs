using System.Collections.Immutable;
using PandaFuzz.Protocol;
using static PandaFuzz.Protocol.CampaignEvents;

namespace PandaFuzz.Domain.Campaigns;

/// <summary>What a campaign decides of its bugs: their reruns on a new build (fixed, still open, regressed) and their triage.</summary>
public sealed partial record CampaignState
{
    /// <summary>
    /// A verification job per bug that is open, fixed or regressed and has a sample input, on the engine that found it
    /// with the build's binary for that engine; none for a bug checked on that build already or being checked.
    /// </summary>
    public Decision VerifyBuild(TargetBuild build, DateTimeOffset now)
    {
        if (Status == CampaignStatus.Stopping)
        {
            return Decision.Reject($"campaign {Id} is stopping");
        }

        var pending = (AddedJobs ?? ImmutableDictionary<string, JobSpec>.Empty)
            .Where(j => j.Value.Task == JobTask.VerifyBug && j.Value.Build == build.Number && !EndedJobs.ContainsKey(j.Key))
            .Select(j => j.Value.CrashSignature)
            .ToHashSet();
        var events = new List<IPersistedEvent>();
        var index = JobIds.Count;
        foreach (var bug in Bugs())
        {
            if (bug.Status is not (BugStatus.Open or BugStatus.Fixed or BugStatus.Regressed)
                || bug.Checks?.Any(c => c.Build == build.Number) == true
                || bug.Members.Any(m => pending.Contains(m.Signature))
                || bug.Members.FirstOrDefault(m => m.Samples.Count > 0) is not { } sampled)
            {
                continue;
            }

            var finder = JobIds.Contains(sampled.First.JobId) ? SpecOf(sampled.First.JobId) : Spec.ToJobSpec(0);
            if (build.FuzzingBinaryFor(finder.Engine) is not { } binary)
            {
                continue;
            }

            events.Add(new CampaignJobAdded(Id, JobId.For(Id, index++), finder with
            {
                Target = binary.Binary,
                DurationSeconds = VerificationSeconds,
                Dictionary = null,
                Task = JobTask.VerifyBug,
                CrashInput = sampled.Samples[0],
                CrashSignature = sampled.Signature,
                CrashKind = sampled.Kind,
                Build = build.Number,
            }, now));
        }

        return Decision.Accept([.. events]);
    }

    /// <summary>
    /// A verification's verdict: the bug reproduces when a rerun crashed with one of its crashes' signatures. It becomes
    /// fixed when an open or regressed bug does not, and regressed when a fixed one does, unless a later build was
    /// checked already. The same verdict again changes nothing.
    /// </summary>
    public Decision RecordVerification(JobId job, int attempts, int reproduced, string? crashedAs, DateTimeOffset now)
    {
        if (AddedJobs?.GetValueOrDefault(job.Value) is not { Task: JobTask.VerifyBug, CrashSignature: { } signature, Build: { } build })
        {
            return Decision.Reject($"job {job} of campaign {Id} verifies no bug");
        }

        var resolved = Resolve(signature);
        if (Bugs().FirstOrDefault(g => g.Members.Any(m => m.Signature == resolved)) is not { } bug)
        {
            return Decision.Reject($"the bug of crash {signature} is not in campaign {Id}");
        }

        if (bug.Checks?.Any(c => c.Build == build) == true)
        {
            return [];
        }

        var reproduces = reproduced > 0 && crashedAs is not null && bug.Members.Any(m => m.Signature == Resolve(crashedAs));
        var check = new BugBuildCheck(build, reproduces, attempts, reproduced, crashedAs, now);
        var events = new List<IPersistedEvent> { new BugVerified(Id, resolved, job, check, now) };
        var latest = bug.Checks is not { Count: > 0 } checks || build >= checks.Max(c => c.Build);
        var status = (bug.Status, reproduces) switch
        {
            (BugStatus.Open or BugStatus.Regressed, false) => BugStatus.Fixed,
            (BugStatus.Fixed, true) => BugStatus.Regressed,
            _ => bug.Status,
        };
        if (latest && status != bug.Status)
        {
            var triage = bug.Triage ?? new BugTriage(BugStatus.Open, null, null, now);
            events.Add(new BugTriaged(Id, bug.Leader.Signature, triage with { Status = status, UpdatedAt = now }, now));
        }

        return Decision.Accept([.. events]);
    }

    /// <summary>
    /// A bug's triage is kept under the signature of its leader when it was set; bugs that merged since keep the latest
    /// said of any of their members.
    /// </summary>
    private BugTriage? TriageOf(BugGroup group) =>
        Triage is null ? null : group.Members.Select(m => Triage.GetValueOrDefault(m.Signature)).OfType<BugTriage>().MaxBy(t => t.UpdatedAt);

    /// <summary>Sets what <see cref="TriageBug"/> gives of a bug (any member's id names it), keeping the fields it leaves null.</summary>
    public Decision TriageBug(BugId id, BugStatus? status, string? externalUrl, string? note, DateTimeOffset now)
    {
        var signature = Resolve(id.Signature);
        if (id.Campaign != Id || Bugs().FirstOrDefault(g => g.Members.Any(m => m.Signature == signature)) is not { } bug)
        {
            return Decision.Reject($"bug {id} not found");
        }

        var current = bug.Triage ?? new BugTriage(BugStatus.Open, null, null, now);
        var triage = new BugTriage(
            status ?? current.Status,
            externalUrl is null ? current.ExternalUrl : externalUrl.Length == 0 ? null : externalUrl,
            note is null ? current.Note : note.Length == 0 ? null : note,
            now);
        return triage with { UpdatedAt = current.UpdatedAt } == current && bug.Triage is not null
            ? []
            : [new BugTriaged(Id, bug.Leader.Signature, triage, now)];
    }
}
