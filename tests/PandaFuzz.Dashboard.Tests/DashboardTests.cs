using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using FluentAssertions;
using Microsoft.Playwright;
using PandaFuzz.EndToEnd.Tests;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace PandaFuzz.Dashboard.Tests;

/// <summary>
/// The dashboard in headless Chromium against a real node fuzzing planted_bug: sign-in with the API's message, the
/// overview, the campaign's plots, a bug appearing while the page is open, the bug page listing its crashes, the create
/// form with the API's validation, keyboard reach and axe's serious violations. Each page's screenshot is saved under
/// screenshots/.
/// </summary>
public sealed class DashboardTests(DashboardFixture dashboard, ITestOutputHelper output) : IClassFixture<DashboardFixture>, IAsyncLifetime
{
    /// <summary>From campaign creation (or the page opening) to the planted crash shown.</summary>
    private static readonly TimeSpan CrashShown = TimeSpan.FromSeconds(60);

    private readonly List<string> _pageErrors = [];
    private readonly List<IBrowserContext> _contexts = [];
    private readonly CancellationTokenSource _budget = new(TimeSpan.FromSeconds(90));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _budget.Dispose();
        foreach (var context in _contexts)
        {
            await context.CloseAsync();
        }

        _pageErrors.Should().BeEmpty("the dashboard's scripts run without errors");
    }

    /// <summary>A new tab (see <see cref="DashboardFixture.NewPageAsync"/>), closed when the test ends.</summary>
    private async Task<IPage> OpenAsync(bool signedIn = true, int width = 1280, int height = 800, Uri? site = null)
    {
        var page = await dashboard.NewPageAsync(_pageErrors, signedIn, width, height, site);
        _contexts.Add(page.Context);
        return page;
    }

    [Fact]
    public async Task Sign_in_shows_the_APIs_refusal_refuses_a_wrong_token_and_accepts_the_right_one()
    {
        var page = await OpenAsync(signedIn: false);
        await page.GotoAsync("");

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        var refusal = await Problem("api/v1/campaigns", token: null);
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync(refusal);
        await Expect(page.Locator("#campaigns-table")).ToHaveCountAsync(0);
        await dashboard.ScreenshotAsync(page, "sign-in");

        var signIn = page.Locator("form.signin").GetByRole(AriaRole.Button, new() { Name = "Sign in" });
        await page.GetByLabel("API token").FillAsync("not-the-token-0123456789");
        await signIn.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync(await Problem("api/v1/campaigns", "not-the-token-0123456789"));

        await page.GetByLabel("API token").FillAsync(ApiClient.TestToken);
        await signIn.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = DashboardFixture.CampaignName })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task With_open_reads_a_page_shows_without_a_token_and_its_stop_button_asks_for_one()
    {
        var ct = _budget.Token;
        var target = await FuzzingFlow.UploadAsync(dashboard.OpenApi, dashboard.PlantedBug, ct);
        var campaign = await FuzzingFlow.CreateCampaignAsync(dashboard.OpenApi, new CampaignRequest("open-reads", target.Id), ct);
        var page = await OpenAsync(signedIn: false, site: dashboard.OpenDashboard);
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GotoAsync($"#/campaigns/{campaign.Id}");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("open-reads");
        await Expect(page.Locator("#jobs-table tbody tr").First).ToContainTextAsync("pending");

        await page.GetByRole(AriaRole.Button, new() { Name = "Stop campaign" }).ClickAsync();
        var refusal = await Refusal(dashboard.OpenNode, HttpMethod.Post, $"api/v1/campaigns/{campaign.Id}/stop", token: null);
        await Expect(page.Locator("form.signin [role=alert]")).ToContainTextAsync(refusal);
        (await dashboard.OpenApi.GetCampaignAsync(campaign.Id, ct)).Status.Should().Be("running", "nothing was stopped without the token");

        await page.GetByLabel("API token").FillAsync(ApiClient.TestToken);
        await page.Locator("form.signin").GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Stop campaign" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Stopping");
        (await dashboard.OpenApi.GetCampaignAsync(campaign.Id, ct)).Status.Should().BeOneOf("stopping", "stopped");
    }

    [Fact]
    public async Task The_files_need_no_token_and_carry_their_types_and_cache_headers_while_the_API_still_does()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false }) { BaseAddress = dashboard.Node.Options.BaseAddress };
        using (var root = await http.GetAsync("/"))
        {
            root.StatusCode.Should().Be(HttpStatusCode.Redirect);
            root.Headers.Location!.OriginalString.Should().Be("/ui/");
        }

        foreach (var (path, type) in new[] { ("/ui/", "text/html"), ("/ui/app.css", "text/css"), ("/ui/js/app.js", "text/javascript"), ("/ui/icon.svg", "image/svg+xml") })
        {
            using var file = await http.GetAsync(path);
            file.StatusCode.Should().Be(HttpStatusCode.OK, path);
            file.Content.Headers.ContentType!.MediaType.Should().Be(type, path);
            file.Headers.CacheControl!.NoCache.Should().BeTrue(path);
            file.Headers.ETag.Should().NotBeNull(path);
            file.Headers.GetValues("X-Content-Type-Options").Should().Equal("nosniff");
        }

        using var data = await http.GetAsync("/api/v1/campaigns");
        data.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the node's reads require the token, the dashboard or not");
    }

    [Fact]
    public async Task The_overview_lists_the_campaign_the_bot_and_its_slots()
    {
        var page = await OpenAsync();
        await page.GotoAsync("");

        var row = page.Locator("#campaigns-table tbody tr", new() { Has = page.GetByRole(AriaRole.Link, new() { Name = DashboardFixture.CampaignName }) });
        await Expect(row).ToBeVisibleAsync();
        await Expect(row.Locator(".badge")).ToHaveTextAsync(new Regex("running|completed"));
        await Expect(page.Locator("#bots-table tbody tr").First).ToContainTextAsync("online");
        await Expect(page.Locator("#bots-table tbody tr").First).ToContainTextAsync(new Regex(@"\d of 3 in use"));
        await Expect(row.Locator("svg.spark")).Not.ToHaveAttributeAsync("data-points", "0", new() { Timeout = 30_000 });
        await dashboard.ScreenshotAsync(page, "overview");

        await row.GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync(DashboardFixture.CampaignName);
    }

    [Fact]
    public async Task The_campaign_page_plots_exec_per_second_and_coverage_with_data()
    {
        var page = await OpenAsync();
        await page.GotoAsync($"#/campaigns/{dashboard.Campaign.Id}");

        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync(DashboardFixture.CampaignName);
        foreach (var plot in new[] { "plot-execs", "plot-coverage" })
        {
            // Samples come a second apart: two make a line.
            await Expect(page.Locator($"svg[data-key={plot}]")).ToHaveAttributeAsync("data-points", new Regex("^([2-9]|[1-9][0-9]+)$"), new() { Timeout = 30_000 });
            (await page.Locator($"svg[data-key={plot}] path.line").GetAttributeAsync("d")).Should().Contain("L", "{0} draws a line through its samples", plot);
        }

        var coverage = await page.Locator("svg[data-key=plot-coverage]").GetAttributeAsync("data-max");
        double.Parse(coverage!, System.Globalization.CultureInfo.InvariantCulture).Should().BePositive("planted_bug has coverage as soon as it runs");
        await Expect(page.Locator("#jobs-table tbody tr").First).ToContainTextAsync("bot-");
        await Expect(page.Locator("#corpus-table tbody tr").First).ToBeVisibleAsync();
        await dashboard.ScreenshotAsync(page, "campaign");
    }

    [Fact]
    public async Task A_stopped_campaign_of_the_same_target_draws_dashed_on_every_plot_of_another()
    {
        // A second campaign of the fixture's target runs until its series has samples, then stops: its series is kept.
        var ct = _budget.Token;
        var other = await FuzzingFlow.CreateCampaignAsync(dashboard.Api, new CampaignRequest("compared", dashboard.Target.Id, DurationSeconds: 240), ct);
        await Eventually.SatisfyAsync("the compared campaign's series has two samples", TimeSpan.FromSeconds(60),
            token => dashboard.Api.GetCampaignStatsSeriesAsync(other.Id, token), series => series.Points.Count >= 2, ct, dashboard.Node.EnsureRunning);
        await dashboard.Api.StopCampaignAsync(other.Id, ct);

        var page = await OpenAsync();
        await page.GotoAsync($"#/campaigns/{dashboard.Campaign.Id}");
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Compare with another campaign" }).GetByRole(AriaRole.Link, new() { Name = "compared (" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex($"#/campaigns/{dashboard.Campaign.Id}/vs/{other.Id}$"));
        foreach (var plot in new[] { "plot-execs", "plot-coverage", "plot-corpus", "plot-bugs" })
        {
            await Expect(page.Locator($"svg[data-key={plot}]")).ToHaveAttributeAsync("data-series", "2", new() { Timeout = 30_000 });
        }

        (await page.Locator("svg[data-key=plot-execs] path.line.compare").GetAttributeAsync("d")).Should().Contain("L", "the stopped campaign's kept samples make a line");
        await page.GetByRole(AriaRole.Link, new() { Name = "Stop comparing" }).ClickAsync();
        await Expect(page.Locator("svg[data-key=plot-execs]")).ToHaveAttributeAsync("data-series", "1");
    }

    [Fact]
    public async Task A_crash_the_fuzzer_finds_appears_as_a_bug_on_the_open_campaign_page_without_a_reload()
    {
        var ct = _budget.Token;
        var bot = dashboard.Bot;
        // The bot takes no new job until the page is open: the campaign's crash cannot be found before the page looks.
        (await dashboard.Api.PostEmptyRawAsync($"api/v1/bots/{bot.Id}/drain", ct)).StatusCode.Should().Be(200);
        CampaignDetail campaign;
        IPage page;
        try
        {
            campaign = await FuzzingFlow.CreateCampaignAsync(dashboard.Api, new CampaignRequest("live-crash", dashboard.Target.Id, DurationSeconds: 30), ct);
            page = await OpenAsync();
            await page.GotoAsync($"#/campaigns/{campaign.Id}");
            await Expect(page.Locator("#no-bugs")).ToBeVisibleAsync();
            await Expect(page.Locator("#jobs-table tbody tr").First).ToContainTextAsync("pending");
            await page.EvaluateAsync("() => { window.sameDocument = true; }");
        }
        finally
        {
            (await dashboard.Api.PostEmptyRawAsync($"api/v1/bots/{bot.Id}/resume", ct)).StatusCode.Should().Be(200);
        }

        var bugLink = page.Locator("#bugs-table tbody tr th a").First;
        await Expect(bugLink).ToBeVisibleAsync(new() { Timeout = (float)CrashShown.TotalMilliseconds });
        (await page.EvaluateAsync<bool>("() => window.sameDocument === true")).Should().BeTrue("the bug appeared in the page that was open, not in a reloaded one");
        await Expect(bugLink).ToHaveTextAsync(new Regex("^Heap-buffer-overflow"));
        await dashboard.ScreenshotAsync(page, "campaign-with-crash");

        await bugLink.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Heap-buffer-overflow");
        await page.Locator("#bug-crashes-table tbody tr th a").First.ClickAsync();
        var crash = (await dashboard.Api.GetCampaignCrashesAsync(campaign.Id, ct)).First();
        await Expect(page).ToHaveURLAsync(new Regex($"#/crashes/{Regex.Escape(crash.Id)}$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Heap-buffer-overflow");
        await Expect(page.Locator(".facts")).ToContainTextAsync(crash.Signature!);
        await Expect(page.Locator(".stack li").First).ToContainTextAsync("LLVMFuzzerTestOneInput");
        await Expect(page.Locator("pre.report")).ToContainTextAsync("AddressSanitizer: heap-buffer-overflow");
        // planted_bug's crashing inputs start with "FUZ".
        await Expect(page.Locator("[data-testid=original-hex]")).ToContainTextAsync("46 55 5a");
        await dashboard.ScreenshotAsync(page, "crash");

        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("section.input", new() { HasText = "Original input" }).GetByRole(AriaRole.Button).ClickAsync());
        var saved = Path.Combine(dashboard.Screenshots, "..", $"download-{Guid.NewGuid():N}");
        await download.SaveAsAsync(saved);
        (await File.ReadAllBytesAsync(saved, ct)).Should().Equal(await dashboard.Api.GetCrashInputAsync(crash.Id, ct), "the download is the crash input's bytes");
        File.Delete(saved);
    }

    [Fact]
    public async Task The_campaign_page_leads_with_its_bugs_each_linking_to_a_bug_page_that_lists_its_crashes()
    {
        var ct = _budget.Token;
        var crash = (await FuzzingFlow.WaitForCrashesAsync(dashboard.Api, dashboard.Campaign.Id, dashboard.Node.EnsureRunning, ct))[0];
        var bugId = await BugOfAsync(crash.Id, ct);
        var page = await OpenAsync();
        await page.GotoAsync($"#/campaigns/{dashboard.Campaign.Id}");

        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 2, Name = "Bugs" })).ToBeVisibleAsync();
        await Expect(page.Locator(".tile", new() { HasText = "Bugs" }).Locator(".tile-value")).Not.ToHaveTextAsync("0");
        var bugRow = page.Locator($"#bugs-table tbody tr[data-key='{bugId}']");
        var bugLink = bugRow.Locator("th a");
        // planted_bug writes one byte past its buffer: the bug's kind carries no size, its access sizes say 1.
        await Expect(bugLink).ToHaveTextAsync(new Regex("^Heap-buffer-overflow WRITE 1$"));
        await Expect(bugRow).ToContainTextAsync("LLVMFuzzerTestOneInput");
        // Its inputs are its leader crash's: the original, and the minimized one once the bot made it.
        var leader = JsonDocument.Parse((await dashboard.Api.GetRawAsync($"api/v1/bugs/{bugId}", ct)).Body).RootElement;
        var leaderPath = $"/crashes/{leader.GetProperty("leaderCrashId").GetString()}/input";
        await Expect(bugRow.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Input of bug") })).ToHaveAttributeAsync("data-path", leaderPath);
        if (leader.GetProperty("minimized") is { ValueKind: JsonValueKind.Object } minimized && minimized.GetProperty("inputSha256").ValueKind == JsonValueKind.String)
        {
            await Expect(bugRow.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Minimized input of bug") })).ToHaveAttributeAsync("data-path", leaderPath + "/minimized");
        }

        // The unique crashes are folded away under the bugs, each naming its bug.
        await Expect(page.Locator("#crashes-table")).Not.ToBeVisibleAsync();
        await page.Locator("details.crashes > summary").ClickAsync();
        var crashRow = page.Locator($"#crashes-table tbody tr[data-key='{crash.Id}']");
        await Expect(crashRow).ToBeVisibleAsync();
        await Expect(crashRow.Locator($"a[href='#/bugs/{bugId}']")).ToBeVisibleAsync();
        await dashboard.ScreenshotAsync(page, "campaign-bugs");

        await bugLink.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"#/bugs/{Regex.Escape(bugId)}$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Heap-buffer-overflow WRITE 1");
        await Expect(page.Locator(".facts")).ToContainTextAsync(bugId);
        var listed = page.Locator($"#bug-crashes-table tbody tr[data-key='{crash.Id}'] th a");
        await Expect(listed).ToHaveTextAsync(crash.Kind!);
        await dashboard.ScreenshotAsync(page, "bug");

        // Triage from the bug page: the status and the tracker link are saved through the API and shown.
        var triage = page.GetByRole(AriaRole.Form, new() { Name = "Triage" });
        await triage.Locator("select[name=status]").SelectOptionAsync("wontfix");
        await triage.Locator("input[name=externalUrl]").FillAsync("https://bugs.example.com/3");
        await triage.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(page.Locator(".notice-slot")).ToContainTextAsync("Saved: the bug is wontfix.");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("wontfix");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "https://bugs.example.com/3" })).ToBeVisibleAsync();
        JsonDocument.Parse((await dashboard.Api.GetRawAsync($"api/v1/bugs/{bugId}", ct)).Body).RootElement.GetProperty("status").GetString().Should().Be("wontfix");

        await listed.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"#/crashes/{Regex.Escape(crash.Id)}$"));
        await Expect(page.GetByTestId("bug-link")).ToHaveTextAsync(bugId);
        await Expect(page.Locator(".facts")).ToContainTextAsync("Access sizes");
    }

    [Fact]
    public async Task Lists_filter_and_search_fuzzing_jobs_stand_apart_from_minimization_jobs_and_the_stack_folds_runtime_frames()
    {
        var ct = _budget.Token;
        var crash = (await FuzzingFlow.WaitForCrashesAsync(dashboard.Api, dashboard.Campaign.Id, dashboard.Node.EnsureRunning, ct))[0];
        var bugId = await BugOfAsync(crash.Id, ct);
        var page = await OpenAsync();
        await page.GotoAsync($"#/campaigns/{dashboard.Campaign.Id}");
        var bugRow = page.Locator($"#bugs-table tbody tr[data-key='{bugId}']");
        await Expect(bugRow).ToBeVisibleAsync();

        // A search that matches nothing empties the list and says so; the kind and security filters pick the bug again.
        var filters = page.GetByRole(AriaRole.Search, new() { Name = "Filter the bugs" });
        await filters.GetByLabel("Search").FillAsync("no-such-function");
        await Expect(bugRow).ToHaveCountAsync(0);
        await Expect(page.Locator("[data-key=filter-row-bugs]")).ToContainTextAsync("0 of ");
        await filters.GetByLabel("Search").FillAsync("");
        await filters.GetByLabel("Kind").SelectOptionAsync(new SelectOptionValue { Index = 1 });
        await Expect(bugRow).ToBeVisibleAsync();
        await filters.GetByLabel("Security").SelectOptionAsync("no");
        await Expect(bugRow).ToHaveCountAsync(0, new() { Timeout = 5_000 });
        // The choice outlives the page's refresh.
        var shown = await page.Locator("#live").TextContentAsync();
        await page.WaitForFunctionAsync("shown => document.getElementById('live').textContent !== shown", shown);
        await Expect(bugRow).ToHaveCountAsync(0);
        await filters.GetByLabel("Security").SelectOptionAsync("yes");
        await Expect(bugRow).ToBeVisibleAsync();
        await dashboard.ScreenshotAsync(page, "campaign-filtered");

        // The campaign's fuzzing jobs are counted and listed apart from the minimization jobs its bugs started.
        await Expect(page.Locator(".tile", new() { HasText = "Fuzzing jobs" }).Locator(".tile-value")).ToHaveTextAsync("1");
        await Expect(page.Locator("#jobs-table tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("#jobs-table tbody tr").First).ToContainTextAsync("fuzzing ·");
        await Expect(page.Locator("details.jobs > summary")).ToContainTextAsync("Minimization jobs", new() { Timeout = (float)CrashShown.TotalMilliseconds });

        // The crash page folds each run of runtime frames (sanitizer, libc, the fuzzer's driver) into one line.
        await page.GotoAsync($"#/crashes/{crash.Id}");
        await Expect(page.Locator(".stack li").First).ToContainTextAsync("LLVMFuzzerTestOneInput");
        var folded = page.Locator("[data-testid=stack] > li.folded").First;
        await Expect(folded.Locator("summary")).ToContainTextAsync("runtime frame");
        await Expect(folded.Locator("ul.stack")).Not.ToBeVisibleAsync();
        await folded.Locator("summary").ClickAsync();
        await Expect(folded.Locator("ul.stack")).ToContainTextAsync("fuzzer::");
    }

    [Fact]
    public async Task The_create_form_shows_the_APIs_message_for_bad_input_and_creates_a_campaign_from_good_input()
    {
        var ct = _budget.Token;
        var page = await OpenAsync();
        await page.GotoAsync("#/new");
        await page.GetByLabel("Name").FillAsync("form made");
        await page.GetByLabel("libFuzzer build of the target").SetInputFilesAsync(dashboard.PlantedBug.Path);
        await page.GetByLabel("Jobs").FillAsync("0");
        await page.GetByLabel("Duration (seconds)").FillAsync("15");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create campaign" }).ClickAsync();

        var refused = await dashboard.Api.PostJsonRawAsync("api/v1/campaigns", new { name = "form made", targetId = dashboard.Target.Id, engine = "libfuzzer", jobs = 0, durationSeconds = 15 }, ct);
        refused.StatusCode.Should().Be(400);
        var apiMessage = JsonDocument.Parse(refused.Body).RootElement.GetProperty("errors").GetProperty("jobs")[0].GetString()!;
        await Expect(page.Locator("[data-field=jobs] .field-error")).ToHaveTextAsync(apiMessage);
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync(apiMessage);
        await Expect(page.GetByLabel("Jobs")).ToHaveAttributeAsync("aria-invalid", "true");
        await dashboard.ScreenshotAsync(page, "create-form-refused");

        await page.GetByLabel("Jobs").FillAsync("1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create campaign" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/campaigns/[0-9a-f]+$"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("form made");
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Campaign created");
        var id = page.Url[(page.Url.LastIndexOf('/') + 1)..];
        var created = await dashboard.Api.GetCampaignAsync(id, ct);
        created.Name.Should().Be("form made");
        created.TargetId.Should().Be(dashboard.Target.Id);

        // Its stop button, after the browser's confirmation.
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Stop campaign" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Stopping");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 }).Locator(".badge")).ToHaveTextAsync(new Regex("stopping|stopped"));
    }

    [Fact]
    public async Task The_keyboard_reaches_the_navigation_and_the_campaigns_buttons_and_keeps_its_place_across_refreshes()
    {
        var page = await OpenAsync();
        await page.GotoAsync($"#/campaigns/{dashboard.Campaign.Id}");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Stop campaign" })).ToBeVisibleAsync();

        var reached = new List<string>();
        // Up to the campaign's last button, however many links the header holds before it.
        for (var i = 0; i < 20 && reached.LastOrDefault() != "Stop campaign"; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            reached.Add(await page.EvaluateAsync<string>("() => document.activeElement?.textContent?.trim() ?? ''"));
        }

        output.WriteLine("Tab order: " + string.Join(" | ", reached));
        reached.Should().ContainInOrder("Skip to content", "Overview", "New campaign");
        reached.Should().Contain(["Minimize corpus", "Stop campaign"]);
        var outline = await page.EvaluateAsync<string>("() => getComputedStyle(document.activeElement).outlineStyle");
        outline.Should().NotBe("none", "the focused element shows it has focus");

        // A refresh patches the page in place: the focused button stays the focused element.
        var stop = page.GetByRole(AriaRole.Button, new() { Name = "Stop campaign" });
        await stop.FocusAsync();
        await page.EvaluateAsync("() => { window.focusedBefore = document.activeElement; }");
        var shown = await page.Locator("#live").TextContentAsync();
        await page.WaitForFunctionAsync("shown => document.getElementById('live').textContent !== shown", shown);
        (await page.EvaluateAsync<bool>("() => document.activeElement === window.focusedBefore && document.activeElement.isConnected"))
            .Should().BeTrue("the page refreshed without losing the keyboard's place");
    }

    [Fact]
    public async Task The_coverage_page_measures_a_campaign_and_shows_its_totals_sortable_files_HTML_report_and_line_coverage_over_time()
    {
        // Arrange: build 1 of coverage-demo with its coverage binary, and a short campaign on it from three seeds.
        var ct = _budget.Token;
        const string target = "coverage-demo";
        (await dashboard.Api.UploadBuildAsync(target, "r1", dashboard.CoverageDemo.ReadBytes(), ct)).Build.Should().Be(1);
        var uploaded = await dashboard.Api.PostBytesRawAsync($"api/v1/targets?name={target}&kind=coverage&build=1", dashboard.CoverageDemoCoverage.ReadBytes(), ct);
        uploaded.StatusCode.Should().Be(201, uploaded.Body);
        var seeds = await dashboard.Api.UploadCorpusAsync("coverage-seeds", CorpusFiles.Zip(new Dictionary<string, byte[]>
        {
            ["checksum"] = "A12"u8.ToArray(),
            ["vowels"] = "Bonjour"u8.ToArray(),
            ["other"] = "xyz"u8.ToArray(),
        }), ct);
        var created = await dashboard.Api.PostJsonRawAsync("api/v1/campaigns", new { name = "coverage-demo", target, jobs = 1, durationSeconds = 3, seedCorpusId = seeds.Id }, ct);
        created.StatusCode.Should().Be(201, created.Body);
        var id = JsonDocument.Parse(created.Body).RootElement.GetProperty("id").GetString()!;

        // Act: the campaign's page leads to its coverage page, with no report yet; its button measures the corpus on the bot.
        var page = await OpenAsync();
        await page.GotoAsync($"#/campaigns/{id}");
        await page.GetByRole(AriaRole.Link, new() { Name = "Not measured: measure it" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"#/campaigns/{id}/coverage$"));
        await Expect(page.Locator("#no-coverage")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Measure now" }).ClickAsync();
        var queued = page.Locator(".notice-slot [role=status]");
        await Expect(queued).ToContainTextAsync("Coverage measurement queued as job");
        var job = Regex.Match(await queued.TextContentAsync() ?? "", "job (\\S+):").Groups[1].Value;
        var answered = await Eventually.SatisfyAsync(
            $"GET /api/v1/campaigns/{id}/coverage answers job {job}'s measurement", TimeSpan.FromSeconds(60),
            async t =>
            {
                var answer = await dashboard.Api.GetRawAsync($"api/v1/campaigns/{id}/coverage", t);
                if (answer.StatusCode != 200 && await dashboard.Api.GetJobAsync(job, t) is { State: "failed" or "cancelled" } ended)
                {
                    throw new InvalidOperationException($"coverage job {job} {ended.State}: {ended.FailureReason}");
                }

                return answer;
            },
            answer => answer.StatusCode == 200, ct, dashboard.Node.EnsureRunning, TimeSpan.FromMilliseconds(500));
        var coverage = JsonDocument.Parse(answered.Body).RootElement;
        var files = JsonDocument.Parse((await dashboard.Api.GetRawAsync($"api/v1/campaigns/{id}/coverage/files?limit=1000", ct)).Body).RootElement
            .EnumerateArray().Select(f => (Path: f.GetProperty("path").GetString()!, Lines: f.GetProperty("lines"), Functions: f.GetProperty("functions"),
                Regions: f.GetProperty("regions"), Uncovered: f.GetProperty("uncoveredLines").GetInt64()))
            .ToList();
        files.Select(f => System.IO.Path.GetFileName(f.Path)).Should().BeEquivalentTo(["coverage_demo.c", "coverage_demo_checks.h"]);

        // Assert: the totals and what was measured, as the API has them, once the page refreshed.
        var totals = coverage.GetProperty("totals");
        foreach (var (label, name) in new[] { ("Lines", "lines"), ("Functions", "functions"), ("Regions", "regions") })
        {
            var tile = page.Locator(".tile", new() { Has = page.Locator(".tile-label", new() { HasTextRegex = new Regex($"^{label}$") }) });
            await Expect(tile.Locator(".tile-value")).ToHaveTextAsync(Percent(totals.GetProperty(name)));
            await Expect(tile.Locator(".sub")).ToHaveTextAsync($"{Covered(totals.GetProperty(name))} covered");
        }

        await Expect(page.Locator(".facts")).ToContainTextAsync(
            $"version {coverage.GetProperty("corpusVersion").GetInt32()} · {coverage.GetProperty("inputs").GetInt32()} inputs");
        await Expect(page.Locator(".facts")).ToContainTextAsync($"{target} 1");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Measure now" })).ToBeEnabledAsync();
        var history = coverage.GetProperty("history").GetArrayLength();
        history.Should().Be(1);
        var plot = page.Locator("svg[data-key=plot-line-coverage]");
        await Expect(plot).ToHaveAttributeAsync("data-points", "1");
        await Expect(plot).ToHaveAttributeAsync("data-max", totals.GetProperty("lines").GetProperty("percent").GetDouble().ToString(CultureInfo.InvariantCulture));
        await Expect(plot.Locator("circle.dot")).ToHaveCountAsync(1);

        // Assert: each file's row as the API has it, most uncovered lines first as the API ranks them.
        var rows = page.Locator("#coverage-files-table tbody tr");
        foreach (var file in files)
        {
            var cells = page.Locator($"#coverage-files-table tbody tr[data-key='{file.Path}'] td");
            await Expect(cells.Nth(0)).ToHaveTextAsync(Percent(file.Lines) + Covered(file.Lines));
            await Expect(cells.Nth(1)).ToHaveTextAsync(file.Uncovered.ToString("N0", CultureInfo.InvariantCulture));
            await Expect(cells.Nth(2)).ToHaveTextAsync(Percent(file.Functions) + Covered(file.Functions));
            await Expect(cells.Nth(3)).ToHaveTextAsync(Percent(file.Regions) + Covered(file.Regions));
        }

        await ExpectOrder(rows, files.Select(f => f.Path));
        await dashboard.ScreenshotAsync(page, "coverage");

        // Act and assert: the column headers sort (the same one again reverses), the search box filters by path.
        var header = (string name) => page.Locator("#coverage-files-table thead th", new() { Has = page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true }) });
        await header("File").GetByRole(AriaRole.Button).ClickAsync();
        await Expect(header("File")).ToHaveAttributeAsync("aria-sort", "ascending");
        await Expect(header("Uncovered lines")).ToHaveAttributeAsync("aria-sort", "none");
        await ExpectOrder(rows, files.Select(f => f.Path).Order(StringComparer.Ordinal));
        await header("File").GetByRole(AriaRole.Button).ClickAsync();
        await Expect(header("File")).ToHaveAttributeAsync("aria-sort", "descending");
        await ExpectOrder(rows, files.Select(f => f.Path).Order(StringComparer.Ordinal).Reverse());
        var lines = header("Lines").GetByRole(AriaRole.Button);
        await lines.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(header("Lines")).ToHaveAttributeAsync("aria-sort", "ascending");
        await ExpectOrder(rows, files.OrderBy(f => f.Lines.GetProperty("percent").GetDouble()).ThenBy(f => f.Path, StringComparer.Ordinal).Select(f => f.Path));
        var search = page.GetByRole(AriaRole.Search, new() { Name = "Filter the files" }).GetByLabel("Search");
        await search.FillAsync("CHECKS");
        await ExpectOrder(rows, files.Where(f => f.Path.Contains("checks", StringComparison.OrdinalIgnoreCase)).Select(f => f.Path));
        await Expect(page.Locator("[data-key=filter-row-coverage-files]")).ToContainTextAsync($"1 of {files.Count} shown");

        // The order, the search and the keyboard's place outlive the page's refresh (which may come while axe looks).
        await lines.FocusAsync();
        var shown = await page.Locator("#live").TextContentAsync();
        await ExpectFitsAndAccessibleAsync(page, "the coverage page", 1280);
        await page.WaitForFunctionAsync("shown => document.getElementById('live').textContent !== shown", shown);
        await Expect(header("Lines")).ToHaveAttributeAsync("aria-sort", "ascending");
        await Expect(search).ToHaveValueAsync("CHECKS");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(lines).ToBeFocusedAsync();
        await page.SetViewportSizeAsync(400, 800);
        await ExpectFitsAndAccessibleAsync(page, "the coverage page", 400);
        await dashboard.ScreenshotAsync(page, "coverage-narrow");
        await page.SetViewportSizeAsync(1280, 800);

        // Act: the HTML report opens inside the dashboard, fetched with the token.
        await page.GetByRole(AriaRole.Link, new() { Name = "HTML report", Exact = true }).First.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"#/campaigns/{id}/coverage/report/index.html$"));
        var report = page.FrameLocator("iframe.report-frame");
        var demo = report.GetByRole(AriaRole.Link, new() { Name = "coverage_demo.c", Exact = true });
        await Expect(demo).ToBeVisibleAsync();
        await Expect(report.Locator("body")).ToContainTextAsync("Totals");
        (await page.Locator("iframe.report-frame").EvaluateAsync<int>("frame => frame.contentDocument.adoptedStyleSheets.length"))
            .Should().Be(1, "the report's stylesheet, fetched with the token, styles the page");
        await dashboard.ScreenshotAsync(page, "coverage-report");

        // Act: its links lead to the report's own pages in the dashboard (whether a file's page is there depends on
        // the bot's sandbox showing llvm-cov the sources).
        await demo.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"#/campaigns/{id}/coverage/report/coverage/.+/coverage_demo\\.c\\.html$"));

        // Assert: the campaign's page shows its line coverage now.
        await page.GotoAsync($"#/campaigns/{id}");
        var figure = page.Locator(".tile", new() { Has = page.Locator(".tile-label", new() { HasTextRegex = new Regex("^Line coverage$") }) });
        await Expect(figure.Locator(".tile-value")).ToHaveTextAsync(Percent(totals.GetProperty("lines")));
        await Expect(figure.GetByRole(AriaRole.Link)).ToHaveAttributeAsync("href", $"#/campaigns/{id}/coverage");
    }

    /// <summary>A coverage count's percentage as the dashboard writes it: the API's, to two decimals, "76.09 %".</summary>
    private static string Percent(JsonElement count) => count.GetProperty("percent").GetDouble().ToString("0.##", CultureInfo.InvariantCulture) + " %";

    private static string Covered(JsonElement count) =>
        $"{count.GetProperty("covered").GetInt64().ToString("N0", CultureInfo.InvariantCulture)} of {count.GetProperty("count").GetInt64().ToString("N0", CultureInfo.InvariantCulture)}";

    /// <summary>The table's rows are these, in this order (by their data-key).</summary>
    private static async Task ExpectOrder(ILocator rows, IEnumerable<string> keys)
    {
        var expected = keys.ToList();
        await Expect(rows).ToHaveCountAsync(expected.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            await Expect(rows.Nth(i)).ToHaveAttributeAsync("data-key", expected[i]);
        }
    }

    [Fact]
    public async Task Pages_have_no_serious_accessibility_violations_and_fit_a_narrow_screen()
    {
        var ct = _budget.Token;
        var crashes = await FuzzingFlow.WaitForCrashesAsync(dashboard.Api, dashboard.Campaign.Id, dashboard.Node.EnsureRunning, ct);
        var bugId = await BugOfAsync(crashes[0].Id, ct);
        var pages = new[]
        {
            ("", "Overview", "overview"),
            ($"#/campaigns/{dashboard.Campaign.Id}", DashboardFixture.CampaignName, "campaign"),
            // Never measured: the empty state with its button (the coverage test checks a measured campaign's page).
            ($"#/campaigns/{dashboard.Campaign.Id}/coverage", "Coverage of", "coverage-empty"),
            ($"#/bugs/{bugId}", "Heap-buffer-overflow", "bug"),
            // Not right after the bug page: its heading would match the crash page's before the crash page is shown.
            ("#/new", "New campaign", "create-form"),
            ($"#/crashes/{crashes[0].Id}", "Heap-buffer-overflow", "crash"),
        };
        foreach (var (width, label) in new[] { (1280, "wide"), (400, "narrow") })
        {
            var page = await OpenAsync(width: width);
            foreach (var (route, heading, name) in pages)
            {
                await page.GotoAsync(route);
                await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync(heading);
                await dashboard.ScreenshotAsync(page, $"{name}-{label}");
                await ExpectFitsAndAccessibleAsync(page, heading, width);
            }
        }
    }

    /// <summary>
    /// Nothing on the page reaches past the screen's right edge (wide tables scroll inside their own region); at a
    /// wide screen, axe finds no serious or critical violation.
    /// </summary>
    private static async Task ExpectFitsAndAccessibleAsync(IPage page, string heading, int width)
    {
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
        overflow.Should().BeLessThanOrEqualTo(0, "{0} at {1} px wide scrolls only inside its tables, not the whole page; too wide: {2}", heading, width, await TooWide(page));
        if (width > 1000)
        {
            var axe = await page.RunAxe();
            axe.Violations.Where(v => v.Impact is "serious" or "critical")
                .Select(v => $"{v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Select(n => n.Html))})")
                .Should().BeEmpty("{0} has no serious accessibility violations", heading);
        }
    }

    /// <summary>The id of the bug the crash is part of (<c>bugId</c> of <c>GET /api/v1/crashes/{id}</c>), once it is grouped.</summary>
    private async Task<string> BugOfAsync(string crashId, CancellationToken ct)
    {
        var crash = await Eventually.SatisfyAsync(
            $"GET /api/v1/crashes/{crashId} names its bug", Timeouts.FirstCrash,
            token => dashboard.Api.GetRawAsync($"api/v1/crashes/{crashId}", token),
            raw => raw.StatusCode == 200 && JsonDocument.Parse(raw.Body).RootElement.TryGetProperty("bugId", out var id) && id.ValueKind == JsonValueKind.String,
            ct, dashboard.Node.EnsureRunning);
        return JsonDocument.Parse(crash.Body).RootElement.GetProperty("bugId").GetString()!;
    }

    /// <summary>The outermost elements reaching past the viewport's right edge, for the failure message.</summary>
    private static Task<string> TooWide(IPage page) => page.EvaluateAsync<string>("""
        () => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
          .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= document.documentElement.clientWidth + 1)
          .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().width)} px)`).join(', ')
        """);

    /// <summary>The problem detail the API answers a read of <paramref name="path"/> with, for <paramref name="token"/>.</summary>
    private Task<string> Problem(string path, string? token) => Refusal(dashboard.Node, HttpMethod.Get, path, token);

    /// <summary>The detail of the 401 problem <paramref name="node"/>'s API answers this request with.</summary>
    private static async Task<string> Refusal(NodeProcess node, HttpMethod method, string path, string? token)
    {
        using var http = new HttpClient(new HttpClientHandler { UseProxy = false }) { BaseAddress = node.Options.BaseAddress };
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()!;
    }
}
