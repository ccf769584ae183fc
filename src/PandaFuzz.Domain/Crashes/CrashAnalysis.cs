using System.Security.Cryptography;
using System.Text;

namespace PandaFuzz.Domain.Crashes;

/// <summary>
/// A crash as a user reads it: its type in the form ClusterFuzz users know (<c>Heap-buffer-overflow</c>), the access
/// (<c>WRITE 4</c>), the symbolized frames, the crash state (the top frames that say where the bug is), whether
/// it is a security bug, and the signature that one bug keeps across inputs and call paths.
/// </summary>
/// <param name="Type">E.g. <c>Heap-buffer-overflow</c>, <c>Null-dereference</c>, <c>Timeout</c>, <c>Integer-overflow</c>.</param>
/// <param name="Access"><c>READ 4</c>, <c>WRITE {*}</c> (sizes over 16), <c>READ</c> (a SEGV), or null.</param>
/// <param name="Frames">The crash's stack (the first one of the report).</param>
/// <param name="State">Up to three function names, one per line, after the frames that never hold the bug are dropped.</param>
/// <param name="Security">True for memory-safety bugs; false for leaks, timeouts, OOMs, aborts, null dereferences.</param>
public sealed record CrashAnalysis(string Type, string? Access, IReadOnlyList<StackFrame> Frames, string State, bool Security)
{
    /// <summary>The kind shown to users: the type and the access, e.g. <c>Heap-buffer-overflow WRITE 4</c>.</summary>
    public string Kind => Access is null ? Type : $"{Type} {Access}";

    /// <summary>A stable hash of (kind, state): 16 lower-case hex digits of SHA-256 over both.</summary>
    public string Signature => SignatureOf(Kind, State);

    public static string SignatureOf(string kind, string state)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(kind + "\n\n" + state));
        return Convert.ToHexStringLower(hash.AsSpan(0, 8));
    }
}
