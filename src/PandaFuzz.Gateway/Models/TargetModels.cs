namespace PandaFuzz.Gateway;

/// <summary>An uploaded target.</summary>
public sealed record TargetResponse(string Id, string Name, long Size);
