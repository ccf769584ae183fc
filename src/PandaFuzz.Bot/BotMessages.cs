using PandaFuzz.Protocol;

namespace PandaFuzz.Bot;

// The messages the bot's actors send one another (the agent, job runners, fuzzer processes, the salvage), in one place
// rather than in the file of whichever actor happens to send them. Messages to and from the master are in the protocol project.

/// <summary>Asks the fuzzer to stop: SIGTERM to its group, SIGKILL after <paramref name="Grace"/>.</summary>
public sealed record StopFuzzer(TimeSpan Grace);

/// <summary>A finding the fuzzer wrote: the file, its kind and the report printed with it.</summary>
public sealed record ArtifactFound(string Path, string Kind, string Report, DateTimeOffset At);

/// <summary>
/// The fuzzer process ended, with its exit code and the last lines it printed; <paramref name="Stalled"/> when the watchdog killed it,
/// <paramref name="SandboxKill"/> when the sandbox did (its memory cgroup, an rlimit), and how.
/// </summary>
public sealed record FuzzerExited(int ExitCode, string Tail, bool Stalled = false, string? SandboxKill = null);

/// <summary>
/// Tells the agent that a job no longer runs a process, so its slot is free (its reports may still be on their way to the
/// outbox).
/// </summary>
public sealed record FuzzingEnded(JobId JobId);

/// <summary>The salvage is over: findings reported, dirs removed, dirs left for a human or the next start.</summary>
public sealed record SalvageFinished(int Reported, int Removed, int LeftAlone);
