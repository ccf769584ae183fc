using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Crashes;

/// <summary>A crash as a user reads it, its type in the form ClusterFuzz users know (<c>Heap-buffer-overflow</c>).</summary>
/// <param name="Access"><c>READ 4</c>, <c>WRITE {*}</c> (sizes over 16), <c>READ</c> (a SEGV), or null.</param>
/// <param name="State">Up to three function names, one per line, once the frames that never hold the bug are dropped.</param>
/// <param name="Security">Memory-safety bugs; not leaks, timeouts, OOMs, aborts or null dereferences.</param>
public sealed record CrashAnalysis(string Type, string? Access, IReadOnlyList<StackFrame> Frames, string State, bool Security, string? Location = null)
{
    public string Kind => Access is null ? Type : $"{Type} {Access}";

    /// <summary>Over the type, the access direction and the state, not the access size (<see cref="CrashIdentity"/>).</summary>
    public string Signature => CrashIdentity.Signature(Kind, State);
}
