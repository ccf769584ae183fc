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

    /// <summary>The spec, or the errors by field (camelCase, as in the JSON body).</summary>
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

        var engines = Engines(request, errors, targetExists);
        Range("jobs", request.Jobs, 1, MaxJobs, required: true);
        Range("durationSeconds", request.DurationSeconds, 1, MaxDurationSeconds, required: true);
        Range("memoryLimitMb", request.MemoryLimitMb, MinMemoryLimitMb, MaxMemoryLimitMb, required: false);
        Range("timeoutMs", request.TimeoutMs, 1, MaxTimeoutMs, required: false);
        Range("priority", request.Priority, 1, CampaignSpec.MaxPriority, required: false);
        if (request.Dictionary is { Length: > MaxDictionaryChars })
        {
            Fail("dictionary", $"dictionary must be at most {MaxDictionaryChars} characters");
        }

        var options = EngineOptionsModel.Parse(request.EngineOptions, errors);

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new CampaignSpec(request.Name!, engines[0].Target, engines[0].Engine, request.Jobs!.Value, request.DurationSeconds!.Value,
            request.MemoryLimitMb ?? 2048, request.TimeoutMs ?? 1000, request.Dictionary, engines.Count > 1 ? engines : null)
        {
            Options = options,
            Priority = request.Priority ?? CampaignSpec.DefaultPriority,
        }, errors);

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

    private static List<EngineTarget> Engines(CreateCampaignRequest request, Dictionary<string, string[]> errors, Func<BlobId, bool> targetExists)
    {
        var builds = new Dictionary<string, (string Field, string? Id)>();
        foreach (var (engine, id) in request.Targets ?? [])
        {
            builds[engine] = ($"targets.{engine}", id);
        }

        if (request.TargetId is not null || builds.Count == 0)
        {
            builds[request.Engine ?? EngineNames.LibFuzzer] = ("targetId", request.TargetId);
        }
        else if (request.Engine is not null && !builds.ContainsKey(request.Engine))
        {
            errors["engine"] = [$"engine {request.Engine} has no build in targets"];
        }

        if (request.Engines is { } listed && listed.Any(string.IsNullOrWhiteSpace))
        {
            errors["engines"] = ["engines must list engine names, none of them null or empty"];
            return [];
        }

        var order = request.Engines ?? [.. EngineNames.Known.Where(builds.ContainsKey), .. builds.Keys.Where(k => !EngineNames.Known.Contains(k))];
        if (request.Engine is not null && order.Contains(request.Engine))
        {
            order = [request.Engine, .. order.Where(e => e != request.Engine)];
        }

        var result = new List<EngineTarget>();
        foreach (var engine in order.Distinct())
        {
            var known = EngineNames.Known.Contains(engine);
            if (!known)
            {
                errors[builds.TryGetValue(engine, out var b) && b.Field != "targetId" ? b.Field : "engine"] =
                    [$"engine must be one of: {string.Join(", ", EngineNames.Known)} (not '{engine}')"];
            }

            if (!builds.TryGetValue(engine, out var build))
            {
                errors["engines"] = [$"engine {engine} has no build in targets"];
                continue;
            }

            if (string.IsNullOrEmpty(build.Id))
            {
                errors[build.Field] = [$"{build.Field} is required: upload the target first with POST /api/v1/targets"];
            }
            else if (!BlobId.TryParse(build.Id, out var parsed))
            {
                errors[build.Field] = [$"{build.Field} must be the 64 lowercase hex digits of a sha256"];
            }
            else if (!targetExists(parsed))
            {
                errors[build.Field] = [$"no target {build.Id} has been uploaded"];
            }
            else if (known)
            {
                result.Add(new EngineTarget(engine, parsed));
            }
        }

        if (result.Count == 0 && errors.Count == 0)
        {
            errors["engines"] = ["at least one engine is required"];
        }

        return result;
    }

    /// <summary>
    /// A request by target name (<c>target</c>, <c>build</c>) as the request by binaries it stands for: the newest build
    /// (or the pinned one) gives each engine its binary in <c>targets</c>. Errors name <c>target</c>, <c>build</c>,
    /// <c>engine</c> or <c>engines</c>; <see cref="Validate"/> checks the rest of the request after.
    /// </summary>
    public static ((CreateCampaignRequest Request, TargetBuild Build)? Resolved, Dictionary<string, string[]> Errors) ForBuild(
        CreateCampaignRequest request, TargetQueries.TargetBuilds? builds)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Target is null)
        {
            errors["target"] = ["target is required with build: the name of an uploaded target"];
        }
        else if (!IsValidTargetName(request.Target))
        {
            errors["target"] = ["target must be a target's name: 1-100 characters of letters, digits, space, '.', '_' or '-'"];
        }
        else if (request.TargetId is not null || request.Targets is not null)
        {
            errors[request.TargetId is not null ? "targetId" : "targets"] = ["give the target by name (target) or by binary (targetId or targets), not both"];
        }
        else if (builds is not { Builds.Count: > 0 })
        {
            errors["target"] = [$"no target named {request.Target} has been uploaded (POST /api/v1/targets?name=)"];
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var build = request.Build is { } number ? builds!.Find(number) : builds!.Newest;
        if (build is null)
        {
            errors["build"] = [$"target {request.Target} has no build {request.Build} (its builds: 1 to {builds.Builds.Count})"];
            return (null, errors);
        }

        var engines = request.Engines ?? [request.Engine ?? EngineNames.LibFuzzer];
        var field = request.Engines is null ? "engine" : "engines";
        var binaries = new Dictionary<string, string>();
        foreach (var engine in engines.Where(e => !string.IsNullOrWhiteSpace(e)).Distinct())
        {
            if (build.FuzzingBinaryFor(engine) is { } binary)
            {
                binaries[engine] = binary.Binary.Sha256;
            }
            else
            {
                errors[field] = [$"build {build.Number} of target {request.Target} has no binary for {engine} (upload one with kind={engine} or kind=fuzzer)"];
            }
        }

        // A bundle holds fuzz targets by name: the request names one, unless the bundle holds only one.
        var usesBundle = binaries.Count > 0 && binaries.Values.Any(id => build.BinaryOf(TargetBinaryKinds.Bundle)?.Binary.Sha256 == id);
        if (usesBundle && build.Bundle is { } bundle)
        {
            var names = string.Join(", ", bundle.Targets.Select(t => t.Name));
            if (request.FuzzTarget is null && bundle.Targets.Count > 1)
            {
                errors["fuzzTarget"] = [$"fuzzTarget is required: build {build.Number} of target {request.Target} is a bundle of several fuzz targets ({names})"];
            }
            else if (request.FuzzTarget is { } name && bundle.Target(name) is null)
            {
                errors["fuzzTarget"] = [$"build {build.Number} of target {request.Target} has no fuzz target '{name}' (it has: {names})"];
            }
            else
            {
                request = request with { FuzzTarget = request.FuzzTarget ?? bundle.Targets[0].Name };
            }
        }
        else if (request.FuzzTarget is not null)
        {
            errors["fuzzTarget"] = [$"build {build.Number} of target {request.Target} is not a bundle: fuzzTarget names a fuzz target in a bundle"];
        }

        return errors.Count > 0 ? (null, errors) : ((request with { Targets = binaries }, build), errors);
    }

    /// <summary>Target names: what a user would call a file, no path separators.</summary>
    public static bool IsValidTargetName(string? name) => name is not null && NameShape().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}\\z")]
    private static partial Regex NameShape();
}
