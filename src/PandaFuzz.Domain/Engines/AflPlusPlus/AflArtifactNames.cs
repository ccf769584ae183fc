using System.Globalization;
using PandaFuzz.Domain.Engines.LibFuzzer;

namespace PandaFuzz.Domain.Engines.AflPlusPlus;

/// <summary>
/// Recognises the files AFL++ writes in its output directory:
/// crashes/<c>id:000000,sig:06,src:000004,time:2113,execs:20053,op:havoc,rep:2</c>,
/// hangs/ and queue/<c>id:000001,src:000000,time:0,execs:8,op:havoc,rep:4,+cov</c> (seeds: <c>id:000000,time:0,execs:0,orig:seed</c>).
/// Not entries: crashes/README.txt, queue/.state and other dot-files, names from anything else.
/// </summary>
public static class AflArtifactNames
{
    /// <summary>The crashes/ directory name.</summary>
    public const string CrashesDirectory = "crashes";

    /// <summary>The hangs/ directory name.</summary>
    public const string HangsDirectory = "hangs";

    /// <summary>The queue/ directory name.</summary>
    public const string QueueDirectory = "queue";

    /// <summary>A crash record: <c>id:N,sig:NN,...</c>. Accepts a file name or a path.</summary>
    public static bool IsCrash(string fileName) => TryReadName(fileName, out _, out var signal) && signal is not null;

    /// <summary>
    /// A hang record: <c>id:N,src:...</c>, no signal. AFL++ names hangs like queue entries, so this tells a hang from a
    /// crash or a stray file, not from a queue entry; ask it of files in hangs/. Seeds (<c>orig:</c>) and entries with
    /// new coverage (<c>+cov</c>) never land in hangs/.
    /// </summary>
    public static bool IsHang(string fileName) =>
        TryReadName(fileName, out var name, out var signal) && signal is null
        && !HasField(name, "orig:") && !name.EndsWith(",+cov", StringComparison.Ordinal);

    /// <summary>A queue entry: <c>id:N,...</c> without a signal (found inputs, seeds, entries synced from other instances).</summary>
    public static bool IsQueueEntry(string fileName) => TryReadName(fileName, out _, out var signal) && signal is null;

    /// <summary>The <c>id:</c> number of any AFL++ entry name, else null.</summary>
    public static long? Id(string fileName)
    {
        if (!TryReadName(fileName, out var name, out _))
        {
            return null;
        }

        var end = name.IndexOf(',');
        return long.Parse(end < 0 ? name[3..] : name[3..end], NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>The signal that killed the target, from a crash name's <c>sig:NN</c> (6 = SIGABRT, ASan's abort); else null.</summary>
    public static int? Signal(string fileName) => TryReadName(fileName, out _, out var signal) ? signal : null;

    /// <summary>
    /// The crash kind of the files in an AFL++ output subdirectory (a name or a path): crashes → "crash", hangs →
    /// "timeout" (<see cref="CrashKinds"/>).
    /// </summary>
    /// <exception cref="ArgumentException">For any other directory, e.g. queue.</exception>
    public static string KindOf(string directoryName)
    {
        var name = Path.GetFileName(directoryName.AsSpan().TrimEnd('/'));
        if (name.SequenceEqual(CrashesDirectory))
        {
            return CrashKinds.Crash;
        }

        if (name.SequenceEqual(HangsDirectory))
        {
            return CrashKinds.Timeout;
        }

        throw new ArgumentException(
            $"'{directoryName}' is not an AFL++ crash directory; expected '{CrashesDirectory}' or '{HangsDirectory}'.",
            nameof(directoryName));
    }

    // "id:" + digits, then nothing or ",field,field...". signal: the value of a "sig:" field, if any.
    private static bool TryReadName(string pathOrFileName, out string name, out int? signal)
    {
        name = Path.GetFileName(pathOrFileName);
        signal = null;
        if (!name.StartsWith("id:", StringComparison.Ordinal))
        {
            return false;
        }

        var end = name.IndexOf(',');
        var id = end < 0 ? name.AsSpan(3) : name.AsSpan(3, end - 3);
        if (id.IsEmpty || !long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return false;
        }

        if (end < 0)
        {
            return true;
        }

        foreach (var range in name.AsSpan(end + 1).Split(','))
        {
            var field = name.AsSpan(end + 1)[range];
            if (field.StartsWith("sig:", StringComparison.Ordinal))
            {
                if (!int.TryParse(field[4..], NumberStyles.None, CultureInfo.InvariantCulture, out var sig))
                {
                    return false;
                }

                signal = sig;
            }
        }

        return true;
    }

    private static bool HasField(string name, string prefix)
    {
        foreach (var range in name.AsSpan().Split(','))
        {
            if (name.AsSpan()[range].StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
