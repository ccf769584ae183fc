using System.Text.RegularExpressions;
using PandaFuzz.Protocol;

namespace PandaFuzz.Gateway;

/// <summary>Checks a campaign request field by field; every problem names its field.</summary>
public static partial class CampaignRequestValidator
{
    public const int MaxJobs = 256;
    public const int MaxDurationSeconds = 30 * 24 * 3600;
    public const int MinMemoryLimitMb = 64;
    public const int MaxMemoryLimitMb = 1024 * 1024;
    public const int MaxTimeoutMs = 3_600_000;
    public const int MaxDictionaryChars = 64 * 1024;

    /// <summary>Returns the spec, or the errors by field (camelCase, as in the JSON body).</summary>
    public static (CampaignSpec? Spec, Dictionary<string, string[]> Errors) Validate(CreateCampaignRequest request, Func<BlobId, bool> targetExists)
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors[field] = [message];

        if (string.IsNullOrWhiteSpace(request.Name))
        {
            Fail("name", "name is required");
        }
        else if (!NameShape().IsMatch(request.Name))
        {
            Fail("name", "name must be 1-100 characters of letters, digits, space, '.', '_' or '-'");
        }

        BlobId? target = null;
        if (string.IsNullOrEmpty(request.TargetId))
        {
            Fail("targetId", "targetId is required: upload the target first with POST /api/v1/targets");
        }
        else if (!BlobId.TryParse(request.TargetId, out var parsed))
        {
            Fail("targetId", "targetId must be the 64 lowercase hex digits of a sha256");
        }
        else if (!targetExists(parsed))
        {
            Fail("targetId", $"no target {request.TargetId} has been uploaded");
        }
        else
        {
            target = parsed;
        }

        var engine = request.Engine ?? EngineNames.LibFuzzer;
        if (!EngineNames.Known.Contains(engine))
        {
            Fail("engine", $"engine must be one of: {string.Join(", ", EngineNames.Known)}");
        }

        Range("jobs", request.Jobs, 1, MaxJobs, required: true);
        Range("durationSeconds", request.DurationSeconds, 1, MaxDurationSeconds, required: true);
        Range("memoryLimitMb", request.MemoryLimitMb, MinMemoryLimitMb, MaxMemoryLimitMb, required: false);
        Range("timeoutMs", request.TimeoutMs, 1, MaxTimeoutMs, required: false);
        if (request.Dictionary is { Length: > MaxDictionaryChars })
        {
            Fail("dictionary", $"dictionary must be at most {MaxDictionaryChars} characters");
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new CampaignSpec(request.Name!, target!, engine, request.Jobs!.Value, request.DurationSeconds!.Value,
            request.MemoryLimitMb ?? 2048, request.TimeoutMs ?? 1000, request.Dictionary), errors);

        void Range(string field, int? value, int min, int max, bool required)
        {
            if (value is null)
            {
                if (required)
                {
                    Fail(field, $"{field} is required");
                }
            }
            else if (value < min || value > max)
            {
                Fail(field, $"{field} must be between {min} and {max}");
            }
        }
    }

    /// <summary>Target names: what a user would call a file, no path separators.</summary>
    public static bool IsValidTargetName(string? name) => name is not null && NameShape().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}\\z")]
    private static partial Regex NameShape();
}
