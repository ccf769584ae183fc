using PandaFuzz.Protocol;

namespace PandaFuzz.Domain.Crashes;

/// <summary>
/// A crash as a user reads it: its type in the form ClusterFuzz users know (<c>Heap-buffer-overflow</c>), the access
/// (<c>WRITE 4</c>), the symbolized frames, the crash state (the top frames that say where the bug is), whether
/// it is a security bug, the signature that one crash keeps across inputs and access sizes, and where the frame that
/// crashed is.
/// </summary>
/// <param name="Type">E.g. <c>Heap-buffer-overflow</c>, <c>Null-dereference</c>, <c>Timeout</c>, <c>Integer-overflow</c>.</param>
/// <param name="Access"><c>READ 4</c>, <c>WRITE {*}</c> (sizes over 16), <c>READ</c> (a SEGV), or null.</param>
/// <param name="Frames">The crash's stack (the first one of the report).</param>
/// <param name="State">Up to three function names, one per line, after the frames that never hold the bug are dropped.</param>
/// <param name="Security">True for memory-safety bugs; false for leaks, timeouts, OOMs, aborts, null dereferences.</param>
/// <param name="Location">The file name and line of the state's first frame (<c>target.c:57</c>), when symbolized.</param>
public sealed record CrashAnalysis(string Type, string? Access, IReadOnlyList<StackFrame> Frames, string State, bool Security, string? Location = null)
{
    /// <summary>The kind shown to users: the type and the access, e.g. <c>Heap-buffer-overflow WRITE 4</c>.</summary>
    public string Kind => Access is null ? Type : $"{Type} {Access}";

    /// <summary>A stable hash of the type, the access direction and the state (<see cref="CrashIdentity"/>): not the access size.</summary>
    public string Signature => CrashIdentity.Signature(Kind, State);
}
