using System.Text.Json;
using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Coverage;

/// <summary>
/// Reads <c>llvm-cov export -summary-only</c>'s JSON (<c>llvm.coverage.json.export</c>, version 2): the totals and each
/// source file's line, function and region counts. Its file names come from the coverage build, so they are data: bounded
/// in number and length, never used as paths.
/// </summary>
public static class LlvmCovExport
{
    public const string ExportType = "llvm.coverage.json.export";

    /// <summary>More files than this in one report are refused, so a summary stays a bounded journal event.</summary>
    public const int MaxFiles = 20_000;

    public const int MaxPathChars = 4096;

    /// <summary>Throws <see cref="InvalidDataException"/> naming what is wrong when the JSON is not such a summary.</summary>
    public static (CoverageTotals Totals, IReadOnlyList<CoverageFile> Files) Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the llvm-cov summary is not JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
                || type.GetString() != ExportType)
            {
                throw new InvalidDataException($"the llvm-cov summary is not of type {ExportType}");
            }

            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array || data.GetArrayLength() == 0)
            {
                throw new InvalidDataException("the llvm-cov summary has no data");
            }

            // One export holds one object per binary; the bot exports one binary.
            var export = data[0];
            var totals = Totals(Property(export, "totals", JsonValueKind.Object), "totals");
            var files = new List<CoverageFile>();
            if (export.TryGetProperty("files", out var list))
            {
                if (list.ValueKind != JsonValueKind.Array)
                {
                    throw new InvalidDataException("the llvm-cov summary's files are not a list");
                }

                if (list.GetArrayLength() > MaxFiles)
                {
                    throw new InvalidDataException($"the llvm-cov summary names {list.GetArrayLength()} files, more than the {MaxFiles} a report may hold");
                }

                foreach (var file in list.EnumerateArray())
                {
                    var name = Property(file, "filename", JsonValueKind.String).GetString()!;
                    if (name.Length is 0 or > MaxPathChars || name.Any(char.IsControl))
                    {
                        throw new InvalidDataException($"the llvm-cov summary names a file of {name.Length} characters or with control characters");
                    }

                    files.Add(new CoverageFile(name, Totals(Property(file, "summary", JsonValueKind.Object), name)));
                }
            }

            return (totals, files);
        }
    }

    private static CoverageTotals Totals(JsonElement summary, string of) =>
        new(Count(summary, "lines", of), Count(summary, "functions", of), Count(summary, "regions", of));

    private static CoverageCount Count(JsonElement summary, string name, string of)
    {
        var element = Property(summary, name, JsonValueKind.Object);
        var count = Number(element, "count", $"{of}: {name}");
        var covered = Number(element, "covered", $"{of}: {name}");
        return covered <= count
            ? new CoverageCount(covered, count)
            : throw new InvalidDataException($"{of}: {name} has {covered} covered of {count}");
    }

    private static long Number(JsonElement element, string name, string where) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= 0
            ? number
            : throw new InvalidDataException($"{where}: {name} is not a whole number, 0 or more");

    private static JsonElement Property(JsonElement element, string name, JsonValueKind kind) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == kind
            ? value
            : throw new InvalidDataException($"the llvm-cov summary lacks {name}");
}
