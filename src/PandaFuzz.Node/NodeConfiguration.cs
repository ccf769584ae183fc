using System.Collections;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace PandaFuzz.Node;

/// <summary>
/// Loads the node's HOCON, lowest precedence first: the shipped files, the operator's <c>PANDAFUZZ_CONFIG</c>, the
/// generic <c>PANDAFUZZ__a__b__c-d</c> overrides, then the specific variables (<c>PANDAFUZZ_WEBHOOKS</c>, <c>PANDAFUZZ_POSTGRES</c>).
/// </summary>
public static class NodeConfiguration
{
    public const string HoconDirVariable = "PANDAFUZZ_HOCON_DIR";
    public const string OperatorFileVariable = "PANDAFUZZ_CONFIG";

    public static string HoconDirectory => HoconDirectoryIn(Environment.GetEnvironmentVariable);

    public static IReadOnlyDictionary<string, string> ProcessEnvironment() =>
        Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);

    public static Config Load(NodeSettings node) => Load(node, ProcessEnvironment());

    public static Config Load(NodeSettings node, IReadOnlyDictionary<string, string> environment)
    {
        string? Env(string name) => environment.TryGetValue(name, out var v) && v.Length > 0 ? v.Trim() : null;

        var config = ShippedFiles(node, HoconDirectoryIn(Env));
        if (OperatorFile(Env) is { } operatorFile)
        {
            config = Parse(operatorFile, OperatorFileVariable).WithFallback(config);
        }

        config = EnvironmentOverrides.Apply(config, environment);
        return WithPostgreSqlFromEnvironment(WithWebhookSecretFromEnvironment(WithWebhooksFromEnvironment(config, Env), Env), Env);
    }

    /// <summary>The operator's file as a full path, or null when <c>PANDAFUZZ_CONFIG</c> is not set.</summary>
    public static string? OperatorFile(Func<string, string?> env)
    {
        if (env(OperatorFileVariable) is not { Length: > 0 } text)
        {
            return null;
        }

        var path = Path.GetFullPath(text.Trim());
        return File.Exists(path)
            ? path
            : throw new NodeConfigurationException(OperatorFileVariable, text, "the path of a readable HOCON file layered over the shipped ones (it does not exist)");
    }

    private static string HoconDirectoryIn(Func<string, string?> env) =>
        env(HoconDirVariable) is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "hocon");

    private static Config ShippedFiles(NodeSettings node, string directory)
    {
        var files = new List<string> { "base.conf" };
        if (node.IsMaster)
        {
            files.Add("master.conf");
            files.Add("persistence.conf");
        }

        if (node.IsBot)
        {
            files.Add("bot.conf");
        }

        var config = Config.Empty;
        foreach (var file in files)
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path))
            {
                throw new ConfigurationException($"configuration file {path} is missing (set {HoconDirVariable} to the folder holding the hocon files)");
            }

            config = Parse(path, null).WithFallback(config);
        }

        return config;
    }

    /// <summary>Longest a HOCON file may take to parse: Akka's parser loops for ever on some malformed text ("a = [4 }").</summary>
    private static readonly TimeSpan ParseLimit = TimeSpan.FromSeconds(5);

    private static Config Parse(string path, string? variable)
    {
        var named = $"configuration file {path}{(variable is null ? "" : $" ({variable})")}";
        try
        {
            var text = File.ReadAllText(path);
            if (UnbalancedBracket(text) is { } problem)
            {
                throw new ConfigurationException($"{named} is not valid HOCON: {problem}");
            }

            var parse = Task.Run(() => ConfigurationFactory.ParseString(text));
            return parse.Wait(ParseLimit)
                ? parse.Result
                : throw new ConfigurationException($"{named} is not valid HOCON: the parser did not finish within {ParseLimit.TotalSeconds:0} s");
        }
        catch (AggregateException e) when (e.InnerException is { } inner)
        {
            throw new ConfigurationException($"{named} is not valid HOCON: {inner.Message}");
        }
        catch (ConfigurationException)
        {
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{named} cannot be read: {e.Message}");
        }
        catch (Exception e)
        {
            throw new ConfigurationException($"{named} is not valid HOCON: {e.Message}");
        }
    }

    /// <summary>
    /// The first unmatched bracket outside strings and comments, or null. Akka's parser accepts some unbalanced text
    /// silently ("a {{ b = 1") and never returns on other ("a = [4 }"), so brackets are checked first.
    /// </summary>
    public static string? UnbalancedBracket(string text)
    {
        var open = new Stack<(char Bracket, int Line)>();
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
            }
            else if (c == '#' || c == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i + 1 < text.Length && text[i + 1] != '\n')
                {
                    i++;
                }
            }
            else if (c == '"')
            {
                var triple = i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"';
                var end = triple ? text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal) : ClosingQuote(text, i + 1);
                if (end < 0)
                {
                    return $"a string opened on line {line} is not closed";
                }

                line += text.AsSpan(i, end - i).Count('\n');
                i = triple ? end + 2 : end;
            }
            else if (c is '{' or '[')
            {
                open.Push((c, line));
            }
            else if (c is '}' or ']')
            {
                var expected = c == '}' ? '{' : '[';
                if (open.Count == 0 || open.Peek().Bracket != expected)
                {
                    return open.Count == 0
                        ? $"'{c}' on line {line} closes nothing"
                        : $"'{c}' on line {line} does not close the '{open.Peek().Bracket}' opened on line {open.Peek().Line}";
                }

                open.Pop();
            }
        }

        return open.Count == 0 ? null : $"the '{open.Peek().Bracket}' opened on line {open.Peek().Line} is not closed";
    }

    private static int ClosingQuote(string text, int from)
    {
        for (var i = from; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (text[i] == '"')
            {
                return i;
            }
            else if (text[i] == '\n')
            {
                return -1;
            }
        }

        return -1;
    }

    public const string PostgreSqlVariable = "PANDAFUZZ_POSTGRES";

    /// <summary><c>PANDAFUZZ_POSTGRES</c> (an Npgsql connection string) puts the journal, snapshots and read model in that database.</summary>
    private static Config WithPostgreSqlFromEnvironment(Config config, Func<string, string?> env)
    {
        if (env(PostgreSqlVariable) is not { Length: > 0 } value)
        {
            return config;
        }

        return ConfigurationFactory.ParseString($"""
            pandafuzz.master.storage.provider = postgresql
            pandafuzz.master.storage.postgresql.connection-string = {Quote(value)}
            """).WithFallback(config);
    }

    public const string WebhooksVariable = "PANDAFUZZ_WEBHOOKS";

    /// <summary><c>PANDAFUZZ_WEBHOOKS</c> (comma-separated URLs) replaces <c>pandafuzz.master.webhooks.urls</c>.</summary>
    private static Config WithWebhooksFromEnvironment(Config config, Func<string, string?> env)
    {
        if (env(WebhooksVariable) is not { Length: > 0 } value)
        {
            return config;
        }

        var urls = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Quote);
        return ConfigurationFactory.ParseString($"pandafuzz.master.webhooks.urls = [{string.Join(", ", urls)}]").WithFallback(config);
    }

    public const string WebhookSecretVariable = "PANDAFUZZ_WEBHOOK_SECRET";

    /// <summary><c>PANDAFUZZ_WEBHOOK_SECRET</c> replaces <c>pandafuzz.master.webhooks.secret</c>, the key webhook bodies are signed with.</summary>
    private static Config WithWebhookSecretFromEnvironment(Config config, Func<string, string?> env) =>
        env(WebhookSecretVariable) is { Length: > 0 } value
            ? ConfigurationFactory.ParseString($"pandafuzz.master.webhooks.secret = {Quote(value)}").WithFallback(config)
            : config;

    public static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t") + "\"";
}

