using System.Globalization;
using PandaFuzz.Domain.Engines.LibFuzzer;

namespace PandaFuzz.Domain.Engines.AflPlusPlus;

/// <summary>Recognises the files AFL++ writes: crashes/<c>id:000000,sig:06,src:000004,time:2113,execs:20053,op:havoc,rep:2</c>,
/// hangs/ and queue/<c>id:000001,src:000000,time:0,execs:8,op:havoc,rep:4,+cov</c> (seeds: <c>id:000000,time:0,execs:0,orig:seed</c>).
/// Not entries: crashes/README.txt, queue/.state and other dot-files.</summary>
public static class AflArtifactNames
{
    public const string CrashesDirectory = "crashes";

    public const string HangsDirectory = "hangs";

    public const string QueueDirectory = "queue";

    public static bool IsCrash(string fileName) => TryReadName(fileName, out _, out var signal) && signal is not null;

    /// <summary>AFL++ names hangs like queue entries, so this tells a hang from a crash or a stray file, not from a queue
    /// entry: ask it of files in hangs/. Seeds (<c>orig:</c>) and <c>+cov</c> entries never land in hangs/.</summary>
    public static bool IsHang(string fileName) =>
        TryReadName(fileName, out var name, out var signal) && signal is null
        && !HasField(name, "orig:") && !name.EndsWith(",+cov", StringComparison.Ordinal);

    public static bool IsQueueEntry(string fileName) => TryReadName(fileName, out _, out var signal) && signal is null;

    public static long? Id(string fileName)
    {
        if (!TryReadName(fileName, out var name, out _))
        {
            return null;
        }

        var end = name.IndexOf(',');
        return long.Parse(end < 0 ? name[3..] : name[3..end], NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>From a crash name's <c>sig:NN</c> (6 = SIGABRT, ASan's abort); else null.</summary>
    public static int? Signal(string fileName) => TryReadName(fileName, out _, out var signal) ? signal : null;

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
