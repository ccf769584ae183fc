namespace PandaFuzz.Bot.Engines;

/// <summary>LLVM's coverage tools, found on the bot's PATH: without them a bot fails its coverage jobs, saying why.</summary>
public sealed record CoverageTools(string Profdata, string Cov)
{
    public const string ProfdataName = "llvm-profdata";
    public const string CovName = "llvm-cov";

    /// <summary>Null with the reason when either is missing.</summary>
    public static CoverageTools? Find(out string? missing)
    {
        var profdata = ToolProbe.Find(ProfdataName);
        var cov = ToolProbe.Find(CovName);
        if (profdata is not null && cov is not null)
        {
            missing = null;
            return new CoverageTools(profdata, cov);
        }

        var absent = string.Join(" and ", new[] { profdata is null ? ProfdataName : null, cov is null ? CovName : null }.OfType<string>());
        missing = $"this bot cannot measure coverage: {absent} not found on its PATH (install LLVM's tools, the Debian package llvm)";
        return null;
    }
}
