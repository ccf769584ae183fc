using System.Globalization;

namespace PandaFuzz.Bot.Simulation;

/// <summary>A simulated fuzzer's rates, from the campaign's target: a text file of <c>key = value</c> lines, fetched like any build.</summary>
/// <param name="CrashesPerMinute">Evenly spaced; fractions carry over.</param>
/// <param name="Signatures">How many different bugs its crashes come from (each crash picks one at random).</param>
public sealed record SimulatedTarget(long ExecsPerSecond, double CrashesPerMinute, int Signatures, double InputsPerMinute, TimeSpan Tick)
{
    public const string Magic = "pandafuzz-simulated-target";

    public static readonly SimulatedTarget Default = new(1000, 0, 1, 0, TimeSpan.FromSeconds(1));

    public static (SimulatedTarget? Target, string? Error) Parse(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        if (lines[0].Trim() != Magic)
        {
            return (null, $"not a simulated target: its first line must be '{Magic}'");
        }

        var target = Default;
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var equals = line.IndexOf('=');
            if (equals <= 0)
            {
                return (null, $"line {i + 1}: expected 'key = value', got '{line}'");
            }

            var key = line[..equals].Trim();
            var value = line[(equals + 1)..].Trim();
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number) || number < 0)
            {
                return (null, $"line {i + 1}: {key} must be a number >= 0, got '{value}'");
            }

            (target, var error) = key switch
            {
                "execs-per-second" when number <= 1e9 => (target with { ExecsPerSecond = (long)number }, null),
                "crashes-per-minute" when number <= 60_000 => (target with { CrashesPerMinute = number }, null),
                "signatures" when number is >= 1 and <= 1_000_000 && number == Math.Floor(number) => (target with { Signatures = (int)number }, null),
                "inputs-per-minute" when number <= 60_000 => (target with { InputsPerMinute = number }, null),
                "tick-ms" when number is >= 50 and <= 60_000 => (target with { Tick = TimeSpan.FromMilliseconds(number) }, null),
                "execs-per-second" or "crashes-per-minute" or "signatures" or "inputs-per-minute" or "tick-ms" =>
                    (target, $"line {i + 1}: {key} = {value} is out of range ({Range(key)})"),
                _ => (target, $"line {i + 1}: unknown key '{key}' (known: execs-per-second, crashes-per-minute, signatures, inputs-per-minute, tick-ms)"),
            };
            if (error is not null)
            {
                return (null, error);
            }
        }

        return (target, null);
    }

    public string ToText() => string.Join('\n',
        Magic,
        $"execs-per-second = {ExecsPerSecond.ToString(CultureInfo.InvariantCulture)}",
        $"crashes-per-minute = {CrashesPerMinute.ToString(CultureInfo.InvariantCulture)}",
        $"signatures = {Signatures.ToString(CultureInfo.InvariantCulture)}",
        $"inputs-per-minute = {InputsPerMinute.ToString(CultureInfo.InvariantCulture)}",
        $"tick-ms = {((long)Tick.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}",
        "");

    private static string Range(string key) => key switch
    {
        "execs-per-second" => "0 to 1e9",
        "crashes-per-minute" or "inputs-per-minute" => "0 to 60000",
        "signatures" => "a whole number from 1 to 1000000",
        _ => "50 to 60000",
    };
}
