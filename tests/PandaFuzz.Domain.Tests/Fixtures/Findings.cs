using PandaFuzz.Protocol;
using static PandaFuzz.Testing.Samples;

namespace PandaFuzz.Domain.Tests.Fixtures;

/// <summary>Crash findings written by hand, as a bot reports them: the signature from kind and state, the top frame's location.</summary>
public static class Findings
{
    private static int _inputs;

    /// <summary>A finding with an input of its own; <paramref name="location"/> is the crashing frame's file:line.</summary>
    public static CrashFinding Report(string kind, string state, string? location, bool security = true, int reproduced = 3, DateTimeOffset? at = null)
    {
        var input = BlobId.Of(System.Text.Encoding.UTF8.GetBytes($"input-{Interlocked.Increment(ref _inputs)}"));
        var frames = state.Split('\n').Select((f, i) => i == 0 && location is not null ? $"#{i + 1} {f} /src/{location}" : $"#{i + 1} {f}").ToList();
        return new CrashFinding(input, 8, $"crash-{input.Sha256[..40]}", kind, "SUMMARY", frames, "report", at ?? T0, CrashIdentity.Signature(kind, state),
            state, security, 3, reproduced, location);
    }
}
