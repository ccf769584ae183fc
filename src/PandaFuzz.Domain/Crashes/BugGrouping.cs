using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Crashes;

/// <summary>
/// Groups a campaign's unique crashes into bugs, the way ClusterFuzz's grouper does and a little stricter. Two unique
/// crashes are one bug when
/// <list type="bullet">
/// <item>the frame that crashed is the same function (the first line of their states: states that differ only below it,
/// through other callers, are one bug), at the same file and line where both are symbolized to one,</item>
/// <item>they share the security flag, and, for reliability bugs, the crash type (a timeout and an OOM of one target
/// stay apart; security bugs group whatever their types and access sizes, as ClusterFuzz's do),</item>
/// <item>and both reproduced on a rerun, or neither did: a crash no rerun could reproduce is kept apart, flagged.</item>
/// </list>
/// A crash with an empty state (nothing symbolized) is a bug of its own. The group's leader is its first crash seen, so a
/// group keeps its id as crashes join it. Pure: the same crashes give the same groups in the same order.
/// </summary>
public static class BugGrouping
{
    public static IReadOnlyList<BugGroup> Group(CampaignId campaign, IEnumerable<UniqueCrash> crashes)
    {
        var ordered = crashes.OrderBy(c => c.FirstSeen).ThenBy(c => c.Signature, StringComparer.Ordinal).ToList();
        var parent = Enumerable.Range(0, ordered.Count).ToArray();

        // Only crashes of one bucket can be similar: pairs are compared within a bucket, not across the campaign.
        foreach (var bucket in Enumerable.Range(0, ordered.Count).GroupBy(i => BucketOf(ordered[i])))
        {
            var members = bucket.ToList();
            for (var a = 0; a < members.Count; a++)
            {
                for (var b = a + 1; b < members.Count; b++)
                {
                    if (AreOneBug(ordered[members[a]], ordered[members[b]]))
                    {
                        Union(parent, members[a], members[b]);
                    }
                }
            }
        }

        // The root of each set is its lowest index, the first seen: the leader.
        return Enumerable.Range(0, ordered.Count)
            .GroupBy(i => Find(parent, i))
            .OrderBy(g => g.Key)
            .Select(g =>
            {
                var leader = ordered[g.Key];
                return new BugGroup(BugId.ForLeader(campaign, leader.Signature), leader, [.. g.Select(i => ordered[i])]);
            })
            .ToList();
    }

    /// <summary>Whether two unique crashes are one bug (see the type's summary).</summary>
    public static bool AreOneBug(UniqueCrash a, UniqueCrash b)
    {
        if (BucketOf(a) != BucketOf(b))
        {
            return false;
        }

        if (!a.Security && a.Identity != b.Identity)
        {
            return false;
        }

        return LocationOf(a) is not { } first || LocationOf(b) is not { } second || first == second;
    }

    /// <summary>
    /// Where the crashing frame is (<c>target.c:57</c>): as the bot recorded it, else read from the first report's stack
    /// (crashes recorded before locations were).
    /// </summary>
    public static string? LocationOf(UniqueCrash crash)
    {
        if (crash.Location is { } known)
        {
            return known;
        }

        var top = TopFrame(crash);
        if (top.Length == 0)
        {
            return null;
        }

        // The bot writes frames as "#3 handle_record /src/target.c:57" or "#3 name (module)".
        foreach (var frame in crash.First.Finding.Stack)
        {
            var space = frame.IndexOf(' ');
            if (space < 0 || !frame.AsSpan(space + 1).StartsWith(top + " ", StringComparison.Ordinal))
            {
                continue;
            }

            var place = frame[(space + 1 + top.Length + 1)..];
            var colon = place.LastIndexOf(':');
            return colon > 0 && place.Length > colon + 1 && place[(colon + 1)..].All(char.IsAsciiDigit)
                ? $"{Path.GetFileName(place[..colon])}:{place[(colon + 1)..]}"
                : null;
        }

        return null;
    }

    private static string TopFrame(UniqueCrash crash)
    {
        var newline = crash.State.IndexOf('\n');
        return newline < 0 ? crash.State : crash.State[..newline];
    }

    // Crashes with no state never group: their bucket is their own signature.
    private static (bool Security, bool Reproducible, string Top) BucketOf(UniqueCrash crash) =>
        (crash.Security, crash.IsReproducible, TopFrame(crash) is { Length: > 0 } top ? top : "\0" + crash.Signature);

    private static int Find(int[] parent, int i)
    {
        while (parent[i] != i)
        {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }

        return i;
    }

    private static void Union(int[] parent, int a, int b)
    {
        var (ra, rb) = (Find(parent, a), Find(parent, b));
        if (ra != rb)
        {
            // The lower index, seen first, stays the root.
            parent[Math.Max(ra, rb)] = Math.Min(ra, rb);
        }
    }
}
