using System.CommandLine;
using System.CommandLine.Help;
using Serilog;

namespace PandaFuzz.CommandHost;

/// <summary>One palette of commands (<c>cluster</c>, <c>actor</c>, <c>campaign</c>…), as pbm groups them.</summary>
public interface ICommandPalette
{
    /// <summary>The palette's command with its subcommands, bound to <paramref name="session"/>.</summary>
    Command Build(CommandSession session);
}

/// <summary>
/// Parses a command line with the palettes this node hosts (every node: cluster, actor, cluster-sharding, log; a
/// master also the fuzzing palettes) and runs it. A bad command gets its error and the usage, never a stack trace.
/// </summary>
public sealed class CommandPalettes(IEnumerable<ICommandPalette> palettes)
{
    /// <summary>Runs <paramref name="args"/>; returns the exit code (0 done, 1 failed or bad usage).</summary>
    public async Task<int> RunAsync(IReadOnlyList<string> args, CommandSession session)
    {
        // Named as the client the operator types, not as this node's executable (a RootCommand takes the process's name).
        var root = new Command("pandafuzz-cmd", "PandaFuzz operator commands: <palette> <command> [-switch value]. 'help' lists them; '<palette> --help' explains one.")
        {
            new HelpOption(),
        };
        foreach (var palette in palettes)
        {
            root.Subcommands.Add(palette.Build(session));
        }

        string[] words = args.Count > 0 && args[0] == "help" ? [.. args.Skip(1), "--help"] : [.. args];
        var output = new StringWriter();
        int code;
        try
        {
            var parsed = root.Parse(words);
            code = await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = output, EnableDefaultExceptionHandler = false }, session.HungUp);
            if (parsed.Errors.Count > 0 && code == 0)
            {
                code = 1;
            }
        }
        catch (CommandFailedException e)
        {
            output.WriteLine(e.Message);
            code = 1;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.Warning(e, "Command '{Command}' failed", string.Join(' ', args));
            output.WriteLine($"the command failed: {e.GetBaseException().Message}");
            code = 1;
        }

        if (output.GetStringBuilder().Length > 0)
        {
            await session.OutAsync(output.ToString().TrimEnd('\n'));
        }

        return code;
    }
}

/// <summary>A command that cannot do what was asked; its message is all the operator sees.</summary>
public sealed class CommandFailedException(string message) : Exception(message);
