using System.Globalization;
using System.Text;
using PandaFuzz.Cmd;
using PandaFuzz.Protocol;

// pandafuzz-cmd [HOST:PORT] [--json] [--token TOKEN] [palette command -switch value]
// With a command: runs it and exits with its code. Without: an interactive prompt (help, history, exit).
const string Usage = """
    usage: pandafuzz-cmd [HOST:PORT] [--json] [--token TOKEN] [<palette> <command> [-switch value]...]
      HOST:PORT      a node's command host (default 127.0.0.1:9110)
      --json         results as JSON, one document per line (for scripts)
      --token TOKEN  the command host's token (default: PANDAFUZZ_CMD_TOKEN, else the file PANDAFUZZ_CMD_TOKEN_FILE
                     names, else the cmd-token a node on this machine made in PANDAFUZZ_DATA_DIR or ./data)
    Without a command it opens a prompt; 'help' lists the palettes (cluster, actor, cluster-sharding, log, and on a
    master campaign, job, bot, crash, queue); 'exit' leaves.
    """;

var host = "127.0.0.1";
var port = CommandWire.DefaultPort;
var json = false;
var token = Environment.GetEnvironmentVariable("PANDAFUZZ_CMD_TOKEN") is { Length: > 0 } t ? t : null;
var words = new List<string>();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--json" when words.Count == 0:
            json = true;
            break;
        case "--token" when words.Count == 0 && i + 1 < args.Length:
            token = args[++i];
            break;
        case "-h" or "--help" when words.Count == 0:
            Console.WriteLine(Usage);
            return 0;
        default:
            if (i == 0 && TryEndpoint(args[0], out var h, out var p))
            {
                (host, port) = (h, p);
            }
            else
            {
                words.Add(args[i]);
            }

            break;
    }
}

token ??= LocalToken.Read(Environment.GetEnvironmentVariable);

using var cancel = new CancellationTokenSource();
if (words.Count > 0)
{
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cancel.Cancel();
    };
    return await new CommandClient(host, port, token, json, Console.Out, Console.Error).RunAsync(words, cancel.Token);
}

// Interactive: one connection per command; Ctrl-C ends the running command, not the prompt.
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
