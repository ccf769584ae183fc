using System.CommandLine;

namespace PandaFuzz.CommandHost.Palettes;

/// <summary><c>log peek [-n N] | log tail</c>: this node's recent log lines, and the new ones as they come.</summary>
public sealed class LogPalette(RecentLog log) : ICommandPalette
{
    public Command Build(CommandSession session)
    {
        var count = new Option<int>("-n", "--lines") { Description = "How many of the last lines (default 50)", DefaultValueFactory = _ => 50 };
        var peek = new Command("peek", "The node's last log lines") { count };
        peek.SetAction(async parse =>
        {
            var lines = log.Peek(Math.Clamp(parse.GetValue(count), 1, RecentLog.Capacity));
            await session.ResultAsync(lines.Count == 0 ? "no log lines yet" : string.Join('\n', lines), lines);
        });

        var tail = new Command("tail", "Streams the node's log lines until Ctrl-C");
        tail.SetAction(async (_, ct) =>
        {
            try
            {
                await foreach (var line in log.TailAsync(ct))
                {
                    await session.ResultAsync(line, new { line });
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        return new Command("log", "This node's log") { peek, tail };
    }
}
