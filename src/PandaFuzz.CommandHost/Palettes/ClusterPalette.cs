using System.CommandLine;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster;

namespace PandaFuzz.CommandHost.Palettes;

/// <summary><c>cluster show | leader | leave -a | down -a | down-unreachable | tail</c>, in pbm's shapes.</summary>
public sealed class ClusterPalette(ActorSystem system) : ICommandPalette
{
    public Command Build(CommandSession session)
    {
        var cluster = Cluster.Get(system);
        var palette = new Command("cluster", "Cluster membership");

        var show = new Command("show", "Every member: address, roles, status, version; then the count");
        show.SetAction(async _ =>
        {
            var state = cluster.State;
            var members = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).ToList();
            var lines = members.Select(m =>
                $"{m.Address} | [{string.Join(",", Roles(m))}] | {Status(m, state)} | {m.AppVersion}").ToList();
            lines.Add($"Count: {members.Count} nodes");
            await session.ResultAsync(string.Join('\n', lines), members.Select(m => new
            {
                address = m.Address.ToString(),
                roles = Roles(m),
                status = Status(m, state),
                version = m.AppVersion.ToString(),
            }).ToList());
        });
        palette.Subcommands.Add(show);

        var leader = new Command("leader", "The cluster's leader");
        leader.SetAction(async _ =>
        {
            var address = cluster.State.Leader;
            await session.ResultAsync(address?.ToString() ?? "no leader", new { leader = address?.ToString() });
        });
        palette.Subcommands.Add(leader);

        palette.Subcommands.Add(AddressCommand("leave", "The member at ADDR leaves the cluster gracefully", a =>
        {
            cluster.Leave(a);
            return $"{a} is leaving";
        }));
        palette.Subcommands.Add(AddressCommand("down", "Marks the member at ADDR down (it is removed and its work moves)", a =>
        {
            cluster.Down(a);
            return $"{a} is marked down";
        }));

        var downUnreachable = new Command("down-unreachable", "Marks every unreachable member down");
        downUnreachable.SetAction(async _ =>
        {
            var unreachable = cluster.State.Unreachable.Select(m => m.Address).ToList();
            foreach (var address in unreachable)
            {
                cluster.Down(address);
            }

            await session.ResultAsync(
                unreachable.Count == 0 ? "no unreachable member" : string.Join('\n', unreachable.Select(a => $"{a} is marked down")),
                new { downed = unreachable.Select(a => a.ToString()).ToList() });
        });
        palette.Subcommands.Add(downUnreachable);

        var tail = new Command("tail", "Streams membership and reachability events until Ctrl-C");
        tail.SetAction(async (_, ct) =>
        {
            var events = Channel.CreateUnbounded<ClusterEvent.IClusterDomainEvent>();
            var listener = system.ActorOf(Props.Create(() => new EventForwarder(events.Writer)));
            cluster.Subscribe(listener, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.LeaderChanged));
            try
            {
                await foreach (var e in events.Reader.ReadAllAsync(ct))
                {
                    await session.ResultAsync($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {e}", new { at = DateTimeOffset.UtcNow, @event = e.GetType().Name, text = e.ToString() });
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                cluster.Unsubscribe(listener);
                system.Stop(listener);
            }
        });
        palette.Subcommands.Add(tail);
        return palette;

        Command AddressCommand(string name, string description, Func<Address, string> act)
        {
            var address = new Option<string>("-a", "--address") { Description = "The member's address (akka.tcp://pandafuzz@host:port)", Required = true };
            var command = new Command(name, description) { address };
            command.SetAction(async parse =>
            {
                var text = parse.GetValue(address)!;
                var member = cluster.State.Members.FirstOrDefault(m => m.Address.ToString() == text || m.Address.ToString().EndsWith("@" + text, StringComparison.Ordinal))
                             ?? throw new CommandFailedException($"no member at {text}; 'cluster show' lists them");
                await session.ResultAsync(act(member.Address), new { address = member.Address.ToString() });
            });
            return command;
        }
    }

    private static List<string> Roles(Member m) => [.. m.Roles.Where(r => !r.StartsWith("dc-", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    private static string Status(Member m, ClusterEvent.CurrentClusterState state) =>
        state.Unreachable.Contains(m) ? $"{m.Status.ToString().ToLowerInvariant()} (unreachable)" : m.Status.ToString().ToLowerInvariant();

    private sealed class EventForwarder : ReceiveActor
    {
        public EventForwarder(ChannelWriter<ClusterEvent.IClusterDomainEvent> writer) =>
            Receive<ClusterEvent.IClusterDomainEvent>(e => writer.TryWrite(e));
    }
}
