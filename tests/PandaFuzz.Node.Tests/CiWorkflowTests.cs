using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FluentAssertions;
using Json.Schema;
using Xunit;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PandaFuzz.Node.Tests;

/// <summary>
/// The sample CI pipelines in ops/ci: each passes SchemaStore's schema for its CI (github-workflow.json, gitlab-ci.json;
/// ops/test.sh installs them and names their folder in PANDAFUZZ_CI_SCHEMAS), a broken copy does not, and both run the
/// CI gate with the command line that is pandafuzz-cmd's public contract.
/// </summary>
public sealed partial class CiWorkflowTests
{
    private const string GitHub = "github-actions.yml";
    private const string GitLab = "gitlab-ci.yml";

    public static TheoryData<string, string> Pipelines => new()
    {
        { GitHub, "github-workflow.json" },
        { GitLab, "gitlab-ci.json" },
    };

    [Theory]
    [MemberData(nameof(Pipelines))]
    public void The_pipeline_passes_its_schemastore_schema(string pipeline, string schema)
    {
        var results = Validate(schema, Pipeline(pipeline));

        results.IsValid.Should().BeTrue("ops/ci/{0} must pass SchemaStore's {1}:\n{2}", pipeline, schema, Describe(results));
    }

    [Theory]
    [InlineData(GitHub, "github-workflow.json", "fuzz", "run-on", "\"ubuntu-latest\"")]
    [InlineData(GitHub, "github-workflow.json", "fuzz", "steps", "42")]
    [InlineData(GitLab, "gitlab-ci.json", "pandafuzz", "scripts", "[\"true\"]")]
    [InlineData(GitLab, "gitlab-ci.json", "pandafuzz", "script", "42")]
    public void A_copy_with_a_broken_job_is_rejected(string pipeline, string schema, string job, string key, string value)
    {
        var document = Pipeline(pipeline);
        var jobs = pipeline == GitHub ? document["jobs"]!.AsObject() : document;
        jobs[job]!.AsObject()[key] = JsonNode.Parse(value);
        var at = pipeline == GitHub ? $"/jobs/{job}" : $"/{job}";

        var results = Validate(schema, document);

        results.IsValid.Should().BeFalse("job {0} of ops/ci/{1} has {2}: {3}", job, pipeline, key, value);
        Failures(results).Should().Contain(f => f.Location.StartsWith(at, StringComparison.Ordinal), "the error is in the broken job");
    }

    [Theory]
    [InlineData(GitHub)]
    [InlineData(GitLab)]
    public void The_pipeline_runs_the_ci_gate(string pipeline)
    {
        var lines = Strings(Pipeline(pipeline)).Where(s => s.StartsWith("pandafuzz-cmd ", StringComparison.Ordinal)).ToList();

        lines.Should().ContainSingle().Which.Should().MatchRegex(CiCommand(), "ops/ci/{0} runs pandafuzz-cmd's ci command as the contract spells it", pipeline);
    }

    [Fact]
    public void GitHub_takes_the_token_from_a_secret_and_uploads_the_sarif_whatever_the_outcome()
    {
        var job = Pipeline(GitHub)["jobs"]!["fuzz"]!;
        var upload = job["steps"]!.AsArray().Single(s => (string?)s!["uses"] == "github/codeql-action/upload-sarif@v3")!;

        ((string?)job["env"]!["PANDAFUZZ_CMD_TOKEN"]).Should().Be("${{ secrets.PANDAFUZZ_CMD_TOKEN }}");
        ((string?)upload["if"]).Should().StartWith("always()");
        ((string?)upload["with"]!["sarif_file"]).Should().Be("pandafuzz.sarif");
        ((string?)upload["with"]!["category"]).Should().Be("pandafuzz");
        ((string?)Pipeline(GitHub)["permissions"]!["security-events"]).Should().Be("write");
    }

