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
/// The artifacts of one job, from their discovery until the outbox keeps their report: only then is the file deleted, so a
/// bot killed in between leaves it for the next start to salvage, and a restarted engine's rescan does not count it twice.
/// Paths whose report was kept are remembered, since libFuzzer names an artifact by its input's hash and a run that finds
/// an input again writes the same path. Pure bookkeeping: the runner does the file work.
/// </summary>
public sealed class ArtifactLedger
{
    private readonly HashSet<string> _pending = [];
    private readonly HashSet<string> _kept = [];
    private readonly Dictionary<string, string> _byReportKey = [];

    /// <summary>
    /// An artifact the engine announced or a scan saw. <paramref name="onDisk"/>: it is there now; <paramref name="writtenDuringThisRun"/>:
    /// written since the current engine run started. <c>FindingOfThisRun</c>: the current run found something (a run that
    /// finds an input again while its first report is on its way found it too; a file an earlier run left did not).
    /// </summary>
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

    /// <summary>The artifact's report went to the outbox under <paramref name="reportKey"/>.</summary>
    public void Reported(string reportKey, string path) => _byReportKey[reportKey] = path;

    /// <summary>The outbox keeps the report of <paramref name="reportKey"/>: the artifact whose file may go now, if it was one.</summary>
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
