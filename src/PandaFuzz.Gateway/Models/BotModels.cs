using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;

namespace PandaFuzz.Gateway;

/// <summary>A bot as the API shows it.</summary>
public sealed record BotResponse(
    string Id,
    string Address,
    string Hostname,
    BotStatus State,
    CapabilitiesResponse Capabilities,
    IReadOnlyList<string> CurrentJobs,
    DateTimeOffset RegisteredAt,
    DateTimeOffset? LastSeenAt,
    string? OfflineReason,
    DateTimeOffset? OfflineSince,
    bool Draining,
    SandboxResponse? Sandbox = null)
{
    public static BotResponse From(BotQueries.BotView v) =>
        new(v.Id.Value, v.Address, v.Hostname, v.Status,
            new CapabilitiesResponse([.. v.Capabilities.Engines.Select(e => new EngineResponse(e.Name, e.Version))], v.Capabilities.Slots, v.Capabilities.MemoryMb),
            [.. v.CurrentJobs.Select(j => j.Value)], v.RegisteredAt, v.LastSeenAt, v.OfflineReason, v.OfflineSince, v.Draining,
            SandboxResponse.From(v.Capabilities.Sandbox));

    /// <summary><c>lastSeenAt</c> is the last journaled check-in: routine check-ins are not journaled, so the read model cannot know them.</summary>
    public static BotResponse From(BotRow r) =>
        new(r.Id.Value, r.Address, r.Hostname, r.Status,
            new CapabilitiesResponse([.. r.Engines.Select(e => new EngineResponse(e.Name, e.Version))], r.Slots, r.MemoryMb),
            [.. r.CurrentJobs.Select(j => j.Value)], r.RegisteredAt, r.CheckedInAt, r.OfflineReason, r.OfflineSince, r.Draining);
}

public sealed record CapabilitiesResponse(IReadOnlyList<EngineResponse> Engines, int Slots, long MemoryMb);

/// <summary>
/// What the bot's sandbox enforces, as probed at start: one entry per measure. Null for a bot that reported none (an
/// older bot, or one known only from the read model). <c>refusesJobs</c>: why the bot takes no job (it cannot isolate
/// and has no opt-out), else null.
/// </summary>
public sealed record SandboxResponse(bool Enabled, IReadOnlyList<SandboxMeasureResponse> Measures, bool Isolated = false, bool AllowUnisolated = false, string? RefusesJobs = null)
{
    public static SandboxResponse? From(SandboxReport? report) =>
        report is null
            ? null
            : new(report.Enabled, [.. report.Measures.Select(m => new SandboxMeasureResponse(m.Name, m.Mode, m.Enforced, m.Detail))],
                report.Isolated, report.AllowUnisolated, report.RefusesJobs);
}

public sealed record SandboxMeasureResponse(string Name, string Mode, bool Enforced, string Detail);

public sealed record EngineResponse(string Name, string Version);
