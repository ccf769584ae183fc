using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using Xunit.Abstractions;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Thousands of generated hostile requests (malformed, oversized, truncated, wrongly typed, out of range, unknown ids,
/// escaping archives, no or a wrong token) against a real node that holds a finished campaign with a real crash: every
/// answer is a 4xx problem, never a 5xx; the node stays up and ready; nothing it held before changed and nothing was
/// created. The generator is seeded: the seed is printed, and PANDAFUZZ_HOSTILE_SEED replays a run.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed partial class HostileInputTests(TargetBuilder targets, ITestOutputHelper output) : EndToEndTest
{
    private static readonly int Requests = TestProfile.Pick(ci: 3000, longRun: 20_000);
    private const int Concurrency = 32;
    private const long MaxTargetBytes = 8 * 1024 * 1024;
    private const string ProblemBase = "https://pandafuzz.dev/problems/";

    /// <summary>One request of the barrage and the status class it must get (any 4xx unless <see cref="Status"/> says which).</summary>
    public sealed record HostileRequest(string What, HttpMethod Method, string Path, byte[]? Body, string? ContentType, bool Token = true, int? Status = null)
    {
        /// <summary>More headers to send: name and value.</summary>
        public IReadOnlyList<(string Name, string Value)> Headers { get; init; } = [];

        public override string ToString() =>
            $"{What}: {Method} {(Path.Length > 200 ? Path[..200] + "…" : Path)} ({Body?.Length ?? 0} bytes{(Token ? "" : ", no token")})";
    }

    [Fact]
    public Task A_barrage_of_hostile_requests_gets_only_problems_and_loses_nothing() =>
        Env.RunAsync(TimeSpan.FromMinutes(5), async ct =>
        {
            // Arrange: a node with a small target limit (so oversized uploads are cheap) holding a finished campaign with a crash.
            var hocon = Path.Combine(Env.Root, "hocon");
            Directory.CreateDirectory(hocon);
            foreach (var file in Directory.GetFiles(Path.Combine(RepoLayout.Root, "hocon"), "*.conf"))
            {
                File.Copy(file, Path.Combine(hocon, Path.GetFileName(file)));
            }

            File.AppendAllText(Path.Combine(hocon, "master.conf"), $"\npandafuzz.master.max-target-size = {MaxTargetBytes}\n");
            var options = Env.NewNodeOptions("node", "master,bot") with
            {
                Environment = new Dictionary<string, string> { ["PANDAFUZZ_HOCON_DIR"] = hocon },
            };
            var node = await Env.StartReadyNodeAsync(options, ct);
            using var api = new ApiClient(node.Options.BaseAddress);
            var target = await FuzzingFlow.UploadAsync(api, targets.PlantedBug, ct);
            var campaign = await FuzzingFlow.CreateCampaignAsync(api, new CampaignRequest("kept", target.Id, Engine: "libfuzzer", Jobs: 1, DurationSeconds: 8), ct);
            var crashes = await FuzzingFlow.WaitForCrashesAsync(api, campaign.Id, node.EnsureRunning, ct);
            // Every bug minimized, then the campaign completed with every job ended: a crash's first stored sample can reach the
            // campaign after its job's end and add its minimization to the completed campaign, changing it during the barrage.
            await Eventually.SatisfyAsync("every bug is minimized", TimeSpan.FromMinutes(2), c => api.GetCampaignBugsAsync(campaign.Id, c),
                bugs => bugs.Count > 0 && bugs.All(b => b.Minimized is not null), ct, node.EnsureRunning);
            await FuzzingFlow.WaitForCampaignAsync(api, campaign.Id, "the campaign completed and its jobs ended",
                c => c.Status == "completed"
                     && c.Jobs!.All(j => States.Is(j.State, States.Completed) || States.Is(j.State, States.Failed) || States.Is(j.State, States.Cancelled)),
                node.EnsureRunning, ct);
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = Concurrency })
            {
                BaseAddress = node.Options.BaseAddress,
                Timeout = TimeSpan.FromSeconds(60),
            };
            var kept = await Snapshot(http, campaign.Id, crashes[0].Id, ct);

            var seed = ulong.TryParse(Environment.GetEnvironmentVariable("PANDAFUZZ_HOSTILE_SEED"), out var replay) ? replay : (ulong)Random.Shared.NextInt64();
            output.WriteLine($"seed {seed} (PANDAFUZZ_HOSTILE_SEED={seed} replays this barrage)");
            var barrage = Barrage(target.Id, campaign.Id).Sample(Requests, new Rnd(seed, 0x9E3779B97F4A7C15UL), 50);

            // Act
            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
            await Parallel.ForEachAsync(barrage, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = ct }, async (request, token) =>
            {
                var (status, problem) = await Send(http, request, token);
                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                if (Judge(request, status, problem) is { } failure)
                {
                    failures.Add(failure);
                }
            });

            // Assert: only problems, the node up and ready, and what it held unchanged.
            output.WriteLine($"{barrage.Length} requests; statuses: " + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
            failures.Should().BeEmpty("every hostile request gets a 4xx problem (seed {0}); the first ones:\n{1}", seed, string.Join("\n", failures.Take(10)));
            statuses.Keys.Should().Contain([400, 401, 404, 405, 413, 414, 431], "the barrage reaches every kind of refusal");
            node.EnsureRunning();
            using (var ready = await http.GetAsync("readyz", ct))
            {
                ready.StatusCode.Should().Be(HttpStatusCode.OK, "the node is still ready after the barrage");
            }

            (await Snapshot(http, campaign.Id, crashes[0].Id, ct)).Should().Be(kept, "no campaign, job or crash changed");
            using var list = await http.GetAsync("api/v1/campaigns", ct);
            list.Headers.GetValues("X-Total-Count").Single().Should().Be("1", "no hostile request created a campaign");
            File.ReadAllText(node.Options.LogPath).Should().NotContain(ApiClient.TestToken, "the API token is never logged, however often it is sent");
        });

    /// <summary>What the node holds, as its API shows it, minus what moves by itself (bots check in).</summary>
    private static async Task<string> Snapshot(HttpClient http, string campaignId, string crashId, CancellationToken ct)
    {
        var parts = new List<string>();
        foreach (var path in new[] { $"api/v1/campaigns/{campaignId}", $"api/v1/campaigns/{campaignId}/crashes", $"api/v1/crashes/{crashId}", $"api/v1/campaigns/{campaignId}/corpus" })
        {
            parts.Add(await http.GetStringAsync(path, ct));
        }

        var input = await http.GetByteArrayAsync($"api/v1/crashes/{crashId}/input", ct);
        parts.Add(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(input)));
        return string.Join("\n", parts);
    }

    private static async Task<(int Status, JsonElement? Problem)> Send(HttpClient http, HostileRequest request, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(request.Method, request.Path);
        if (request.Body is { } body)
        {
            message.Content = new ByteArrayContent(body);
            // As curl does for big bodies: the node refuses one it will not read before it is sent, instead of
            // closing the connection under a client still writing it.
            message.Headers.ExpectContinue = body.Length > 64 * 1024;
            if (request.ContentType is { } type)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            }
        }

        if (request.Token)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiClient.TestToken);
        }

        foreach (var (name, value) in request.Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(message, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        JsonElement? problem = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            try
            {
                problem = JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
            }
        }

        return ((int)response.StatusCode, problem);
    }

    private static string? Judge(HostileRequest request, int status, JsonElement? problem)
    {
        if (status is < 400 or > 499 || (request.Status is { } expected && status != expected))
        {
            return $"{request} → {status}, expected {(request.Status?.ToString() ?? "4xx")}";
        }

        if (problem is not { } p || !p.TryGetProperty("type", out var type) || type.GetString()?.StartsWith(ProblemBase, StringComparison.Ordinal) != true
            || !p.TryGetProperty("status", out var s) || s.GetInt32() != status)
        {
            return $"{request} → {status} without a problem body of a PandaFuzz type";
        }

        // A problem names fields, never the .NET types behind them.
        if (DotNetTypeName().Match(p.GetRawText()) is { Success: true } leak)
        {
            return $"{request} → {status} with a .NET type name in its problem: {leak.Value}";
        }

        return null;
    }

    // --- Generators -------------------------------------------------------------------------------------------

    private static readonly string[] NastyStrings =
    [
        "", " ", "../../etc/passwd", "..%2f..%2fetc", "%00", "\0", "a\0b", "<script>alert(1)</script>", "' OR 1=1 --", "😀💥",
        "\u202e", "CON", "nul", "\\\\server\\share", "${jndi:ldap://x}", "{{7*7}}", "\r\nX-Injected: 1", new string('A', 5000),
        "-1", "0", "NaN", "Infinity", "1e309", "9223372036854775808", "null", "true", "[]", "{}",
    ];

    private static Gen<string> AnyString =>
        Gen.OneOf(
            Gen.Elements(NastyStrings),
            Gen.Choose(0, 300).SelectMany(n => Gen.Choose(1, 0xFFFF).Select(c => (char)c).ArrayOf(n)).Select(cs => new string(cs)));

    /// <summary>Text that is not a valid name (1-100 of letters, digits, space, '.', '_', '-', starting with a letter or digit).</summary>
    private static Gen<string> BadName =>
        AnyString.Where(s => !System.Text.RegularExpressions.Regex.IsMatch(s, "^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}\\z"));

    /// <summary>
    /// A path segment no entity has: junk, or a well-shaped id nobody made. Never empty or dots (those change the route),
    /// and never NUL: Kestrel refuses a request target holding one itself, with a bare 400, before the API sees it.
    /// </summary>
    private static Gen<string> UnknownId =>
        Gen.OneOf(
            AnyString,
            Gen.Constant(Guid.NewGuid().ToString("N")),
            Gen.Choose(0, 64).SelectMany(n => Gen.Elements("0123456789abcdef".ToCharArray()).ArrayOf(n)).Select(cs => new string(cs)))
        .Select(s => s.Trim().Trim('.'))
        .Where(s => s.Length > 0 && s != "-" && !s.Contains('\0'));

    private static string Seg(string text) => Uri.EscapeDataString(text);

    private static Gen<HostileRequest> Barrage(string targetId, string campaignId) =>
        Gen.Frequency(
            (30, CampaignBodies(targetId)),
            (15, UnknownIdReads(campaignId)),
            (10, BadQueries()),
            (10, TargetUploads()),
            (10, ArchiveUploads(campaignId)),
            (10, UnknownIdWrites()),
            (5, WithoutToken(targetId, campaignId)),
            (5, WrongRoutesAndMethods()),
            (5, BadLogLevels()),
            (3, Oversized()));

    [System.Text.RegularExpressions.GeneratedRegex(@"\b(PandaFuzz|System|Microsoft)\.[A-Z][A-Za-z]+")]
    private static partial System.Text.RegularExpressions.Regex DotNetTypeName();

    /// <summary>A path and query, or headers, past the API's limits (not Kestrel's, far above): 414 and 431 problems.</summary>
    private static Gen<HostileRequest> Oversized()
    {
        var longQuery = Gen.Choose(9_000, 60_000).Select(n => new HostileRequest($"a query of {n} characters", HttpMethod.Get, "api/v1/campaigns?name=" + new string('q', n), null, null, Status: 414));
        var bigHeader = Gen.Choose(33_000, 60_000).Select(n => new HostileRequest($"a header of {n} bytes", HttpMethod.Get, "api/v1/campaigns", null, null, Status: 431)
        {
            Headers = [("X-Padding", new string('h', n))],
        });
        var manyHeaders = Gen.Choose(101, 190).Select(n => new HostileRequest($"{n} headers", HttpMethod.Get, "api/v1/jobs", null, null, Status: 431)
        {
            Headers = [.. Enumerable.Range(0, n).Select(i => ($"X-H{i}", "v"))],
        });
        // Reads need no token here: a Host the API does not answer to (a DNS-rebinding page's) is refused.
        var rebound = Gen.Elements("rebound.example", "evil.example:8080", "127.0.0.1.nip.io")
            .Select(host => new HostileRequest($"a request for host {host}", HttpMethod.Get, "api/v1/campaigns", null, null, Status: 400)
            {
                Headers = [("Host", host)],
            });
        return Gen.OneOf(longQuery, bigHeader, manyHeaders, rebound);
    }

    private static HostileRequest Json(string what, string path, string json, int? status = null) =>
        new(what, HttpMethod.Post, path, Encoding.UTF8.GetBytes(json), "application/json", Status: status);

    private static Gen<HostileRequest> CampaignBodies(string targetId)
    {
        JsonObject Valid() => new()
        {
            ["name"] = "valid-name", ["targetId"] = targetId, ["engine"] = "libfuzzer", ["jobs"] = 1, ["durationSeconds"] = 60,
            ["memoryLimitMb"] = 2048, ["timeoutMs"] = 1000,
        };

        var badValues = new (string Field, JsonNode? Value)[]
        {
            ("jobs", 0), ("jobs", -1), ("jobs", 257), ("jobs", "3"), ("jobs", true), ("jobs", 1.5), ("jobs", new JsonArray()), ("jobs", null),
            ("durationSeconds", 0), ("durationSeconds", -60), ("durationSeconds", 30 * 24 * 3600 + 1), ("durationSeconds", "forever"), ("durationSeconds", null),
            ("memoryLimitMb", 1), ("memoryLimitMb", 63), ("memoryLimitMb", 1024 * 1024 + 1), ("memoryLimitMb", "lots"),
            ("timeoutMs", 0), ("timeoutMs", 3_600_001), ("timeoutMs", -5), ("timeoutMs", new JsonObject()),
            ("engine", "honggfuzz"), ("engine", 5), ("engine", ""), ("engine", "LIBFUZZER "),
            ("targetId", "zz"), ("targetId", new string('0', 64)), ("targetId", 123), ("targetId", null), ("targetId", targetId.ToUpperInvariant() + "0"),
            ("targets", new JsonObject { ["junk"] = targetId }), ("targets", new JsonObject { ["libfuzzer"] = "zz" }), ("targets", new JsonArray()),
            ("engines", new JsonArray((JsonNode?)null)), ("engines", new JsonArray("junk")), ("engines", "libfuzzer"), ("engines", new JsonArray(1)),
            ("dictionary", new string('d', 64 * 1024 + 1)), ("dictionary", 7),
            ("seedCorpusId", "nope"), ("seedCorpusId", new string('a', 64)),
            ("name", null), ("name", 12),
        };

        var fieldMutation = Gen.Elements(badValues).Select(bad =>
        {
            var body = Valid();
            body[bad.Field] = bad.Value?.DeepClone();
            if (bad.Field == "targets")
            {
                body.Remove("targetId");
            }

            return Json($"campaign with {bad.Field} = {bad.Value?.ToJsonString() ?? "null"}", "api/v1/campaigns", body.ToJsonString());
        });
        var badName = BadName.Select(name =>
        {
            var body = Valid();
            body["name"] = name;
            return Json("campaign with a bad name", "api/v1/campaigns", body.ToJsonString());
        });
        var valid = Valid().ToJsonString();
        var truncated = Gen.Choose(0, valid.Length - 1).Select(n => Json($"campaign body cut at {n}", "api/v1/campaigns", valid[..n]));
        var junk = AnyString.Where(s => s.Trim() is not ("{}" or "null")).Select(s => Json("campaign body of junk text", "api/v1/campaigns", s));
        var shapes = Gen.Elements("[]", "null", "42", "\"a string\"", "{\"name\":", "{}}", new string('[', 5000) + new string(']', 5000), "{\"name\":\"x\",\"name\":{}}")
            .Select(s => Json($"campaign body {(s.Length > 20 ? s[..20] + "…" : s)}", "api/v1/campaigns", s));
        var oversized = Gen.Constant(Json("campaign body over the JSON limit", "api/v1/campaigns",
            "{\"name\":\"" + new string('n', 300 * 1024) + "\"}", status: 413));
        var randomBytes = Gen.Choose(1, 2000).SelectMany(n => Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(n))
            .Select(bytes => new HostileRequest("campaign body of random bytes", HttpMethod.Post, "api/v1/campaigns", bytes, "application/json"));
        return Gen.Frequency((8, fieldMutation), (3, badName), (3, truncated), (2, junk), (2, shapes), (1, oversized), (2, randomBytes));
    }

    private static Gen<HostileRequest> UnknownIdReads(string campaignId)
    {
        var templates = new[]
        {
            "api/v1/campaigns/{0}", "api/v1/campaigns/{0}/crashes", "api/v1/campaigns/{0}/crashes.sarif", "api/v1/campaigns/{0}/stats",
            "api/v1/campaigns/{0}/corpus", "api/v1/campaigns/{0}/corpus/archive", "api/v1/crashes/{0}", "api/v1/crashes/{0}/input",
            "api/v1/crashes/{0}/input/minimized", "api/v1/jobs/{0}", "api/v1/jobs/{0}/stats", "api/v1/bots/{0}",
            $"api/v1/campaigns/{campaignId}/crash-inputs/{{0}}",
        };
        return from template in Gen.Elements(templates)
               from id in UnknownId
               select new HostileRequest("read of an unknown id", HttpMethod.Get, string.Format(System.Globalization.CultureInfo.InvariantCulture, template, Seg(id)), null, null);
    }

    private static Gen<HostileRequest> BadQueries()
    {
        var cases = new (string Route, string Parameter, string[] Values)[]
        {
            ("campaigns", "limit", ["0", "-1", "1001", "abc", "1e3", " 5", "99999999999"]),
            ("jobs", "offset", ["-1", "x", "1.5", "99999999999"]),
            ("campaigns", "status", ["runnin", "0", "RUNNING!", "1", ""]),
            ("jobs", "status", ["done", "7"]),
            ("bots", "status", ["alive", "2"]),
            ("campaigns", "engine", ["honggfuzz", "", "lib fuzzer"]),
            ("jobs", "since", ["yesterday", "2026-13-45", "0x10"]),
            ("crashes", "security", ["maybe", "2", ""]),
            ("crashes", "campaign", ["../x", "zz", "💥"]),
            ("jobs", "bot", ["", new string('b', 300)]),
            ("crashes", "kind", ["", new string('k', 201)]),
        };
        return from c in Gen.Elements(cases)
               from value in Gen.Elements(c.Values)
               select new HostileRequest($"list {c.Route} with {c.Parameter}={value}", HttpMethod.Get, $"api/v1/{c.Route}?{c.Parameter}={Seg(value)}", null, null, Status: 400);
    }

    private static Gen<HostileRequest> TargetUploads()
    {
        var badName = BadName.Select(name => new HostileRequest("target with a bad name", HttpMethod.Post, $"api/v1/targets?name={Seg(name)}", [0x7f, (byte)'E', (byte)'L', (byte)'F'], "application/octet-stream", Status: 400));
        var noName = Gen.Constant(new HostileRequest("target without a name", HttpMethod.Post, "api/v1/targets", [1, 2, 3], "application/octet-stream", Status: 400));
        var empty = Gen.Constant(new HostileRequest("empty target", HttpMethod.Post, "api/v1/targets?name=empty", [], "application/octet-stream", Status: 400));
        var oversized = Gen.Constant(new HostileRequest("target over the size limit", HttpMethod.Post, "api/v1/targets?name=huge", new byte[MaxTargetBytes + 1], "application/octet-stream", Status: 413));
        return Gen.Frequency((6, badName), (2, noName), (2, empty), (1, oversized));
    }

    private static Gen<HostileRequest> ArchiveUploads(string campaignId)
    {
        var archives = Gen.OneOf(
            Gen.Elements(
                ("zip escaping its root", Zip(("../../escape", [1]))),
                ("zip with an absolute name", Zip(("/etc/cron.d/x", [1]))),
                ("tar with a symlink", Tar(new PaxTarEntry(TarEntryType.SymbolicLink, "link") { LinkName = "/etc/shadow" })),
                ("tar with a hard link", Tar(new PaxTarEntry(TarEntryType.HardLink, "hard") { LinkName = "x" })),
                ("tar escaping its root", Tar(new PaxTarEntry(TarEntryType.RegularFile, "../x") { DataStream = new MemoryStream([1]) })),
                ("zip bomb", Zip([.. Enumerable.Range(0, 12).Select(i => ($"zeros{i}", new byte[1024 * 1024]))])),
                ("empty zip", Zip()),
                ("empty body", Array.Empty<byte>()),
                ("gzip of nothing", new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 })),
            Gen.Choose(1, 3000).SelectMany(n => Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(n)).Select(b => ("random bytes", b)),
            Gen.Choose(10, 60).Select(n => ("truncated zip", Zip(("seed", Encoding.ASCII.GetBytes(new string('s', 100)))).AsSpan(0, n).ToArray())));
        var route = Gen.Elements("api/v1/corpora?name=seeds", $"api/v1/campaigns/{campaignId}/corpus");
        return from archive in archives
               from path in route
               select new HostileRequest(archive.Item1, HttpMethod.Post, path, archive.Item2, "application/zip", Status: 400);
    }

    private static Gen<HostileRequest> UnknownIdWrites()
    {
        var templates = new[]
        {
            "api/v1/campaigns/{0}/stop", "api/v1/jobs/{0}/cancel", "api/v1/bots/{0}/drain", "api/v1/bots/{0}/resume",
            "api/v1/campaigns/{0}/corpus/minimize", "api/v1/campaigns/{0}/corpus",
        };
        var unknown = from template in Gen.Elements(templates)
                      from id in UnknownId
                      select new HostileRequest("write to an unknown id", HttpMethod.Post, string.Format(System.Globalization.CultureInfo.InvariantCulture, template, Seg(id)), Zip(("seed", [1])), "application/zip");
        var minimizeLimit = Gen.Elements("0", "9", "86401", "-1", "ten", "1e5", "99999999999")
            .Select(v => new HostileRequest($"minimize with timeLimitSeconds={v}", HttpMethod.Post, $"api/v1/campaigns/{Guid.NewGuid():N}/corpus/minimize?timeLimitSeconds={v}", null, null));
        return Gen.OneOf(unknown, minimizeLimit);
    }

    private static Gen<HostileRequest> WithoutToken(string targetId, string campaignId)
    {
        var valid = $"{{\"name\":\"sneaky\",\"targetId\":\"{targetId}\",\"engine\":\"libfuzzer\",\"jobs\":1,\"durationSeconds\":60}}";
        return Gen.Elements(
            new HostileRequest("campaign without a token", HttpMethod.Post, "api/v1/campaigns", Encoding.UTF8.GetBytes(valid), "application/json", Token: false, Status: 401),
            new HostileRequest("stop without a token", HttpMethod.Post, $"api/v1/campaigns/{campaignId}/stop", null, null, Token: false, Status: 401),
            new HostileRequest("target without a token", HttpMethod.Post, "api/v1/targets?name=t", [1], "application/octet-stream", Token: false, Status: 401),
            new HostileRequest("log levels without a token", HttpMethod.Put, "api/v1/admin/log-levels", "{\"default\":\"verbose\"}"u8.ToArray(), "application/json", Token: false, Status: 401));
    }

    private static Gen<HostileRequest> WrongRoutesAndMethods()
    {
        var unknownRoute = UnknownId.Select(id => new HostileRequest("unknown route", HttpMethod.Get, $"api/v1/no-such-route/{Seg(id)}", null, null, Status: 404));
        var wrongMethod = Gen.Elements(
                (HttpMethod.Delete, "api/v1/campaigns"), (HttpMethod.Put, "api/v1/targets"), (HttpMethod.Patch, "api/v1/queue"),
                (HttpMethod.Delete, "api/v1/bots"), (HttpMethod.Post, "api/v1/crashes"), (HttpMethod.Put, "api/v1/jobs"))
            .Select(r => new HostileRequest("wrong method", r.Item1, r.Item2, null, null, Status: 405));
        return Gen.OneOf(unknownRoute, wrongMethod);
    }

    private static Gen<HostileRequest> BadLogLevels() =>
        Gen.Elements("{\"default\":\"loud\"}", "{\"levels\":{\"Akka\":\"chatty\"}}", "{\"levels\":{\"\":\"debug\"}}", "{\"default\":5}", "[1]", "{\"levels\":7}", "{")
            .Select(body => new HostileRequest("bad log levels", HttpMethod.Put, "api/v1/admin/log-levels", Encoding.UTF8.GetBytes(body), "application/json", Status: 400));

    private static byte[] Zip(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var stream = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    private static byte[] Tar(params TarEntry[] entries)
    {
        using var buffer = new MemoryStream();
        using (var tar = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                tar.WriteEntry(entry);
            }
        }

        return buffer.ToArray();
    }
}
