using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PandaFuzz.CommandHost.Palettes;

/// <summary>Reading the API's JSON for the text views.</summary>
internal static class Json
{
    public static string S(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()
            : "-";

    public static JsonElement P(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : default;

    public static IEnumerable<JsonElement> Items(this JsonElement e) => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray() : [];

    public static string Time(this JsonElement e, string name) =>
        DateTimeOffset.TryParse(e.S(name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "-";
}

/// <summary>Shared by the fuzzing palettes: an id argument, and printing a result as text or JSON.</summary>
internal static class Fuzzing
{
    public static Argument<string> Id(string what) => new("id") { Description = $"The {what}'s id" };

    public static Task ShowAsync(CommandSession session, JsonElement value, string text) => session.Json ? session.JsonAsync(value) : session.OutAsync(text);

    public static string Fields(params (string Name, string Value)[] fields)
    {
        var width = fields.Max(f => f.Name.Length);
        return string.Join('\n', fields.Select(f => $"{f.Name.PadRight(width)}  {f.Value}"));
    }
}

/// <summary><c>campaign list | show ID | stop ID | priority ID N | clone ID | watch ID | coverage ID</c>.</summary>
public sealed class CampaignPalette(GatewayClient api) : ICommandPalette
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(1);

    /// <summary>The exit code of <c>campaign watch --fail-on-crash</c> once the campaign has a bug (1 is a failed command).</summary>
    public const int FoundABug = 2;

    public Command Build(CommandSession session)
    {
        var palette = new Command("campaign", "Campaigns: list, show, stop, priority, clone, watch, coverage");
        var list = new Command("list", "Every campaign, oldest first");
        list.SetAction(async (_, ct) =>
        {
            var campaigns = await api.GetAsync("campaigns?limit=1000", ct);
            await Fuzzing.ShowAsync(session, campaigns, Table.Render(
                ["ID", "NAME", "ENGINE", "STATUS", "JOBS", "CRASHES", "CREATED"],
                campaigns.Items().Select(c => (IReadOnlyList<string>)[c.S("id"), c.S("name"), c.S("engine"), c.S("status"), c.S("jobCount"), c.S("crashCount"), c.Time("createdAt")])));
        });
        palette.Subcommands.Add(list);

        var showId = Fuzzing.Id("campaign");
        var show = new Command("show", "One campaign: its spec, jobs, progress and unique crashes") { showId };
        show.SetAction(async (parse, ct) =>
        {
            var c = await api.GetAsync($"campaigns/{Uri.EscapeDataString(parse.GetValue(showId)!)}", ct);
            await Fuzzing.ShowAsync(session, c, Describe(c) + "\n\n" + Table.Render(
                ["JOB", "ENGINE", "STATE", "BOT", "EXECS", "EXEC/S"],
                c.P("jobs").Items().Select(j => (IReadOnlyList<string>)[j.S("id"), j.S("engine"), j.S("state"), j.S("botId"), j.P("stats").S("execs"), j.P("stats").S("execsPerSecond")])));
        });
        palette.Subcommands.Add(show);

        var stopId = Fuzzing.Id("campaign");
        var stop = new Command("stop", "Stops a campaign: its jobs are cancelled, what they found is kept") { stopId };
        stop.SetAction(async (parse, ct) =>
        {
            var c = await api.PostAsync($"campaigns/{Uri.EscapeDataString(parse.GetValue(stopId)!)}/stop", ct);
            await Fuzzing.ShowAsync(session, c, $"campaign {c.S("id")} is {c.S("status")}");
        });
        palette.Subcommands.Add(stop);

        var priorityId = Fuzzing.Id("campaign");
        var priorityValue = new Argument<int>("priority") { Description = "1 to 1000: the campaign's share of free slots (default 1)" };
        var priority = new Command("priority", "Sets a running campaign's priority: the queue's order and the next free slots follow it") { priorityId, priorityValue };
        priority.SetAction(async (parse, ct) =>
        {
            var c = await api.PatchAsync($"campaigns/{Uri.EscapeDataString(parse.GetValue(priorityId)!)}", new { priority = parse.GetValue(priorityValue) }, ct);
            await Fuzzing.ShowAsync(session, c, $"campaign {c.S("id")} has priority {c.S("priority")}");
        });
        palette.Subcommands.Add(priority);

        var cloneId = Fuzzing.Id("campaign");
        var cloneName = new Option<string?>("--name") { Description = "The clone's name (default: the campaign's with -clone)" };
        var cloneBuild = new Option<int?>("--build") { Description = "Fuzz this build of the campaign's target instead (pinned)" };
        var cloneNewest = new Option<bool>("--newest-build") { Description = "Fuzz the target's newest build instead" };
        var clone = new Command("clone", "Starts a new campaign with a campaign's settings and its current corpus") { cloneId, cloneName, cloneBuild, cloneNewest };
        clone.SetAction(async (parse, ct) =>
        {
            var c = await api.PostJsonAsync($"campaigns/{Uri.EscapeDataString(parse.GetValue(cloneId)!)}/clone",
                new { name = parse.GetValue(cloneName), build = parse.GetValue(cloneBuild), newestBuild = parse.GetValue(cloneNewest) ? true : (bool?)null }, ct);
            await Fuzzing.ShowAsync(session, c, $"campaign {c.S("id")} ({c.S("name")}) cloned from {c.S("clonedFrom")}, build {c.S("build")}: its jobs are queued");
        });
        palette.Subcommands.Add(clone);

        var watchId = Fuzzing.Id("campaign");
        var failOnCrash = new Option<bool>("--fail-on-crash")
        {
            Description = $"Stop watching and exit with {FoundABug} as soon as the campaign lists a bug (the campaign runs on): for scripts and CI",
        };
        var watch = new Command("watch", "Live progress (exec/s, coverage, corpus, unique crashes), refreshed until the campaign ends or Ctrl-C")
        {
            watchId, failOnCrash,
        };
        watch.SetAction(async (parse, ct) =>
        {
            var id = Uri.EscapeDataString(parse.GetValue(watchId)!);
            while (true)
            {
                var c = await api.GetAsync($"campaigns/{id}", ct);
                var status = c.S("status");
                if (session.Json)
                {
                    await session.JsonAsync(c);
                }
                else
                {
                    await session.RefreshAsync(Progress(c));
                }

                if (parse.GetValue(failOnCrash) && c.TryGetProperty("bugsTotal", out var bugs) && bugs.GetInt32() > 0)
                {
                    await session.ResultAsync($"campaign {c.S("id")} has {bugs.GetInt32()} bug(s)", new { id = c.S("id"), status, bugs = bugs.GetInt32() });
                    return FoundABug;
                }

                if (status is "completed" or "stopped")
                {
                    await session.ResultAsync($"campaign {c.S("id")} {status} at {c.Time("finishedAt")}", new { id = c.S("id"), status });
                    return 0;
                }

                try
                {
                    await Task.Delay(WatchInterval, ct);
                }
                catch (OperationCanceledException)
                {
                    return 0;
                }
            }
        });
        palette.Subcommands.Add(watch);

        var coverageId = Fuzzing.Id("campaign");
        var coverage = new Command("coverage", "Source coverage: the latest report's totals and the files with the most uncovered lines") { coverageId };
        coverage.SetAction(async (parse, ct) =>
        {
            var id = Uri.EscapeDataString(parse.GetValue(coverageId)!);
            var c = await api.GetAsync($"campaigns/{id}/coverage", ct);
            var files = await api.GetAsync($"campaigns/{id}/coverage/files?sort=uncovered&limit={MostUncovered}", ct);
            // --json: the report as the API answers it, with its files that have the most uncovered lines.
            var json = System.Text.Json.Nodes.JsonNode.Parse(c.GetRawText())!.AsObject();
            json["mostUncovered"] = System.Text.Json.Nodes.JsonNode.Parse(files.GetRawText());
            await Fuzzing.ShowAsync(session, JsonSerializer.SerializeToElement(json), Coverage(c) + "\n\n" + Table.Render(
                ["FILE", "LINES", "UNCOVERED", "FUNCTIONS", "REGIONS"],
                files.Items().Select(f => (IReadOnlyList<string>)[f.S("relativePath") is var relative && relative != "-" ? relative : f.S("path"),
                    Ratio(f.P("lines")), f.S("uncoveredLines"), Ratio(f.P("functions")), Ratio(f.P("regions"))])));
        });
        palette.Subcommands.Add(coverage);
        return palette;
    }

    /// <summary>How many files <c>campaign coverage</c> lists.</summary>
    public const int MostUncovered = 10;

    private static string Coverage(JsonElement c)
    {
        var totals = c.P("totals");
        return Fuzzing.Fields(
            ("campaign", c.S("campaignId")), ("measured", c.Time("measuredAt")), ("job", c.S("jobId")), ("build", c.S("build")),
            ("corpus", $"version {c.S("corpusVersion")}, {c.S("inputs")} inputs"), ("lines", Ratio(totals.P("lines"))),
            ("functions", Ratio(totals.P("functions"))), ("regions", Ratio(totals.P("regions"))), ("files", c.S("files")),
            ("measuring", c.S("measuringJobId")), ("source root", c.S("sourceRoot")), ("report", c.S("reportUrl")));
    }

    private static string Ratio(JsonElement count) => $"{count.S("covered")}/{count.S("count")} ({count.S("percent")}%)";

    private static string Describe(JsonElement c) => Fuzzing.Fields(
        ("id", c.S("id")), ("name", c.S("name")), ("status", c.S("status")), ("engine", c.S("engine")), ("target", c.S("targetId")),
        ("jobs", c.S("jobCount")), ("duration", c.S("durationSeconds") + " s"), ("priority", c.S("priority")), ("created", c.Time("createdAt")), ("finished", c.Time("finishedAt")),
        ("bugs", c.S("bugsTotal")), ("unique crashes", c.S("crashesTotal")));

    private static string Progress(JsonElement c)
    {
        var stats = c.P("stats");
        var jobs = c.P("jobs").Items().ToList();
        var text = new StringBuilder();
        text.AppendLine($"campaign {c.S("id")} ({c.S("name")}): {c.S("status")}, {DateTimeOffset.UtcNow:HH:mm:ss}");
        text.AppendLine($"  exec/s {stats.S("execsPerSecond")}  execs {stats.S("execs")}  coverage {stats.S("coverage")}  corpus {stats.S("corpusUnits")}  bugs {c.S("bugsTotal")}  unique crashes {c.S("crashesTotal")}");
        text.Append($"  jobs: {string.Join(", ", jobs.GroupBy(j => j.S("state")).Select(g => $"{g.Count()} {g.Key}"))}");
        return text.ToString();
    }
}

/// <summary><c>job list [-c CAMPAIGN] [-s STATE] | show ID | cancel ID</c>.</summary>
public sealed class JobPalette(GatewayClient api) : ICommandPalette
{
    public Command Build(CommandSession session)
    {
        var palette = new Command("job", "Jobs: list, show, cancel");
        var campaign = new Option<string?>("-c", "--campaign") { Description = "Only this campaign's jobs" };
        var state = new Option<string?>("-s", "--state") { Description = "Only jobs in this state (pending, assigned, running, completed, failed, cancelled)" };
        var list = new Command("list", "Jobs, oldest first") { campaign, state };
        list.SetAction(async (parse, ct) =>
        {
            var query = "jobs?limit=1000" + (parse.GetValue(campaign) is { } c ? $"&campaign={Uri.EscapeDataString(c)}" : "")
                        + (parse.GetValue(state) is { } s ? $"&status={Uri.EscapeDataString(s)}" : "");
            var jobs = await api.GetAsync(query, ct);
            await Fuzzing.ShowAsync(session, jobs, Table.Render(
                ["ID", "CAMPAIGN", "TASK", "ENGINE", "STATE", "BOT", "CREATED"],
                jobs.Items().Select(j => (IReadOnlyList<string>)[j.S("id"), j.S("campaignId"), j.S("task"), j.S("engine"), j.S("state"), j.S("botId"), j.Time("createdAt")])));
        });
        palette.Subcommands.Add(list);

        var showId = Fuzzing.Id("job");
        var show = new Command("show", "One job with its live stats") { showId };
        show.SetAction(async (parse, ct) =>
        {
            var j = await api.GetAsync($"jobs/{Uri.EscapeDataString(parse.GetValue(showId)!)}", ct);
            var stats = j.P("stats");
            await Fuzzing.ShowAsync(session, j, Fuzzing.Fields(
                ("id", j.S("id")), ("campaign", j.S("campaignId")), ("task", j.S("task")), ("engine", j.S("engine")), ("state", j.S("state")),
                ("bot", j.S("botId")), ("failure", j.S("failureReason")), ("created", j.Time("createdAt")), ("started", j.Time("startedAt")),
                ("finished", j.Time("finishedAt")), ("execs", stats.S("execs")), ("exec/s", stats.S("execsPerSecond")), ("coverage", stats.S("coverage")),
                ("corpus", stats.S("corpusUnits"))));
        });
        palette.Subcommands.Add(show);

        var cancelId = Fuzzing.Id("job");
        var cancel = new Command("cancel", "Cancels a job: a pending one never runs, a running one is stopped on its bot") { cancelId };
        cancel.SetAction(async (parse, ct) =>
        {
            var j = await api.PostAsync($"jobs/{Uri.EscapeDataString(parse.GetValue(cancelId)!)}/cancel", ct);
            await Fuzzing.ShowAsync(session, j, $"job {j.S("id")} is {j.S("state")}");
        });
        palette.Subcommands.Add(cancel);
        return palette;
    }
}

/// <summary><c>bot list | show ID | drain ID [--resume]</c>.</summary>
public sealed class BotPalette(GatewayClient api) : ICommandPalette
{
    public Command Build(CommandSession session)
    {
        var palette = new Command("bot", "Bots: list, show, drain");
        var list = new Command("list", "Every bot, by id");
        list.SetAction(async (_, ct) =>
        {
            var bots = await api.GetAsync("bots?limit=1000", ct);
            await Fuzzing.ShowAsync(session, bots, Table.Render(
                ["ID", "ADDRESS", "STATE", "DRAINING", "SLOTS", "JOBS", "ENGINES", "LAST SEEN"],
                bots.Items().Select(b => (IReadOnlyList<string>)[b.S("id"), b.S("address"), b.S("state"), b.S("draining"), b.P("capabilities").S("slots"),
                    b.P("currentJobs").Items().Count().ToString(CultureInfo.InvariantCulture),
                    string.Join(",", b.P("capabilities").P("engines").Items().Select(e => e.S("name"))), b.Time("lastSeenAt")])));
        });
        palette.Subcommands.Add(list);

        var showId = Fuzzing.Id("bot");
        var show = new Command("show", "One bot: where it runs, what it can do, what it runs now") { showId };
        show.SetAction(async (parse, ct) =>
        {
            var b = await api.GetAsync($"bots/{Uri.EscapeDataString(parse.GetValue(showId)!)}", ct);
            await Fuzzing.ShowAsync(session, b, Describe(b));
        });
        palette.Subcommands.Add(show);

        var drainId = Fuzzing.Id("bot");
        var resume = new Option<bool>("--resume") { Description = "Put a drained bot back to work" };
        var drain = new Command("drain", "The bot takes no new job; the jobs it runs finish") { drainId, resume };
        drain.SetAction(async (parse, ct) =>
        {
            var action = parse.GetValue(resume) ? "resume" : "drain";
            var b = await api.PostAsync($"bots/{Uri.EscapeDataString(parse.GetValue(drainId)!)}/{action}", ct);
            await Fuzzing.ShowAsync(session, b, b.P("draining").ValueKind == JsonValueKind.True
                ? $"bot {b.S("id")} is draining: no new job; {b.P("currentJobs").Items().Count()} running"
                : $"bot {b.S("id")} takes jobs");
        });
        palette.Subcommands.Add(drain);
        return palette;
    }

    private static string Describe(JsonElement b) => Fuzzing.Fields(
        ("id", b.S("id")), ("address", b.S("address")), ("hostname", b.S("hostname")), ("state", b.S("state")), ("draining", b.S("draining")),
        ("slots", b.P("capabilities").S("slots")), ("memory", b.P("capabilities").S("memoryMb") + " MB"),
        ("engines", string.Join(", ", b.P("capabilities").P("engines").Items().Select(e => $"{e.S("name")} {e.S("version")}"))),
        ("jobs", string.Join(", ", b.P("currentJobs").Items().Select(j => j.GetString()))), ("registered", b.Time("registeredAt")),
        ("last seen", b.Time("lastSeenAt")), ("offline since", b.Time("offlineSince")), ("offline reason", b.S("offlineReason")));
}

/// <summary>
/// <c>bug list -c CAMPAIGN [--status S] | show ID | set ID [--status S] [--url U] [--note N]</c>: a campaign's bugs (unique
/// crashes grouped), one bug with its crashes, and its status, tracker link and note.
/// </summary>
public sealed class BugPalette(GatewayClient api) : ICommandPalette
{
    public Command Build(CommandSession session)
    {
        var palette = new Command("bug", "Bugs (unique crashes that are one bug): list, show, set");
        var campaign = new Option<string>("-c", "--campaign") { Description = "The campaign whose bugs to list", Required = true };
        var listStatus = new Option<string?>("--status") { Description = "Only bugs in this state: open, fixed, regressed, wontfix, duplicate" };
        var list = new Command("list", "A campaign's bugs, first seen first") { campaign, listStatus };
        list.SetAction(async (parse, ct) =>
        {
            var status = parse.GetValue(listStatus) is { } s ? $"&status={Uri.EscapeDataString(s)}" : "";
            var bugs = await api.GetAsync($"campaigns/{Uri.EscapeDataString(parse.GetValue(campaign)!)}/bugs?limit=1000{status}", ct);
            await Fuzzing.ShowAsync(session, bugs, Table.Render(
                ["ID", "STATUS", "KIND", "SIZES", "SECURITY", "CRASHES", "COUNT", "REPRO", "LAST SEEN", "WHERE"],
                bugs.Items().Select(x => (IReadOnlyList<string>)[x.S("id"), x.S("status"), x.S("kind"), x.S("accessSizes"), x.S("security"), x.S("crashCount"), x.S("count"),
                    x.S("reproducibleRate"), x.Time("lastSeen"), x.S("location") is not "-" and var at ? at : x.S("state").Split('\n')[0]])));
        });
        palette.Subcommands.Add(list);

        var showId = Fuzzing.Id("bug");
        var show = new Command("show", "One bug: kind, where, counts, reproduction, and its crashes") { showId };
        show.SetAction(async (parse, ct) =>
        {
            var x = await api.GetAsync($"bugs/{Uri.EscapeDataString(parse.GetValue(showId)!)}", ct);
            await Fuzzing.ShowAsync(session, x, Fuzzing.Fields(
                ("id", x.S("id")), ("status", x.S("status")), ("tracker", x.S("externalUrl")), ("note", x.S("note")), ("campaign", x.S("campaignId")), ("kind", x.S("accessSizes") is not "-" and var sizes ? $"{x.S("kind")} {sizes}" : x.S("kind")), ("security", x.S("security")),
                ("where", x.S("location")), ("state", x.S("state").Replace('\n', ' ')), ("count", x.S("count")),
                ("reproduced", $"{x.S("reproduced")} of {x.S("reproduceAttempts")}"), ("first seen", x.Time("firstSeen")), ("last seen", x.Time("lastSeen")),
                ("minimized", x.P("minimized").S("inputSha256")), ("summary", x.S("summary")))
                + "\n\n" + Table.Render(["CRASH", "KIND", "COUNT", "STATE"],
                    x.P("crashes").Items().Select(c => (IReadOnlyList<string>)[c.S("id"), c.S("kind"), c.S("count"), c.S("state").Replace('\n', ' ')])));
        });
        palette.Subcommands.Add(show);

        var setId = Fuzzing.Id("bug");
        var setStatus = new Option<string?>("--status") { Description = "open, fixed, regressed, wontfix or duplicate" };
        var url = new Option<string?>("--url") { Description = "A link to the bug in your tracker (\"\" clears it)" };
        var note = new Option<string?>("--note") { Description = "A note on the bug (\"\" clears it)" };
        var set = new Command("set", "Set a bug's status, tracker link or note; what is not given stays") { setId, setStatus, url, note };
        set.SetAction(async (parse, ct) =>
        {
            var fields = new Dictionary<string, string>();
            foreach (var (name, option) in new[] { ("status", setStatus), ("externalUrl", url), ("note", note) })
            {
                if (parse.GetValue(option) is { } value)
                {
                    fields[name] = value;
                }
            }

            if (fields.Count == 0)
            {
                throw new CommandFailedException("give --status, --url or --note");
            }

            var x = await api.PatchAsync($"bugs/{Uri.EscapeDataString(parse.GetValue(setId)!)}", fields, ct);
            await session.ResultAsync($"bug {x.S("id")}: {x.S("status")}", x);
        });
        palette.Subcommands.Add(set);
        return palette;
    }
}

/// <summary><c>crash list [-c CAMPAIGN] | show ID | get ID -o FILE [--minimized] | bundle ID -o FILE</c>.</summary>
public sealed class CrashPalette(GatewayClient api) : ICommandPalette
{
    public Command Build(CommandSession session)
    {
        var palette = new Command("crash", "Unique crashes: list, show, get");
        var campaign = new Option<string?>("-c", "--campaign") { Description = "Only this campaign's crashes" };
        var list = new Command("list", "Unique crashes, newest last") { campaign };
        list.SetAction(async (parse, ct) =>
        {
            var query = "crashes?limit=1000" + (parse.GetValue(campaign) is { } c ? $"&campaign={Uri.EscapeDataString(c)}" : "");
            var crashes = await api.GetAsync(query, ct);
            await Fuzzing.ShowAsync(session, crashes, Table.Render(
                ["ID", "BUG", "KIND", "SECURITY", "COUNT", "REPRO", "LAST SEEN", "STATE"],
                crashes.Items().Select(x => (IReadOnlyList<string>)[x.S("id"), x.S("bugId"), x.S("kind"), x.S("security"), x.S("count"), x.S("reproducibleRate"), x.Time("lastSeen"),
                    x.S("state").Replace('\n', ' ')])));
        });
        palette.Subcommands.Add(list);

        var showId = Fuzzing.Id("crash");
        var show = new Command("show", "One unique crash: signature, counts, reproduction, the first report's stack") { showId };
        show.SetAction(async (parse, ct) =>
        {
            var x = await api.GetAsync($"crashes/{Uri.EscapeDataString(parse.GetValue(showId)!)}", ct);
            await Fuzzing.ShowAsync(session, x, Fuzzing.Fields(
                ("id", x.S("id")), ("bug", x.S("bugId")), ("campaign", x.S("campaignId")), ("kind", x.S("kind")), ("access sizes", x.S("accessSizes")),
                ("security", x.S("security")), ("signature", x.S("signature")),
                ("count", x.S("count")), ("reproduced", $"{x.S("reproduced")} of {x.S("reproduceAttempts")}"), ("first seen", x.Time("firstSeen")),
                ("last seen", x.Time("lastSeen")), ("input", $"{x.S("inputSha256")} ({x.S("inputSize")} bytes)"),
                ("minimized", x.P("minimized").S("inputSha256")), ("summary", x.S("summary")))
                + "\n\n" + string.Join('\n', x.P("stack").Items().Select(f => f.GetString())));
        });
        palette.Subcommands.Add(show);

        var getId = Fuzzing.Id("crash");
        var file = new Option<string>("-o", "--output") { Description = "The file to write the input to (on the machine running pandafuzz-cmd)", Required = true };
        var minimized = new Option<bool>("--minimized") { Description = "The minimized input instead of the original" };
        var get = new Command("get", "Downloads a crash's input") { getId, file, minimized };
        get.SetAction(async (parse, ct) =>
        {
            var id = Uri.EscapeDataString(parse.GetValue(getId)!);
            var bytes = await api.GetBytesAsync($"crashes/{id}/input{(parse.GetValue(minimized) ? "/minimized" : "")}", ct);
            var path = parse.GetValue(file)!;
            await session.FileAsync(path, bytes);
            await session.ResultAsync($"wrote {bytes.Length} bytes to {path}", new { path, bytes = bytes.Length });
        });
        palette.Subcommands.Add(get);

        var bundleId = Fuzzing.Id("crash");
        var bundleFile = new Option<string>("-o", "--output") { Description = "The zip to write, where pandafuzz-cmd runs", Required = true };
        var bundle = new Command("bundle", "Downloads a crash's reproduction bundle: its inputs, reproduce.sh, the report") { bundleId, bundleFile };
        bundle.SetAction(async (parse, ct) =>
        {
            var bytes = await api.GetBytesAsync($"crashes/{Uri.EscapeDataString(parse.GetValue(bundleId)!)}/bundle", ct);
            var path = parse.GetValue(bundleFile)!;
            await session.FileAsync(path, bytes);
            await session.ResultAsync($"wrote {bytes.Length} bytes to {path}", new { path, bytes = bytes.Length });
        });
        palette.Subcommands.Add(bundle);
        return palette;
    }
}

/// <summary><c>queue show</c>: pending jobs in the scheduler's order, with position and ETA.</summary>
public sealed class QueuePalette(GatewayClient api) : ICommandPalette
{
    public Command Build(CommandSession session)
    {
        var show = new Command("show", "Pending jobs in order, with their position and when a slot should free up for them");
        show.SetAction(async (_, ct) =>
        {
            var queue = await api.GetAsync("queue", ct);
            var now = DateTimeOffset.UtcNow;
            var table = Table.Render(
                ["POS", "JOB", "CAMPAIGN", "ENGINE", "WAITING", "ETA"],
                queue.P("pending").Items().Select(e => (IReadOnlyList<string>)[e.S("position"), e.S("jobId"), e.S("campaignId"), e.S("engine"),
                    Since(e.S("waitingSince"), now), Eta(e.S("eta"), now)]));
            // The API answers the queue's first page: say how much of it this is.
            var shown = queue.P("pending").Items().Count();
            await Fuzzing.ShowAsync(session, queue,
                $"{table}\n{shown} of {queue.S("total")} pending shown; bots: {queue.S("botsKnown")}, free slots: {queue.S("freeSlots")}");
        });
        return new Command("queue", "The job queue") { show };
    }

    private static string Since(string at, DateTimeOffset now) =>
        DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, out var t) ? $"{(now - t).TotalSeconds:0} s" : "-";

    private static string Eta(string at, DateTimeOffset now) =>
        !DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, out var t) ? "unknown" : t <= now.AddSeconds(1) ? "now" : $"in {(t - now).TotalSeconds:0} s";
}
