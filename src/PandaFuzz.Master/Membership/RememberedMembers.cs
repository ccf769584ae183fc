using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using AkkaCluster = Akka.Cluster.Cluster;
using ClusterEvent = Akka.Cluster.ClusterEvent;
using MemberStatus = Akka.Cluster.MemberStatus;

namespace PandaFuzz.Master.Membership;

/// <summary>The members last seen up; a restarted master seeds from them, so it rejoins the cluster the bots kept alive instead of founding one.</summary>
public static class RememberedMembers
{
    public const string FileName = "cluster-members";

    /// <summary>None when the file is missing or unreadable.</summary>
    public static IReadOnlyList<string> Read(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        try
        {
            return File.Exists(path)
                ? [.. File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))]
                : [];
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>Replaces the file in one step: a crash mid-write leaves the previous list.</summary>
    public static void Write(string dataDir, IEnumerable<string> endpoints)
    {
        var path = Path.Combine(dataDir, FileName);
        var temp = path + ".tmp";
        File.WriteAllLines(temp, ["# members this master last saw up; it tries to rejoin them when it restarts", .. endpoints]);
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>Writes the members that are up (other than this node) to <see cref="RememberedMembers"/> on every change.</summary>
public sealed class MembershipRecorder : ReceiveActor
{
    private readonly string _dataDir;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SortedSet<string> _up = new(StringComparer.Ordinal);
    private string[] _written = [];

    public MembershipRecorder(string dataDir)
    {
        _dataDir = dataDir;
        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            foreach (var member in state.Members.Where(m => m.Status == MemberStatus.Up))
            {
                Add(member.Address);
            }

            Record();
        });
        Receive<ClusterEvent.MemberUp>(e =>
        {
            Add(e.Member.Address);
            Record();
        });
        Receive<ClusterEvent.IMemberEvent>(e =>
        {
            if (e.Member.Status is MemberStatus.Down or MemberStatus.Removed or MemberStatus.Exiting or MemberStatus.Leaving)
            {
                _up.Remove(Endpoint(e.Member.Address));
                Record();
            }
        });
    }

    protected override void PreStart() =>
        AkkaCluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));

    protected override void PostStop() => AkkaCluster.Get(Context.System).Unsubscribe(Self);

    private void Add(Address address)
    {
        if (!address.Equals(AkkaCluster.Get(Context.System).SelfAddress))
        {
            _up.Add(Endpoint(address));
        }
    }

    private static string Endpoint(Address address) => $"{address.Host}:{address.Port}";

    private void Record()
    {
        var endpoints = _up.ToArray();
        if (endpoints.SequenceEqual(_written))
        {
            return;
        }

        try
        {
            RememberedMembers.Write(_dataDir, endpoints);
            _written = endpoints;
        }
        catch (IOException e)
        {
            _log.Warning("Could not remember the cluster members in {DataDir}: {Error}", _dataDir, e.Message);
        }
    }
}

/// <summary>Hosting for the membership recorder.</summary>
public static class MembershipRecorderHosting
{
    public static AkkaConfigurationBuilder AddMembershipRecorder(this AkkaConfigurationBuilder builder, string dataDir) =>
        builder.WithActors((system, _) => system.ActorOf(Props.Create(() => new MembershipRecorder(dataDir)), "membership-recorder"));
}