    [Fact]
    public void GitLab_keeps_the_sarif_whatever_the_outcome()
    {
        var artifacts = Pipeline(GitLab)["pandafuzz"]!["artifacts"]!;

        ((string?)artifacts["when"]).Should().Be("always");
        artifacts["paths"]!.AsArray().Select(p => (string?)p).Should().Contain("pandafuzz.sarif");
    }

    /// <summary>The contract's command line, the host, revision and source root given by the CI's variables.</summary>
    [GeneratedRegex("""^pandafuzz-cmd "\$PANDAFUZZ_HOST" ci --name [a-z0-9-]+ --target \./build/fuzzer --engine libfuzzer --seconds 300 --revision "[^"]+" --sarif pandafuzz\.sarif --source-root "[^"]+"$""")]
    private static partial Regex CiCommand();

    private static JsonObject Pipeline(string file) =>
        Yaml(File.ReadAllText(Path.Combine(ShippedConfigurationTests.RepositoryRoot, "ops", "ci", file)));

    /// <summary>Evaluates against a schema from PANDAFUZZ_CI_SCHEMAS; a $ref to a schema not in that file is an error, never a download.</summary>
    private static EvaluationResults Validate(string schemaFile, JsonNode document)
    {
        var dir = Environment.GetEnvironmentVariable("PANDAFUZZ_CI_SCHEMAS");
        Directory.Exists(dir).Should().BeTrue("PANDAFUZZ_CI_SCHEMAS names the folder of SchemaStore's schemas ('{0}'): run the tests with ops/test.sh, which installs them", dir ?? "unset");
        var path = Path.Combine(dir!, schemaFile);
        File.Exists(path).Should().BeTrue("SchemaStore's {0} is in PANDAFUZZ_CI_SCHEMAS ('{1}')", schemaFile, dir);
        var registry = new SchemaRegistry
        {
            Fetch = (uri, _) => throw new InvalidOperationException($"{schemaFile} refers to {uri}, which the test does not download"),
        };
        var schema = JsonSchema.FromText(File.ReadAllText(path), new BuildOptions { SchemaRegistry = registry });
        using var instance = JsonDocument.Parse(document.ToJsonString());
        return schema.Evaluate(instance.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    private static IEnumerable<(string Location, string Message)> Failures(EvaluationResults results) =>
        (results.Details ?? []).Prepend(results)
            .Where(r => r.Errors is { Count: > 0 })
            .SelectMany(r => r.Errors!.Select(e => (r.InstanceLocation.ToString(), $"{e.Key}: {e.Value} (schema {r.EvaluationPath})")));

    /// <summary>The errors, those of a oneOf's or anyOf's branches among them: the one that matters is one of the lines.</summary>
    private static string Describe(EvaluationResults results) =>
        string.Join('\n', Failures(results).Take(60).Select(f => $"{f.Location}: {f.Message}"));

    private static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(p => Strings(p.Value)),
        JsonArray a => a.SelectMany(Strings),
        JsonValue v when v.TryGetValue<string>(out var s) => [s],
        _ => [],
    };

    /// <summary>
    /// YAML to JSON as the CIs read it: keys are strings (GitHub's `on` too), plain scalars that read as a YAML 1.2
    /// boolean, null or number are one, and quoted or block scalars are strings.
    /// </summary>
    private static JsonObject Yaml(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return Json(stream.Documents.Single().RootNode)!.AsObject();
    }

    private static JsonNode? Json(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, Json(c.Value)))),
        YamlSequenceNode list => new JsonArray(list.Children.Select(Json).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain } scalar => Plain(scalar.Value ?? ""),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType} at {node.Start}"),
    };

    private static JsonNode? Plain(string value) => value switch
    {
        "" or "~" or "null" or "Null" or "NULL" => null,
        "true" or "True" or "TRUE" => JsonValue.Create(true),
        "false" or "False" or "FALSE" => JsonValue.Create(false),
        _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => JsonValue.Create(n),
        _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !double.IsNaN(d) && !double.IsInfinity(d) => JsonValue.Create(d),
        _ => JsonValue.Create(value),
    };
}
