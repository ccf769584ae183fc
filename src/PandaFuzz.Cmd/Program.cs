using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using System.Text;
using PandaFuzz.Cmd;
using PandaFuzz.Protocol;

// pandafuzz-cmd [HOST:PORT] [--json] [--token TOKEN] [palette command -switch value]
// With a command: runs it and exits with its code. Without: an interactive prompt (help, history, exit).
// System.CommandLine takes the client's own options wherever they stand; every other word, in order, is the command
// for the node's command host, which parses it with its palettes (their switches, its help).
var jsonOption = new Option<bool>("--json") { Description = "Results as JSON, one document per line (for scripts)" };
var tokenOption = new Option<string?>("--token")
{
    Description = "The command host's token (default: PANDAFUZZ_CMD_TOKEN, else the file PANDAFUZZ_CMD_TOKEN_FILE names, "
                  + "else the cmd-token a node on this machine made in PANDAFUZZ_DATA_DIR or ./data)",
};
var wordsArgument = new Argument<string[]>("command")
{
    Arity = ArgumentArity.ZeroOrMore,
    Description = "[HOST:PORT] (a node's command host, default 127.0.0.1:9110), then <palette> <command> [-switch value]...; "
                  + "none opens a prompt. 'pandafuzz-cmd help' lists the palettes (cluster, actor, cluster-sharding, log, and on a "
                  + "master campaign, job, bot, bug, crash, queue, ci); 'pandafuzz-cmd <palette> --help' explains one.",
};
// The root is named as the tool, whatever the process is called; its help is only the client's (-h/--help with no
// command): after a command, --help goes to the command host, which explains that palette.
var root = new Command("pandafuzz-cmd", "PandaFuzz's operator CLI: one command to a node's command host, or a prompt.")
{
    jsonOption, tokenOption, wordsArgument,
};
root.SetAction(async parse =>
{
    var words = (parse.GetValue(wordsArgument) ?? []).ToList();
    if (words is ["-h" or "--help" or "-?"])
    {
        new HelpAction().Invoke(parse);
        return 0;
    }

    var (host, port) = ("127.0.0.1", CommandWire.DefaultPort);
    if (words.Count > 0 && TryEndpoint(words[0], out var h, out var p))
    {
        (host, port) = (h, p);
        words.RemoveAt(0);
    }

    var json = parse.GetValue(jsonOption);
    var token = parse.GetValue(tokenOption)
                ?? (Environment.GetEnvironmentVariable("PANDAFUZZ_CMD_TOKEN") is { Length: > 0 } t ? t : null)
                ?? LocalToken.Read(Environment.GetEnvironmentVariable);
    return words.Count > 0 ? await RunOneAsync(host, port, token, json, words) : await PromptAsync(host, port, token, json);
});

// Response files (@file) and POSIX bundling would rewrite the command's own words, which are the host's to read.
return await root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null, EnablePosixBundling = false })
    // Ctrl-C is the client's own: it ends the running command, and at the prompt only that.
    .InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

static async Task<int> RunOneAsync(string host, int port, string? token, bool json, IReadOnlyList<string> words)
{
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cancel.Cancel();
    };
    // crash repro runs the operator's own build here: the only command the client carries out itself.
    if (CrashRepro.Handles(words))
    {
        return await new CrashRepro(host, port, token, Console.Out, Console.Error).RunAsync(words, cancel.Token);
    }

    // ci sends its --target binary with the command: the node cannot read the operator's files.
    string? upload = null;
    if (words is ["ci", ..])
    {
        var at = words.ToList().FindLastIndex(w => w is "--target" or "-t");
        if (at >= 0 && at + 1 < words.Count)
        {
            upload = words[at + 1];
            if (!File.Exists(upload))
            {
                await Console.Error.WriteLineAsync($"ci: the target {upload} does not exist");
                return 1;
            }
        }
    }

    return await new CommandClient(host, port, token, json, Console.Out, Console.Error).RunAsync(words, cancel.Token, upload);
}

// Interactive: one connection per command; Ctrl-C ends the running command, not the prompt.
static async Task<int> PromptAsync(string host, int port, string? token, bool json)
{
    var history = new List<string>();
    var editor = new LineEditor(history);
    CancellationTokenSource? running = null;
    Console.CancelKeyPress += (_, e) =>
    {
        if (running is { } r)
        {
            e.Cancel = true;
            r.Cancel();
        }
    };
    Console.WriteLine($"pandafuzz-cmd connected to {host}:{port}; 'help' lists the commands, 'exit' leaves");
    var last = 0;
    while (editor.ReadLine($"pandafuzz@{host}:{port}> ") is { } line)
    {
        var command = Split(line);
        if (command.Count == 0)
        {
            continue;
        }

        history.Add(line);
        if (command[0] is "exit" or "quit")
        {
            break;
        }

        if (command[0] == "history")
        {
            Console.WriteLine(string.Join('\n', history.Select((h, i) => $"{i + 1,4}  {h}")));
            continue;
        }

        using (running = new CancellationTokenSource())
        {
            last = await new CommandClient(host, port, token, json, Console.Out, Console.Error).RunAsync(command, running.Token);
        }

        running = null;
    }

    return last;
}

static bool TryEndpoint(string text, out string host, out int port)
{
    host = "";
    port = 0;
    var colon = text.LastIndexOf(':');
    if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is <= 0 or > 65535)
    {
        return false;
    }

    host = text[..colon].Trim('[', ']');
    return true;
}

// Words as a shell splits them: spaces separate, quotes keep spaces, a backslash escapes the next character.
static List<string> Split(string line)
{
    var words = new List<string>();
    var word = new StringBuilder();
    var inWord = false;
    char? quote = null;
    for (var i = 0; i < line.Length; i++)
    {
        var c = line[i];
        if (c == '\\' && i + 1 < line.Length)
        {
            word.Append(line[++i]);
            inWord = true;
        }
        else if (quote is { } q)
        {
            if (c == q)
            {
                quote = null;
            }
            else
            {
                word.Append(c);
            }
        }
        else if (c is '"' or '\'')
        {
            quote = c;
            inWord = true;
        }
        else if (char.IsWhiteSpace(c))
        {
            if (inWord)
            {
                words.Add(word.ToString());
                word.Clear();
                inWord = false;
            }
        }
        else
        {
            word.Append(c);
            inWord = true;
        }
    }

    if (inWord)
    {
        words.Add(word.ToString());
    }

    return words;
}
