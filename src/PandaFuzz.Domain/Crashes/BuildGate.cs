using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Crashes;

/// <summary>
/// A CI gate's verdict on a build: the bugs a short campaign on it found, against the bugs the target's other campaigns
/// know, after those were rerun on the build. A bug the target never had is new; a fixed one that crashes again (its
/// rerun on this build, or the gate found it) regressed; both fail the gate. Known open bugs are listed, not failed on,
/// as ClusterFuzzLite does. Bugs are matched across campaigns as within one (<see cref="BugGrouping.AreOneBug(UniqueCrash, UniqueCrash)"/>).
/// </summary>
public static class BuildGate
{
    /// <summary>A bug of one of the target's campaigns.</summary>
    public sealed record CampaignBug(CampaignId Campaign, BugGroup Bug);

    /// <summary>One line of the verdict: the bug, and for a gate's find, the known bug it is (a regression's fixed one).</summary>
    public sealed record Line(CampaignBug Bug, CampaignBug? Known = null);

    public sealed record Verdict(IReadOnlyList<Line> New, IReadOnlyList<Line> Regressed, IReadOnlyList<Line> Known, IReadOnlyList<Line> Fixed)
    {
        public bool Passed => New.Count == 0 && Regressed.Count == 0;
    }

    /// <param name="build">The build the gate checked.</param>
    /// <param name="found">The gate campaign's bugs.</param>
    /// <param name="known">The target's other campaigns' bugs, oldest campaign first, with their checks on <paramref name="build"/>.</param>
    public static Verdict Judge(int build, IReadOnlyList<CampaignBug> found, IReadOnlyList<CampaignBug> known)
    {
        // One bug found by two campaigns is listed once, as the older campaign has it.
        var distinct = new List<CampaignBug>();
        foreach (var bug in known.Where(k => !distinct.Any(d => SameBug(d.Bug, k.Bug))))
        {
            distinct.Add(bug);
        }

        var regressed = distinct.Where(k => k.Bug.RegressedRange.First == build).Select(k => new Line(k)).ToList();
        var fixedHere = distinct.Where(k => k.Bug.FixedRange.First == build).Select(k => new Line(k)).ToList();
        var open = distinct.Where(k => k.Bug.Status is BugStatus.Open or BugStatus.Regressed && k.Bug.RegressedRange.First != build)
            .Select(k => new Line(k)).ToList();
        var fresh = new List<Line>();
        foreach (var bug in found)
        {
            var matches = known.Where(k => SameBug(k.Bug, bug.Bug)).ToList();
            if (matches.Count == 0)
            {
                fresh.Add(new Line(bug));
            }
            else if (matches.All(m => m.Bug.Status == BugStatus.Fixed) && !regressed.Any(r => SameBug(r.Bug.Bug, bug.Bug)))
            {
                // Its sample no longer crashes, but the gate found another way in: the fix did not hold.
                regressed.Add(new Line(bug, matches[0]));
                fixedHere.RemoveAll(f => SameBug(f.Bug.Bug, bug.Bug));
            }
        }

        return new Verdict(fresh, regressed, open, fixedHere);
    }

    private static bool SameBug(BugGroup a, BugGroup b) => a.Members.Any(x => b.Members.Any(y => BugGrouping.AreOneBug(x, y)));
}
