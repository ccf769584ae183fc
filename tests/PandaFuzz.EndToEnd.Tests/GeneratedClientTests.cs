using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// A client generated from the master's own <c>/openapi/v1.json</c> (npm <c>@hey-api/openapi-ts</c>, which ops/test.sh
/// installs with TypeScript and names in <c>PANDAFUZZ_OPENAPI_TS</c>) uploads a target and creates a campaign: the
/// document declares what a client needs to call the API, request bodies included.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait("Category", "EndToEnd")]
public sealed class GeneratedClientTests(TargetBuilder targets) : EndToEndTest
{
    public const string Variable = "PANDAFUZZ_OPENAPI_TS";

    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public Task A_client_generated_from_the_document_creates_a_campaign() =>
        Env.RunAsync(TimeSpan.FromMinutes(4), async ct =>
        {
            // Arrange: the generator (its bin folder also holds tsc), a master without bots, and its document.
            var generator = Environment.GetEnvironmentVariable(Variable);
            if (string.IsNullOrEmpty(generator) || !File.Exists(generator))
            {
                throw new InvalidOperationException(
                    $"{Variable} does not name @hey-api/openapi-ts ({generator ?? "unset"}). Run the tests with ops/test.sh, which installs it " +
                    "with npm (with typescript and @types/node beside it), or set it to node_modules/.bin/openapi-ts.");
            }

            var bin = Path.GetDirectoryName(generator)!;
            var master = await Env.StartReadyNodeAsync(Env.NewNodeOptions("master", "master"), ct);
            var work = Directory.CreateDirectory(Path.Combine(Env.Root, "generated-client")).FullName;
            using (var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = master.Options.BaseAddress })
            {
                await File.WriteAllTextAsync(Path.Combine(work, "v1.json"), await http.GetStringAsync("openapi/v1.json", ct), ct);
            }

            File.Copy(Path.Combine(RepoLayout.Root, "tests", "PandaFuzz.EndToEnd.Tests", "GeneratedClient", "create-campaign.ts"), Path.Combine(work, "create-campaign.ts"));

            // Act: generate, compile the generated code with the script that uses it (strict: a body the document does
            // not declare is a type error), and run it against the master.
            await Tool(Path.Combine(bin, "openapi-ts"), ["--input", "v1.json", "--output", "client"]);
            await Tool(Path.Combine(bin, "tsc"),
            [
                "--strict", "--skipLibCheck", "--module", "commonjs", "--target", "es2022", "--lib", "es2022,dom,dom.iterable",
                "--typeRoots", Path.Combine(bin, "..", "@types"), "--types", "node", "--outDir", "js", "create-campaign.ts",
            ]);
            var run = await Tool("node", [Path.Combine("js", "create-campaign.js")], new Dictionary<string, string>
            {
                ["PANDAFUZZ_API"] = master.Options.BaseAddress.ToString(),
                ["PANDAFUZZ_TOKEN"] = ApiClient.TestToken,
                ["PANDAFUZZ_TARGET"] = targets.NoBug.Path,
            });

            // Assert: the target is stored by its sha256 and the campaign exists, with what the client sent.
            using var answer = JsonDocument.Parse(run.StandardOutput.Trim().Split('\n')[^1]);
            answer.RootElement.GetProperty("status").GetInt32().Should().Be(201);
            answer.RootElement.GetProperty("targetId").GetString().Should().Be(targets.NoBug.Sha256());
            var id = answer.RootElement.GetProperty("campaignId").GetString()!;
            using var api = new ApiClient(master.Options.BaseAddress);
            var campaign = await api.GetCampaignAsync(id, ct);
            campaign.Name.Should().Be("from a generated client");
            campaign.TargetId.Should().Be(targets.NoBug.Sha256());
            campaign.Engine.Should().Be("libfuzzer");
            campaign.Jobs.Should().HaveCount(1);
            await Eventually.SatisfyAsync("the read model lists the campaign", TimeSpan.FromSeconds(30),
                api.ListCampaignsAsync, list => list.Any(c => c.Id == id), ct, master.EnsureRunning);

            async Task<ProcessResult> Tool(string tool, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
            {
                var result = await ProcessTools.RunAsync(tool, args, ToolTimeout, ct, workingDirectory: work, environment: environment);
                result.ExitCode.Should().Be(0, "{0} {1} failed:\n{2}{3}", Path.GetFileName(tool), string.Join(' ', args), result.StandardOutput, result.StandardError);
                return result;
            }
        });
}
