using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>
/// A campaign's bugs or unique crashes as SARIF 2.1.0: one rule per crash type, one result per bug (or crash) at the top
/// frame of its crash state, and the bug's id (or crash's signature) as a partial fingerprint, so code-scanning services
/// keep one alert per bug across uploads.
/// </summary>
public static partial class CrashSarif
{
    public const string MediaType = "application/sarif+json";

    private const string Schema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

    /// <summary>The uriBaseId of paths under the source root the caller named (GitHub code scanning maps it to the checkout).</summary>
    public const string SourceRootId = "SRCROOT";

    /// <summary>One result per unique crash; <paramref name="bugs"/>, when given, names each one's bug (same order).</summary>
    public static JsonObject Build(CampaignQueries.CampaignView campaign, IReadOnlyList<UniqueCrash> crashes, IReadOnlyList<BugId>? bugs = null, string? sourceRoot = null) =>
        Document(CampaignRun(campaign), [.. crashes.Select((c, i) => new Item(c, bugs?[i], null))], sourceRoot);

    /// <summary>One result per bug: its leader's kind, state and stack, and the counts of all its crashes.</summary>
    public static JsonObject Build(CampaignQueries.CampaignView campaign, IReadOnlyList<BugGroup> bugs, string? sourceRoot = null) =>
        Document(CampaignRun(campaign), [.. bugs.Select(b => new Item(b.Leader, b.Id, b))], sourceRoot);

    /// <summary>A CI gate's bugs, each with its verdict (new, regressed, known) in its properties.</summary>
    public static JsonObject Build(string target, int build, CampaignId gate, IReadOnlyList<(BugGroup Bug, string Verdict)> bugs, string? sourceRoot) =>
        Document(
            ($"pandafuzz/ci/{target}/", new JsonObject { ["target"] = target, ["build"] = build, ["campaignId"] = gate.Value }),
            [.. bugs.Select(b => new Item(b.Bug.Leader, b.Bug.Id, b.Bug, b.Verdict))], sourceRoot);

    /// <summary>Is <paramref name="root"/> a source root paths can be made relative to: an absolute path.</summary>
    public static bool IsSourceRoot(string root) => root.Length is > 0 and <= 1000 && Path.IsPathRooted(root) && !root.Contains('\\');

    public const string SourceRootRule =
        "sourceRoot must be the absolute path the target was built from (e.g. the CI checkout): paths under it become relative to SRCROOT";

    private sealed record Item(UniqueCrash Crash, BugId? Bug, BugGroup? Group, string? Verdict = null);

    private static (string AutomationId, JsonObject Properties) CampaignRun(CampaignQueries.CampaignView campaign) =>
        ($"pandafuzz/campaign/{campaign.Id.Value}", new JsonObject { ["campaignId"] = campaign.Id.Value, ["campaignName"] = campaign.Spec.Name });

