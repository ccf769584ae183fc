namespace PandaFuzz.Bot.Runner;

/// <summary>What a job makes of an engine's artifact it is told of.</summary>
public enum ArtifactSighting
{
    /// <summary>A finding to triage and report.</summary>
    New,

    /// <summary>Found before and still on its way to the outbox: nothing more to do.</summary>
    Pending,

    /// <summary>Its report is kept already and the file went with it: the engine wrote the same input again.</summary>
    AlreadyKept,
}

/// <summary>
/// One job's artifacts until the outbox keeps their report (only then does the file go, so a killed bot leaves it to
/// salvage). Kept paths are remembered: libFuzzer names an artifact by its input's hash, so a rerun writes the same path.
/// </summary>
public sealed class ArtifactLedger
{
    private readonly HashSet<string> _pending = [];
    private readonly HashSet<string> _kept = [];
    private readonly Dictionary<string, string> _byReportKey = [];

    /// <summary>A run that finds an input again while its first report is on its way found it too; a file an earlier run left was not.</summary>
    public (ArtifactSighting Sighting, bool FindingOfThisRun) Sight(string path, bool onDisk, bool writtenDuringThisRun)
    {
        var known = _pending.Contains(path) || _kept.Contains(path);
        var ofThisRun = !known || onDisk && writtenDuringThisRun;
        if (!onDisk && _kept.Contains(path))
        {
            return (ArtifactSighting.AlreadyKept, ofThisRun);
        }

        return (_pending.Add(path) ? ArtifactSighting.New : ArtifactSighting.Pending, ofThisRun);
    }

    public void Reported(string reportKey, string path) => _byReportKey[reportKey] = path;

    /// <summary>The artifact whose file may go now, if the report was one.</summary>
    public string? Kept(string reportKey)
    {
        if (!_byReportKey.Remove(reportKey, out var path))
        {
            return null;
        }

        _pending.Remove(path);
        _kept.Add(path);
        return path;
    }
}
