using System.Globalization;
using System.Runtime.InteropServices;

namespace PandaFuzz.Benchmarks;

/// <summary>
/// When a process started, on the kernel's boot-time clock, read from <c>/proc/&lt;pid&gt;/stat</c> field 22 (starttime:
/// clock ticks since boot, <c>CLK_TCK</c> = 100 on Linux, so a resolution of 10 ms, truncated), and the same clock read
/// now through <c>clock_gettime(CLOCK_BOOTTIME)</c>, so that a start can be compared with a moment this program saw.
/// </summary>
public static class ProcessClock
{
    private const int ClockBootTime = 7;

    /// <summary>Clock ticks per second of /proc's times (<c>getconf CLK_TCK</c>).</summary>
    public static double TicksPerSecond => Cpu.ClockTicks;

    /// <summary>The resolution of <see cref="StartedAt"/>.</summary>
    public static TimeSpan Resolution => TimeSpan.FromSeconds(1 / TicksPerSecond);

    /// <summary>Now on CLOCK_BOOTTIME (the clock /proc's starttime counts on), as time since boot.</summary>
    public static TimeSpan Now()
    {
        if (ClockGetTime(ClockBootTime, out var now) != 0)
        {
            throw new InvalidOperationException($"clock_gettime(CLOCK_BOOTTIME) failed: errno {Marshal.GetLastPInvokeError()}.");
        }

        return TimeSpan.FromTicks(now.Seconds * TimeSpan.TicksPerSecond + now.Nanoseconds / 100);
    }

    /// <summary>When <paramref name="pid"/> started (time since boot, truncated to a clock tick), or null when it is gone.</summary>
    public static TimeSpan? StartedAt(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // Fields after the command name (in parentheses, may hold spaces) start at field 3: starttime (22) is the 20th.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[19], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The argv of <paramref name="pid"/>, or null when it is gone.</summary>
    public static string[]? Arguments(int pid)
    {
        try
        {
            var raw = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline");
            return raw.Length == 0 ? null : raw.TrimEnd('\0').Split('\0');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static extern int ClockGetTime(int clock, out TimeSpec time);
}
