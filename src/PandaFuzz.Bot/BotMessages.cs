using PandaFuzz.Protocol;

namespace PandaFuzz.Bot;

/// <summary>Asks the fuzzer to stop: SIGTERM to its group, SIGKILL after <paramref name="Grace"/>.</summary>
public sealed record StopFuzzer(TimeSpan Grace);

/// <summary>A finding the fuzzer wrote: the file, its kind and the report printed with it.</summary>
public sealed record ArtifactFound(string Path, string Kind, string Report, DateTimeOffset At);

/// <summary>The fuzzer process ended; <paramref name="Stalled"/>: the watchdog killed it; <paramref name="SandboxKill"/>: how the sandbox did.</summary>
public sealed record FuzzerExited(int ExitCode, string Tail, bool Stalled = false, string? SandboxKill = null);

/// <summary>A job no longer runs a process, so its slot is free; its reports may still be on their way to the outbox.</summary>
public sealed record FuzzingEnded(JobId JobId);

/// <summary>The salvage is over: findings reported, dirs removed, dirs left for a human or the next start.</summary>
public sealed record SalvageFinished(int Reported, int Removed, int LeftAlone);
