using System.Data.Common;
using System.Text;
using System.Text.RegularExpressions;

namespace PandaFuzz.Master.Persistence;

public sealed record BlobCollection(int Referenced, int Kept, int Young, int Deleted, long BytesFreed, bool DryRun);

/// <summary>
/// Collects the blobs nothing refers to. A blob is kept when any journal event or snapshot names its sha256, when
/// <c>keep</c> says so (an uploaded target), or when written or reused within the grace period (an upload or job that
/// will name it in its next event). Other folders under the store's root are not touched.
/// </summary>
public static partial class BlobCollector
{
    /// <summary>Every sha256 the journal's events and snapshots hold: more than the blob ids, never fewer.</summary>
    public static HashSet<string> Referenced(MasterStorage storage)
    {
        using var connection = storage.OpenJournalForReading();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sql in new[] { "SELECT message FROM journal", "SELECT snapshot FROM snapshot" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (!reader.IsDBNull(0) && reader.GetValue(0) is byte[] payload)
                {
                    foreach (Match id in Sha256().Matches(Encoding.UTF8.GetString(payload)))
                    {
                        ids.Add(id.Value);
                    }
                }
            }
        }

        return ids;
    }

    public static BlobCollection Sweep(string blobRoot, IReadOnlySet<string> referenced, Func<string, bool> keep, TimeSpan grace, DateTimeOffset now, bool dryRun)
    {
        int kept = 0, young = 0, deleted = 0;
        long freed = 0;
        foreach (var folder in Directory.EnumerateDirectories(blobRoot).Where(d => Prefix().IsMatch(Path.GetFileName(d))))
        {
            foreach (var file in Directory.EnumerateFiles(folder))
            {
                var name = Path.GetFileName(file);
                if (!Sha256().IsMatch(name) || name.Length != 64 || !name.StartsWith(Path.GetFileName(folder), StringComparison.Ordinal))
                {
                    continue;
                }

                if (referenced.Contains(name) || keep(name))
                {
                    kept++;
                    continue;
                }

                // Checked right before the delete: a commit of the same bytes makes the blob young again (ContentAddressedStore).
                var info = new FileInfo(file);
                if (now - new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero) < grace)
                {
                    young++;
                    continue;
                }

                if (!dryRun)
                {
                    File.Delete(file);
                }

                deleted++;
                freed += info.Length;
            }
        }

        return new BlobCollection(referenced.Count, kept, young, deleted, freed, dryRun);
    }

    [GeneratedRegex("[0-9a-f]{64}")]
    private static partial Regex Sha256();

    [GeneratedRegex("^[0-9a-f]{2}$")]
    private static partial Regex Prefix();
}
