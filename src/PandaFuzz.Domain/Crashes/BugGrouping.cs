using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Crashes;

/// <summary>Groups unique crashes into bugs like ClusterFuzz's grouper, a little stricter: one bug when the crashing frame
/// is the same function (at the same file:line where both are symbolized), the security flag matches and, for reliability
/// bugs, the type (a timeout and an OOM stay apart; security bugs group whatever their types, as ClusterFuzz's do), and
/// both or neither reproduced. An empty state is a bug of its own. The leader is the first crash seen, so a group keeps
/// its id as crashes join. Pure: the same crashes give the same groups in the same order.</summary>
public static class BugGrouping
{
    /// <summary>What grouping reads of a unique crash, the same for the campaign's state and the read model's rows.</summary>
    public sealed record Key(string Signature, DateTimeOffset FirstSeen, string State, bool Security, bool Reproducible, string Identity, string? Location);

    public static Key KeyOf(UniqueCrash crash) =>
        new(crash.Signature, crash.FirstSeen, crash.State, crash.Security, crash.IsReproducible, crash.Identity, LocationOf(crash));

    public static IReadOnlyList<BugGroup> Group(CampaignId campaign, IEnumerable<UniqueCrash> crashes) =>
        [.. Assign(campaign, crashes, KeyOf).Select(g => new BugGroup(g.Bug, g.Members[0], g.Members))];

    /// <summary>Each bug with its members, the leader first, then by first seen; bugs in their leaders' order.</summary>
    public static IReadOnlyList<(BugId Bug, IReadOnlyList<T> Members)> Assign<T>(CampaignId campaign, IEnumerable<T> crashes, Func<T, Key> keyOf)
    {
        var ordered = crashes.Select(c => (Crash: c, Key: keyOf(c)))
            .OrderBy(c => c.Key.FirstSeen).ThenBy(c => c.Key.Signature, StringComparer.Ordinal).ToList();
        var parent = Enumerable.Range(0, ordered.Count).ToArray();

        // Only crashes of one bucket can be similar: pairs are compared within a bucket, not across the campaign.
        foreach (var bucket in Enumerable.Range(0, ordered.Count).GroupBy(i => BucketOf(ordered[i].Key)))
        {
            var members = bucket.ToList();
            for (var a = 0; a < members.Count; a++)
            {
                for (var b = a + 1; b < members.Count; b++)
                {
                    if (AreOneBug(ordered[members[a]].Key, ordered[members[b]].Key))
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
            .Select(g => (BugId.ForLeader(campaign, ordered[g.Key].Key.Signature), (IReadOnlyList<T>)[.. g.Select(i => ordered[i].Crash)]))
            .ToList();
    }

    public static bool AreOneBug(UniqueCrash a, UniqueCrash b) => AreOneBug(KeyOf(a), KeyOf(b));

    private static bool AreOneBug(Key a, Key b)
    {
        if (BucketOf(a) != BucketOf(b))
        {
            return false;
        }

        if (!a.Security && a.Identity != b.Identity)
        {
            return false;
        }

        return a.Location is not { } first || b.Location is not { } second || first == second;
    }

    /// <summary>As the bot recorded it, else read from the first report's stack (crashes recorded before locations were).</summary>
    public static string? LocationOf(UniqueCrash crash) => crash.Location ?? LocationOf(crash.First.Finding, crash.State);

    public static string? LocationOf(CrashFinding finding, string state)
    {
        if (finding.Location is { } known)
        {
            return known;
        }

        var top = TopFrame(state);
        if (top.Length == 0)
        {
            return null;
        }

        // The bot writes frames as "#3 handle_record /src/target.c:57" or "#3 name (module)".
        foreach (var frame in finding.Stack)
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

    private static string TopFrame(string state)
    {
        var newline = state.IndexOf('\n');
        return newline < 0 ? state : state[..newline];
    }

    // Crashes with no state never group: their bucket is their own signature.
    private static (bool Security, bool Reproducible, string Top) BucketOf(Key crash) =>
        (crash.Security, crash.Reproducible, TopFrame(crash.State) is { Length: > 0 } top ? top : "\0" + crash.Signature);

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
