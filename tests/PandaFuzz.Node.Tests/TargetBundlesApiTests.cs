using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using PandaFuzz.Testing;
using Xunit;

namespace PandaFuzz.Node.Tests;

/// <summary>
/// Build bundles through <c>POST /api/v1/targets?name=N</c>, over real HTTP and a real target entity: a real bundle
/// (clang-built) becomes a build of kind bundle whose GET lists its fuzz targets, their options, dictionary and seed
/// corpus, the options left out and the shared library; a hostile bundle is a 400 problem that stores nothing.
/// </summary>
public sealed class TargetBundlesApiTests : IAsyncLifetime
{
    private MasterApiHost? _host;
    private BundleProject? _project;

    public async Task InitializeAsync()
    {
        _host = await MasterApiHost.StartAsync();
        _project = await BundleProject.BuildAsync(Path.Combine(_host.Dir, "out"));
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_bundle_upload_is_a_build_that_lists_its_fuzz_targets_and_library()
    {
        using var http = _host!.Client(token: true);
        var bundle = _project!.Zip(Path.Combine(_host.Dir, "bundle.zip"));

        var upload = await Upload(http, "name=bundled&revision=r1", await File.ReadAllBytesAsync(bundle));

        upload.Status.Should().Be(HttpStatusCode.Created, upload.Body.ToString());
        upload.Body.GetProperty("kind").GetString().Should().Be("bundle");
        upload.Body.GetProperty("bundle").GetProperty("targets").GetArrayLength().Should().Be(2);
        // Beside it, a plain binary of the same target is a build too.
        (await Upload(http, "name=bundled", await File.ReadAllBytesAsync(Path.Combine(_project.Dir, "fuzz_check")))).Body.GetProperty("kind").GetString().Should().Be("fuzzer");

        var build = await http.GetFromJsonAsync<JsonElement>("/api/v1/targets/bundled/builds/1");
        build.GetProperty("binaries").EnumerateArray().Select(b => b.GetProperty("kind").GetString()).Should().Equal("bundle");
        var index = build.GetProperty("bundle");
        index.GetProperty("libraries").EnumerateArray().Select(l => l.GetString()).Should().Equal("lib/libbundle.so");
        var targets = index.GetProperty("targets").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        targets.Keys.Should().Equal("fuzz_check", "fuzz_parse");
        var parse = targets["fuzz_parse"];
        parse.GetProperty("path").GetString().Should().Be("fuzz_parse");
        parse.GetProperty("options").GetProperty("libFuzzer").GetProperty("max_len").GetString().Should().Be("64");
        parse.GetProperty("options").GetProperty("asan").GetProperty("detect_stack_use_after_return").GetString().Should().Be("1");
        parse.GetProperty("timeoutMs").GetInt32().Should().Be(25_000);
        parse.GetProperty("dictionary").GetString().Should().Be("fuzz_parse.dict");
        parse.GetProperty("seedCorpus").GetString().Should().Be("fuzz_parse_seed_corpus.zip");
        var ignored = parse.GetProperty("ignoredOptions").EnumerateArray().Single();
        ignored.GetProperty("option").GetString().Should().Be("libfuzzer.close_fd_mask");
        ignored.GetProperty("reason").GetString().Should().Contain("managed by PandaFuzz");
        targets["fuzz_check"].GetProperty("seedCorpus").ValueKind.Should().Be(JsonValueKind.Null);

        var builds = await http.GetFromJsonAsync<JsonElement>("/api/v1/targets/bundled/builds");
        builds[0].GetProperty("bundle").GetProperty("targets").GetArrayLength().Should().Be(2);
        builds[1].GetProperty("bundle").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public async Task Extra_afl_dictionaries_the_bundle_does_not_hold_are_a_problem_naming_them()
    {
        using var http = _host!.Client(token: true);
        var bundle = _project!.Zip(Path.Combine(_host.Dir, "dicts.zip"));
        (await Upload(http, "name=dicts", await File.ReadAllBytesAsync(bundle))).Status.Should().Be(HttpStatusCode.Created);
        (await Upload(http, "name=plain", await File.ReadAllBytesAsync(Path.Combine(_project.Dir, "fuzz_check")))).Status.Should().Be(HttpStatusCode.Created);
        object Campaign(string target, string? fuzzTarget, string x) => new
        {
            name = "dicts", target, fuzzTarget, engine = "aflplusplus", jobs = 1, durationSeconds = 60,
            engineOptions = new { aflplusplus = new { x } },
        };

        // (One that passes becomes a campaign: BundleCampaignTests, on a real node.)
        var missing = await http.PostAsJsonAsync("/api/v1/campaigns", Campaign("dicts", "fuzz_parse", "fuzz_parse.dict,nope.dict"));
        var outside = await http.PostAsJsonAsync("/api/v1/campaigns", Campaign("dicts", "fuzz_parse", "../fuzz_parse.dict"));
        var notBundle = await http.PostAsJsonAsync("/api/v1/campaigns", Campaign("plain", null, "fuzz_parse.dict"));

        foreach (var (response, says) in new[] { (missing, "nope.dict"), (outside, ".dict files inside the build bundle"), (notBundle, "not a bundle") })
        {
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            problem.GetProperty("errors").GetProperty("engineOptions.aflplusplus.x")[0].GetString().Should().Contain(says);
        }
    }

    [Fact]
    public async Task Hostile_bundles_are_problems_that_store_nothing()
    {
        using var http = _host!.Client(token: true);
        var target = await File.ReadAllBytesAsync(Path.Combine(_project!.Dir, "fuzz_parse"));
        var blobsBefore = Blobs();
        var cases = new (string Name, byte[] Body, string Detail)[]
        {
            ("a symlink", Zip(("fuzz_parse", target, 0), ("lib/libbundle.so", "/etc/passwd"u8.ToArray(), 0xA1FF)), "link"),
            ("..", Zip(("fuzz_parse", target, 0), ("../x", new byte[] { 1 }, 0)), "escapes its root"),
            ("an absolute path", TarGz(("fuzz_parse", target), ("/abs/x", new byte[] { 1 })), "escapes its root"),
            ("a zip bomb", ZipBomb(target), "compression ratio"),
            ("no fuzz target", Zip(("README", "not a target"u8.ToArray(), 0)), "no fuzz target"),
            ("two of one name", Zip(("fuzz_parse", target, 0), ("more/fuzz_parse", target, 0)), "two fuzz targets are named fuzz_parse"),
        };

        foreach (var (name, body, detail) in cases)
        {
            var answer = await Upload(http, "name=hostile", body);

            answer.Status.Should().Be(HttpStatusCode.BadRequest, name);
            answer.ContentType.Should().Be("application/problem+json", name);
            answer.Body.GetProperty("errors").GetProperty("body")[0].GetString().Should().Contain(detail, name);
        }

        (await http.GetAsync("/api/v1/targets/hostile/builds")).StatusCode.Should().Be(HttpStatusCode.NotFound, "no refused bundle made a build");
        Blobs().Should().Equal(blobsBefore, "no refused bundle left a blob");

        var plainAsBundle = await Upload(http, "name=hostile&kind=bundle", target);
        plainAsBundle.Status.Should().Be(HttpStatusCode.BadRequest);
        var bundleAsCoverage = await Upload(http, "name=hostile&kind=coverage", Zip(("fuzz_parse", target, 0)));
        bundleAsCoverage.Body.GetProperty("errors").TryGetProperty("kind", out _).Should().BeTrue();
    }

    private List<string> Blobs() =>
        [.. Directory.EnumerateFiles(Path.Combine(_host!.Dir, "blobs"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    private static byte[] Zip(params (string Name, byte[] Content, int Mode)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content, mode) in entries)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.SmallestSize);
                entry.ExternalAttributes = mode << 16;
                using var stream = entry.Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>The target and 200 MiB of zeros, written streaming: under a megabyte of zip.</summary>
    private static byte[] ZipBomb(byte[] target)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var stream = zip.CreateEntry("fuzz_parse").Open())
            {
                stream.Write(target);
            }

            using var zeros = zip.CreateEntry("zeros.dict", CompressionLevel.SmallestSize).Open();
            var chunk = new byte[1024 * 1024];
            for (var i = 0; i < 200; i++)
            {
                zeros.Write(chunk);
            }
        }

        return buffer.ToArray();
    }

    private static byte[] TarGz(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new System.Formats.Tar.TarWriter(gzip, System.Formats.Tar.TarEntryFormat.Pax))
        {
            foreach (var (name, content) in entries)
            {
                tar.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }

        return buffer.ToArray();
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body, string? ContentType)> Upload(HttpClient http, string query, byte[] content)
    {
        using var response = await http.PostAsync($"/api/v1/targets?{query}", new ByteArrayContent(content));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (response.StatusCode, body, response.Content.Headers.ContentType?.MediaType);
    }
}