/// <summary>
/// <c>PANDAFUZZ__&lt;path&gt;=&lt;value&gt;</c>: segments separated by a double underscore, an underscore in a segment
/// standing for a dash, matched to existing keys in any case. Under <c>pandafuzz</c> a path must name a shipped setting
/// (a typo stops start-up) except in <see cref="OpenSections"/>; <c>akka</c> paths are lower-cased. A value starting
/// with <c>[</c> or <c>{</c> is HOCON; anything else is one string, so URLs and connection strings need no quoting.
/// </summary>
public static class EnvironmentOverrides
{
    public const string Prefix = "PANDAFUZZ__";

    /// <summary>Sections whose keys the operator names (namespaces, campaign names): any key may be added there.</summary>
    public static readonly IReadOnlyList<string> OpenSections = ["pandafuzz.logging.levels", "pandafuzz.master.scheduler.campaign-weights"];

    public static Config Apply(Config config, IReadOnlyDictionary<string, string> environment)
    {
        var overrides = environment
            .Where(e => e.Key.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && e.Value.Length > 0)
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .ToList();
        var result = config;
        foreach (var (name, value) in overrides)
        {
            var path = PathOf(config, name, value);
            var text = value.Trim();
            var hocon = text.StartsWith('[') || text.StartsWith('{') ? text : NodeConfiguration.Quote(text);
            if (NodeConfiguration.UnbalancedBracket(hocon) is { } problem)
            {
                throw new NodeConfigurationException(name, value, $"a value for {path}: one string, or a HOCON list [...] or object {{...}} ({problem})");
            }

            try
            {
                result = ConfigurationFactory.ParseString($"{path} = {hocon}").WithFallback(result);
            }
            catch (Exception e)
            {
                throw new NodeConfigurationException(name, value, $"a value for {path}: one string, or a HOCON list [...] or object {{...}} ({e.Message})");
            }
        }

        return result;
    }

