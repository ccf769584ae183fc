namespace PandaFuzz.Domain.Engines.LibFuzzer;

/// <summary>The event word of a libFuzzer status line (<c>#N\tNEW cov: ...</c>).</summary>
public enum LibFuzzerStatusKind
{
    /// <summary><c>INITED</c>: the seed corpus has been run.</summary>
    Inited,

    New,

    Reduce,

    /// <summary><c>pulse</c>: a heartbeat at every power-of-two execution count.</summary>
    Pulse,

    /// <summary><c>DONE</c>: the run ended normally (-runs or -max_total_time reached).</summary>
    Done,

    /// <summary><c>RELOAD</c>: inputs other processes put in the corpus directory were picked up.</summary>
    Reload,

    /// <summary><c>READ</c>: corpus units read (older libFuzzer versions).</summary>
    ReadUnits,

    /// <summary>A <c>-fork</c> run's line after each child process ended, counting the executions of all of them.</summary>
    Fork,
}

/// <summary>One parsed libFuzzer status line; a field is null when the line does not carry it.</summary>
/// <param name="CorpusBytes">libFuzzer prints Kb/Mb rounded down, so those sizes are exact only to the unit.</param>
/// <param name="Failures">A fork line's child processes that ended in an OOM, a timeout and a crash, in all.</param>
public sealed record LibFuzzerStatusLine(
    LibFuzzerStatusKind Kind,
    long Execs,
    long? Coverage,
    long? Features,
    long? CorpusUnits,
    long? CorpusBytes,
    long? ExecsPerSecond,
    long? RssMb,
    long? Units,
    (long Ooms, long Timeouts, long Crashes)? Failures = null);
