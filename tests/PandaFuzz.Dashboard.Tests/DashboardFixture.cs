using Microsoft.Playwright;
using PandaFuzz.EndToEnd.Tests;
using Xunit;

namespace PandaFuzz.Dashboard.Tests;

/// <summary>
/// One real all-in-one node for the whole test class, started with reads requiring the token (the stricter setting:
/// the dashboard must sign in before it shows anything), a libFuzzer campaign on planted_bug running on it; a
/// master-only node with the default open reads (no bot: nothing fuzzes there); one headless Chromium (Debian's,
/// through Playwright's ExecutablePath) to open pages in; and coverage_demo's fuzzing and coverage builds.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    /// <summary>Debian's chromium; ops/test.sh installs it. PANDAFUZZ_CHROMIUM names another.</summary>
    public static readonly string ChromiumPath = Environment.GetEnvironmentVariable("PANDAFUZZ_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>The fixture's campaign: libFuzzer on planted_bug, long enough to outlive the tests.</summary>
    public const string CampaignName = "dashboard-demo";

    private readonly TargetBuilder _targets = new();
    private EndToEndEnvironment? _environment;
    private IPlaywright? _playwright;

    public NodeProcess Node { get; private set; } = null!;

    public ApiClient Api { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public BuiltTarget PlantedBug => _targets.PlantedBug;

    /// <summary>coverage_demo built to fuzz, and <see cref="CoverageDemoCoverage"/> its coverage binary: one build of a target.</summary>
    public BuiltTarget CoverageDemo { get; private set; } = null!;

    public BuiltTarget CoverageDemoCoverage { get; private set; } = null!;

    public TargetInfo Target { get; private set; } = null!;

    public CampaignDetail Campaign { get; private set; } = null!;

    /// <summary>The node's own bot, online.</summary>
    public BotInfo Bot { get; private set; } = null!;

    /// <summary>Where each page's screenshot goes: <c>screenshots/</c> beside the test assembly.</summary>
    public string Screenshots { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public Uri Dashboard => new(Node.Options.BaseAddress, "ui/");

    /// <summary>The master-only node whose reads need no token (writes still do).</summary>
    public NodeProcess OpenNode { get; private set; } = null!;

    public ApiClient OpenApi { get; private set; } = null!;

    public Uri OpenDashboard => new(OpenNode.Options.BaseAddress, "ui/");

    public async Task InitializeAsync()
    {
        // Pages refresh every 3 s and the read model trails the entities by about a second; a busy CI machine is slower.
        Assertions.SetDefaultExpectTimeout(15_000);
        Directory.CreateDirectory(Screenshots);
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"No chromium at {ChromiumPath}: run ops/test.sh, which installs Debian's chromium (apt-get install chromium), or set PANDAFUZZ_CHROMIUM.");
        }

        using var startup = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var browser = StartBrowserAsync();
        await _targets.BuildOnlyAsync(TargetBuilder.PlantedBugName);
        // Compiled while the nodes start, for the coverage page's test (into the folder planted_bug's build made).
        var coverageDemo = Task.WhenAll(
            _targets.BuildVariantAsync(TargetBuilder.CoverageDemoName, "fuzz"), _targets.BuildCoverageAsync(TargetBuilder.CoverageDemoName));
        _environment = new EndToEndEnvironment();
        var options = _environment.NewNodeOptions("dashboard", "master,bot") with
        {
            Environment = new Dictionary<string, string>
            {
                ["PANDAFUZZ_API_READS_REQUIRE_TOKEN"] = "true",
                // A sample a second (not one per 30 s) so the plots have points within the tests' few seconds.
                ["PANDAFUZZ__PANDAFUZZ__MASTER__STATS_SERIES_INTERVAL"] = "1s",
                ["PANDAFUZZ__PANDAFUZZ__BOT__STATS_INTERVAL"] = "1s",
                // The fixture's job, crash minimizations and the tests' own campaigns fit at once.
                ["PANDAFUZZ__PANDAFUZZ__BOT__SLOTS"] = "3",
                // planted_bug crashes at once, every run: fewer restarts and reproductions leave the CPU to the other
                // test assemblies running beside these tests.
                ["PANDAFUZZ__PANDAFUZZ__BOT__RESTART_DELAY"] = "3s",
                ["PANDAFUZZ__PANDAFUZZ__BOT__REPRODUCE_ATTEMPTS"] = "1",
                // The coverage page's test measures from the empty state itself: no measurement when its campaign ends.
                ["PANDAFUZZ__PANDAFUZZ__MASTER__COVERAGE__AT_END"] = "off",
            },
        };
        var nodes = await Task.WhenAll(
            _environment.StartReadyNodeAsync(options, startup.Token),
            _environment.StartReadyNodeAsync(_environment.NewNodeOptions("open-reads", "master"), startup.Token));
        (Node, OpenNode) = (nodes[0], nodes[1]);
        Api = new ApiClient(Node.Options.BaseAddress);
        OpenApi = new ApiClient(OpenNode.Options.BaseAddress);
        Target = await FuzzingFlow.UploadAsync(Api, PlantedBug, startup.Token);
        Campaign = await FuzzingFlow.CreateCampaignAsync(Api, new CampaignRequest(CampaignName, Target.Id, DurationSeconds: 240), startup.Token);
        // The bot list is the read model's: the bot is listed a moment after it registered.
        var bots = await Eventually.SatisfyAsync(
            "GET /api/v1/bots lists the node's bot online", Timeouts.BotOnline, Api.GetBotsAsync,
            listed => listed.Any(b => b.State == "online"), startup.Token, Node.EnsureRunning);
        Bot = bots.Single();
        var built = await coverageDemo;
        (CoverageDemo, CoverageDemoCoverage) = (built[0], built[1]);
        Browser = await browser;
    }

    private async Task<IBrowser> StartBrowserAsync()
    {
        _playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        return await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Root in CI: Chromium's sandbox needs user namespaces it may not get; the pages are our own.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
    }

    /// <summary>
    /// A fresh browser tab in a context of its own at <paramref name="width"/>×<paramref name="height"/>; signed in
    /// (the token in its sessionStorage, as the sign-in form leaves it) unless <paramref name="signedIn"/> is false.
    /// Script errors on the page land in <paramref name="errors"/>. Close its context when done (it keeps polling).
    /// Pages are on <see cref="Dashboard"/> unless <paramref name="site"/> names another.
    /// </summary>
    public async Task<IPage> NewPageAsync(List<string> errors, bool signedIn = true, int width = 1280, int height = 800, Uri? site = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            BaseURL = (site ?? Dashboard).ToString(),
            AcceptDownloads = true,
        });
        context.SetDefaultTimeout(15_000);
        if (signedIn)
        {
            await context.AddInitScriptAsync($"sessionStorage.setItem('pandafuzz.token', '{ApiClient.TestToken}')");
        }

        var page = await context.NewPageAsync();
        page.PageError += (_, message) => errors.Add(message);
        page.Console += (_, message) =>
        {
            // The API's refusals (401, 400) are the browser's "Failed to load resource" lines: answers the page shows, not script errors.
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                errors.Add(message.Text);
            }
        };
        return page;
    }

    /// <summary>Saves a full-page screenshot as <c>screenshots/NAME.png</c>.</summary>
    public Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        Api?.Dispose();
        OpenApi?.Dispose();
        if (_environment is not null)
        {
            await _environment.DisposeAsync();
        }

        await _targets.DisposeAsync();
    }
}