    /// <summary>The HOCON path a variable names, its segments quoted (<c>"pandafuzz"."bot"."stats-interval"</c>).</summary>
    public static string PathOf(Config config, string variable, string value)
    {
        var segments = variable[Prefix.Length..].Split("__");
        if (segments.Length == 0 || segments.Any(s => s.Length == 0))
        {
            throw new NodeConfigurationException(variable, value, $"{Prefix}<section>__<key>, such as {Prefix}PANDAFUZZ__BOT__SLOTS=4");
        }

        var resolved = new List<string>();
        HoconObject? node = config.Root?.IsObject() == true ? config.Root.GetObject() : null;
        foreach (var segment in segments)
        {
            var dashed = segment.Replace('_', '-');
            var match = node?.Items.Keys.FirstOrDefault(k => k.Equals(segment, StringComparison.OrdinalIgnoreCase))
                ?? node?.Items.Keys.FirstOrDefault(k => k.Equals(dashed, StringComparison.OrdinalIgnoreCase));
            var parent = string.Join('.', resolved);
            if (match is null)
            {
                if (OpenSections.Contains(parent, StringComparer.Ordinal))
                {
                    match = segment;
                }
                else if (resolved.Count > 0 && resolved[0] == "pandafuzz" || resolved.Count == 0 && dashed.Equals("pandafuzz", StringComparison.OrdinalIgnoreCase))
                {
                    var wanted = string.Join('.', resolved.Append(dashed.ToLowerInvariant()));
                    throw new NodeConfigurationException(variable, value, $"a variable naming a setting the hocon files have; {wanted} is none (a typo?)");
                }
                else
                {
                    match = dashed.ToLowerInvariant();
                }
            }

            resolved.Add(match);
            node = node?.Items.TryGetValue(match, out var child) == true && child.IsObject() ? child.GetObject() : null;
        }

        return string.Join('.', resolved.Select(s => NodeConfiguration.Quote(s)));
    }
}
