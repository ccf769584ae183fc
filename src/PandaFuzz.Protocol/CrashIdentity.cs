using System.Security.Cryptography;
using System.Text;

namespace PandaFuzz.Protocol;

/// <summary>What makes two reports one crash: type, access direction and state, not the access size (the same
/// <c>memcpy</c> overflow writes 2 bytes past the end on one input and 9 on the next).</summary>
public static class CrashIdentity
{
    private static readonly string[] Directions = ["READ", "WRITE", "ACCESS", "UNKNOWN"];

    /// <summary>The signature: 16 lower-case hex digits of SHA-256 over the kind without its access size, and the state.</summary>
    public static string Signature(string kind, string state) => Hash(WithoutSize(kind), state);

    /// <summary>The signature of earlier releases, over the kind with its size; old findings carrying it are re-keyed when read.</summary>
    public static string SizedSignature(string kind, string state) => Hash(kind, state);

    public static string WithoutSize(string kind) => SplitSize(kind).Kind;

    /// <summary>The access size of a kind (<c>4</c>, or <c>{*}</c> for sizes over 16), or null when it names none.</summary>
    public static string? AccessSize(string kind) => SplitSize(kind).Size;

    /// <summary>As users read them: <c>4</c>, <c>2–16</c>, <c>2–16, {*}</c>; null when no report named one.</summary>
    public static string? SizeRange(IEnumerable<string> sizes)
    {
        var numbers = new SortedSet<int>();
        var other = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var size in sizes)
        {
            if (int.TryParse(size, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
            {
                numbers.Add(n);
            }
            else
            {
                other.Add(size);
            }
        }

        var parts = new List<string>();
        if (numbers.Count > 0)
        {
            parts.Add(numbers.Count == 1 ? $"{numbers.Min}" : $"{numbers.Min}–{numbers.Max}");
        }

        parts.AddRange(other);
        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    private static (string Kind, string? Size) SplitSize(string kind)
    {
        var last = kind.LastIndexOf(' ');
        if (last < 0)
        {
            return (kind, null);
        }

        var size = kind[(last + 1)..];
        var head = kind[..last];
        var direction = head[(head.LastIndexOf(' ') + 1)..];
        var isSize = size == "{*}" || size.Length > 0 && size.All(char.IsAsciiDigit);
        return isSize && Directions.Contains(direction, StringComparer.Ordinal) ? (head, size) : (kind, null);
    }

    private static string Hash(string kind, string state) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(kind + "\n\n" + state)).AsSpan(0, 8));
}
