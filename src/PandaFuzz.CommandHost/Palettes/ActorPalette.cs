using System.Collections.Concurrent;
using System.CommandLine;
using Akka.Actor;

namespace PandaFuzz.CommandHost.Palettes;

/// <summary>
/// <c>actor hierarchy [-s PATH] [-d DEPTH]</c>: the actors of this node, found by asking each level's children to
/// identify themselves (<c>Identify</c> through a wildcard selection). By default it shows <c>/user</c> (agents,
/// singletons, the gateway) and <c>/system/sharding</c> (the regions, their shards and entities).
/// </summary>
public sealed class ActorPalette(ActorSystem system) : ICommandPalette
{
    private const int MaxActors = 5000;
    private static readonly TimeSpan LevelWait = TimeSpan.FromMilliseconds(300);

    public Command Build(CommandSession session)
    {
        var start = new Option<string[]>("-s", "--start") { Description = "Where to start (default: /user and /system/sharding)", AllowMultipleArgumentsPerToken = true };
        var depth = new Option<int>("-d", "--depth") { Description = "How many levels below the start (default 4)", DefaultValueFactory = _ => 4 };
        var hierarchy = new Command("hierarchy", "The actors of this node, one path per line") { start, depth };
        hierarchy.SetAction(async (parse, ct) =>
        {
            var starts = parse.GetValue(start) is { Length: > 0 } given ? given : ["/user", "/system/sharding"];
            var levels = Math.Clamp(parse.GetValue(depth), 1, 16);
            var found = new List<string>();
            foreach (var root in starts)
            {
                found.Add(root.TrimEnd('/'));
                var level = new List<string> { root.TrimEnd('/') };
                for (var i = 0; i < levels && level.Count > 0 && found.Count < MaxActors; i++)
                {
                    level = [.. (await ChildrenAsync(level, ct)).Order(StringComparer.Ordinal)];
                    found.AddRange(level);
                }
            }

            var paths = found.Distinct().Order(StringComparer.Ordinal).Take(MaxActors).ToList();
            var text = string.Join('\n', paths) + (found.Count > MaxActors ? $"\n… more than {MaxActors} actors: narrow it with -s or -d" : "");
            await session.ResultAsync(text, paths);
        });
        return new Command("actor", "The actors of this node") { hierarchy };
    }

    private async Task<IReadOnlyList<string>> ChildrenAsync(IReadOnlyList<string> parents, CancellationToken ct)
    {
        var children = new ConcurrentBag<string>();
        var collector = system.ActorOf(Props.Create(() => new IdentityCollector(children)));
        try
        {
            foreach (var parent in parents)
            {
                system.ActorSelection(parent + "/*").Tell(new Identify(null), collector);
            }

            await Task.Delay(LevelWait, ct);
        }
        finally
        {
            system.Stop(collector);
        }

        return [.. children];
    }

    private sealed class IdentityCollector : ReceiveActor
    {
        public IdentityCollector(ConcurrentBag<string> children) =>
            Receive<ActorIdentity>(identity =>
            {
                if (identity.Subject is { } subject)
                {
                    children.Add(subject.Path.ToStringWithoutAddress());
                }
            });
    }
}