    private static JsonObject Document((string AutomationId, JsonObject Properties) run, IReadOnlyList<Item> items, string? sourceRoot)
    {
        // "/src/app" and "/src/app/" name the same root; its URI ends with '/' so relative references resolve under it.
        var root = sourceRoot is null ? null : sourceRoot.TrimEnd('/') + "/";
        var types = items.Select(c => TypeOf(c.Crash.Kind)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var rules = new JsonArray([.. types.Select(Rule)]);
        var results = new JsonArray([.. items.Select(c => Result(c, types.IndexOf(TypeOf(c.Crash.Kind)), root))]);
        var version = typeof(CrashSarif).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var sarifRun = new JsonObject
        {
            ["tool"] = new JsonObject
            {
                ["driver"] = new JsonObject
                {
                    ["name"] = "PandaFuzz",
                    ["version"] = version.Split('+')[0],
                    ["rules"] = rules,
                },
            },
            ["automationDetails"] = new JsonObject { ["id"] = run.AutomationId },
        };
        if (root is not null)
        {
            sarifRun["originalUriBaseIds"] = new JsonObject { [SourceRootId] = new JsonObject { ["uri"] = new Uri(root).AbsoluteUri } };
        }

        sarifRun["results"] = results;
        sarifRun["properties"] = run.Properties;
        return new JsonObject
        {
            ["$schema"] = Schema,
            ["version"] = "2.1.0",
            ["runs"] = new JsonArray(sarifRun),
        };
    }

    // "Heap-buffer-overflow WRITE 4" -> "Heap-buffer-overflow"; "Deadly signal" stays whole.
    private static string TypeOf(string kind)
    {
        var access = AccessSuffix().Match(kind);
        return access.Success ? kind[..access.Index] : kind;
    }

    private static JsonObject Rule(string type) => new()
    {
        ["id"] = type,
        ["name"] = string.Concat(type.Split('-', ' ').Where(p => p.Length > 0).Select(p => char.ToUpperInvariant(p[0]) + p[1..].ToLowerInvariant())),
        ["shortDescription"] = new JsonObject { ["text"] = $"{type} found by fuzzing." },
        ["fullDescription"] = new JsonObject
        {
            ["text"] = $"A fuzzer input made the target fail with {type}, as reported by its sanitizer or fuzzing engine.",
        },
    };

    private static JsonObject Result(Item item, int ruleIndex, string? root)
    {
        var (crash, bug, group) = (item.Crash, item.Bug, item.Group);
        var frames = crash.First.Finding.Stack.Select(ParseFrame).Where(f => f is not null).Select(f => f!).ToList();
        var states = crash.State.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var top = frames.FirstOrDefault(f => states.Length > 0 && f.Function == states[0] && f.File is not null)
                  ?? frames.FirstOrDefault(f => f.File is not null);
        var (count, reproduced, attempts) = group is null ? (crash.Count, crash.Reproduced, crash.ReproduceAttempts) : (group.Count, group.Reproduced, group.ReproduceAttempts);
        var sizes = group?.AccessSizeRange ?? crash.AccessSizeRange;
        var kind = group is null ? crash.Kind : sizes is null ? crash.Identity : $"{crash.Identity} {sizes}";
        var message = $"{kind} in {(states.Length == 0 ? "an unknown function" : string.Join(" < ", states))}: " +
                      $"{count} report(s){(group is null ? "" : $" of {group.Members.Count} unique crash(es)")}, reproduced {reproduced} of {attempts} run(s).";
        var fingerprints = group is not null
            ? new JsonObject { ["pandafuzzBug/v1"] = bug!.Value }
            : new JsonObject { ["pandafuzzCrashSignature/v1"] = crash.Signature };
        var result = new JsonObject
        {
            ["ruleId"] = TypeOf(crash.Kind),
            ["ruleIndex"] = ruleIndex,
            // A known bug a CI gate lists is a note: it is not what the change being checked brought.
            ["level"] = item.Verdict == "known" ? "note" : crash.Security ? "error" : "warning",
            ["message"] = new JsonObject { ["text"] = message },
            ["partialFingerprints"] = fingerprints,
            ["properties"] = new JsonObject
            {
                ["bugId"] = bug?.Value,
                ["crashId"] = crash.Id.Value,
                ["kind"] = crash.Kind,
                ["accessSizes"] = sizes,
                ["crashState"] = crash.State,
                ["security"] = crash.Security,
                ["count"] = count,
                ["uniqueCrashes"] = group?.Members.Count ?? 1,
                ["reproducibleRate"] = Math.Round(group?.ReproducibleRate ?? crash.ReproducibleRate, 4),
                ["firstSeen"] = (group?.FirstSeen ?? crash.FirstSeen).ToString("O", CultureInfo.InvariantCulture),
                ["lastSeen"] = (group?.LastSeen ?? crash.LastSeen).ToString("O", CultureInfo.InvariantCulture),
                ["input"] = crash.Samples.Count > 0 ? crash.Samples[0].Sha256 : null,
                ["minimizedInput"] = (group?.Minimization ?? crash.Minimization)?.Input?.Sha256,
                ["verdict"] = item.Verdict,
            },
        };
        if (top is not null)
        {
            result["locations"] = new JsonArray(Location(top, root));
        }

        if (frames.Count > 0)
        {
            result["stacks"] = new JsonArray(new JsonObject
            {
                ["message"] = new JsonObject { ["text"] = "Stack of the first report." },
                ["frames"] = new JsonArray([.. frames.Select(f => new JsonObject { ["location"] = Location(f, root) })]),
            });
        }

        return result;
    }

    private static JsonObject Location(Frame frame, string? root)
    {
        var location = new JsonObject();
        if (frame.File is { } file && ToUri(file, root) is var (uri, underRoot) && uri is not null)
        {
            var artifact = new JsonObject { ["uri"] = uri };
            if (underRoot)
            {
                artifact["uriBaseId"] = SourceRootId;
            }

            var physical = new JsonObject { ["artifactLocation"] = artifact };
            if (frame.Line is > 0)
            {
                physical["region"] = new JsonObject { ["startLine"] = frame.Line };
            }

            location["physicalLocation"] = physical;
        }

        location["logicalLocations"] = new JsonArray(new JsonObject
        {
            ["name"] = frame.Function,
            ["kind"] = "function",
        });
        return location;
    }

    // Paths under the source root become references relative to it; other absolute paths file URIs; relative ones stay relative.
    private static (string? Uri, bool UnderRoot) ToUri(string path, string? root)
    {
        if (root is not null && path.StartsWith(root, StringComparison.Ordinal) && path.Length > root.Length)
        {
            return (Relative(path[root.Length..]), true);
        }

        if (Path.IsPathRooted(path))
        {
            return (new Uri(path).AbsoluteUri, false);
        }

        return (path.Length == 0 ? null : Relative(path), false);
    }

    private static string Relative(string path) => Uri.EscapeDataString(path).Replace("%2F", "/", StringComparison.Ordinal);

    // The bot's frame lines: "#3 parse_record /src/p.c:21", "#4 fuzzer::RunOneTest (/tmp/t)", "#5 main".
    private static Frame? ParseFrame(string line)
    {
        var match = FrameLine().Match(line);
        if (!match.Success)
        {
            return null;
        }

        int? lineNumber = match.Groups["line"].Success ? int.Parse(match.Groups["line"].Value, CultureInfo.InvariantCulture) : null;
        var file = match.Groups["file"].Success ? match.Groups["file"].Value : null;
        return new Frame(match.Groups["function"].Value, file, lineNumber);
    }

    private sealed record Frame(string Function, string? File, int? Line);

    [GeneratedRegex(@" (READ|WRITE|UNKNOWN)( \S+)?\z")]
    private static partial Regex AccessSuffix();

    [GeneratedRegex(@"^#\d+ (?<function>.+?)(?: (?<file>[^ ()]+):(?<line>\d+)| \((?<module>[^)]*)\)| (?<file>[^ ()]+\.(?:o|a|so|c|cc|cpp|h)))?\z")]
    private static partial Regex FrameLine();
}
