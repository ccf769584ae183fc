namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// Microsoft's SARIF multitool (npm <c>@microsoft/sarif-multitool</c>), which ops/test.sh installs and names in
/// <c>PANDAFUZZ_SARIF_MULTITOOL</c>: <c>validate</c> checks a log against the SARIF 2.1.0 schema and its rules.
/// </summary>
public static class SarifMultitool
{
    public const string Variable = "PANDAFUZZ_SARIF_MULTITOOL";

    /// <summary>
    /// Validates <paramref name="sarifFile"/>; returns the tool's run and every error it reported (the tool exits 0
    /// even then: its findings are the results of its own SARIF output, errors at level "error").
    /// </summary>
    public static async Task<(ProcessResult Run, IReadOnlyList<string> Errors)> ValidateAsync(string sarifFile, string outputFile, CancellationToken cancellationToken)
    {
        var tool = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(tool) || !File.Exists(tool))
        {
            throw new InvalidOperationException(
                $"{Variable} does not name the SARIF multitool ({tool ?? "unset"}). Run the tests with ops/test.sh, which installs " +
                "@microsoft/sarif-multitool with npm, or set it to node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool.");
        }

        File.Delete(outputFile);
        var run = await ProcessTools.RunAsync(tool, ["validate", sarifFile, "--output", outputFile], TimeSpan.FromMinutes(2), cancellationToken);
        if (run.ExitCode != 0 || !File.Exists(outputFile))
        {
            return (run, [$"the multitool failed (exit {run.ExitCode}): {run.StandardOutput}{run.StandardError}"]);
        }

        using var report = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(outputFile, cancellationToken));
        var errors = report.RootElement.GetProperty("runs").EnumerateArray()
            .SelectMany(r => r.TryGetProperty("results", out var results) ? results.EnumerateArray() : Enumerable.Empty<System.Text.Json.JsonElement>())
            .Where(r => r.TryGetProperty("level", out var level) && level.GetString() == "error")
            .Select(r => r.GetRawText())
            .ToList();
        return (run, errors);
    }
}
