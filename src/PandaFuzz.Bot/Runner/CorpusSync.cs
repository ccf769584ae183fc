using Akka.Actor;
using Akka.Event;
using PandaFuzz.Bot.Engines;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;
using PandaFuzz.Bot.Sandboxing;

namespace PandaFuzz.Bot.Runner;

/// <summary>Keeps a job's corpus in step with its campaign's, one bounded round at a time so syncing never starves the fuzzer.</summary>
public sealed class CorpusSync(
    AgentCommands.StartJob job,
    IFuzzingEngine engine,
    JobWorkDir dir,
    ContentAddressedStore downloads,
    ContentAddressedStore outbox,
    string outboxPath,
    IActorRef corpora,
    Func<ActorSelection> masterBlobs,
    CorpusSyncLimits limits,
    ILoggingAdapter log)
{
    private readonly HashSet<string> _seenFiles = [];
    private readonly HashSet<BlobId> _known = [];
    private readonly Dictionary<BlobId, CorpusEntry> _unaccepted = [];
    private int _version = 1;
    private int _cursor;
    private int _importSequence;

    private readonly Dictionary<BlobId, CorpusEntry> _pulled = [];

    public int Offered { get; private set; }

    public int Version => _version;

    public IReadOnlyDictionary<BlobId, CorpusEntry> Pulled => _pulled;

    public int Imported { get; private set; }

    public async Task InitialAsync(CancellationToken ct)
    {
        // A job that restarts on this bot already has these files; only newer ones are fetched.
        foreach (var file in Directory.EnumerateFiles(dir.Corpus))
        {
            _seenFiles.Add(Path.GetFullPath(file));
        }

        while (await PullPageAsync(dir.Corpus, int.MaxValue, ct) > 0)
        {
        }
    }

    public async Task RoundAsync(CancellationToken ct)
    {
        await OfferAsync(ct);
        var budget = limits.MaxEntriesPerRound;
        while (budget > 0)
        {
            var pulled = await PullPageAsync(engine.ImportDirectory(dir), budget, ct);
            if (pulled == 0)
            {
                break;
            }

            budget -= pulled;
        }
    }

    private async Task OfferAsync(CancellationToken ct)
    {
        var corpusDir = engine.CorpusDirectory(dir);
        if (Directory.Exists(corpusDir))
        {
            long bytes = 0;
            foreach (var file in Directory.EnumerateFiles(corpusDir))
            {
                if (_unaccepted.Count >= limits.MaxEntriesPerRound || bytes >= limits.MaxBytesPerRound)
                {
                    break;
                }

                var path = Path.GetFullPath(file);
                if (!engine.IsCorpusEntry(path) || !_seenFiles.Add(path))
                {
                    continue;
                }

                // The engine's corpus dir is the target's to write: only a regular file of its own is an input.
                using var entry = UntrustedFiles.Open(dir.Root, path, limits.MaxEntryBytes, out var refusal);
                if (entry is null)
                {
                    if (!UntrustedFiles.IsOrdinary(refusal))
                    {
                        log.Warning("Job {JobId}: {Path} is not offered to the campaign's corpus: {Refusal}", job.JobId, path, refusal);
                    }

                    continue;
                }

                if (entry.Length == 0)
                {
                    continue;
                }

                var (input, stored) = await outbox.PutAsync(entry.Stream, limits.MaxEntryBytes, ct);
                if (_known.Add(input))
                {
                    _unaccepted[input] = new CorpusEntry(input, stored, job.JobId.Value);
                    bytes += stored;
                }
            }
        }

        if (_unaccepted.Count == 0)
        {
            return;
        }

        var reply = await corpora.Ask<object>(
            new CorpusCommands.OfferCorpus(job.CampaignId, job.JobId, [.. _unaccepted.Values], outboxPath), limits.AskTimeout, ct);
        if (reply is CorpusCommands.CorpusOfferAccepted accepted)
        {
            foreach (var input in accepted.Stored)
            {
                if (_unaccepted.Remove(input))
                {
                    Offered++;
                    outbox.Delete(input);
                }
            }
        }
    }

    private async Task<int> PullPageAsync(string into, int max, CancellationToken ct)
    {
        var reply = await corpora.Ask<object>(
            new CorpusQueries.GetCorpusPage(job.CampaignId, _version, _cursor, Math.Min(max, limits.MaxEntriesPerRound)), limits.AskTimeout, ct);
        if (reply is not CorpusQueries.CorpusPage page)
        {
            return 0;
        }

        if (page.Version != _version)
        {
            // A new (minimized) version: start over; known inputs are skipped by hash.
            _version = page.Version;
        }

        _cursor = page.From + page.Entries.Count;
        // The engine's folders are writable by a sandboxed target: a link planted on the way is not followed.
        WorkDirFiles.EnsureDirectory(dir.Root, into);
        var fresh = new List<CorpusEntry>();
        foreach (var entry in page.Entries)
        {
            _pulled[entry.Input] = entry;
            if (!_known.Contains(entry.Input))
            {
                fresh.Add(entry);
            }
        }

        // The page's new inputs in a few asks and one flush to disk: an fsync per input costs the fuzzers on this bot.
        await BlobFetcher.FetchManyAsync(masterBlobs(), [.. fresh.Select(e => e.Input)], downloads, limits.AskTimeout, ct);
        foreach (var entry in fresh)
        {
            if (!_known.Add(entry.Input))
            {
                continue;
            }

            var target = Path.Combine(into, engine.ImportFileName(entry.Input, _importSequence++));
            // The engine must never see half a file: it is copied beside the job dir, then moved in whole.
            var temp = Path.Combine(dir.Root, "import.tmp");
            WorkDirFiles.CopyIn(downloads.PathOf(entry.Input), temp);
            // A rename replaces whatever is at the target (a planted link too) and never follows it.
            File.Move(temp, target, overwrite: true);
            _seenFiles.Add(Path.GetFullPath(target));
            Imported++;
        }

        return page.Entries.Count;
    }
}

/// <summary>How much one sync round may move.</summary>
public sealed record CorpusSyncLimits(int MaxEntriesPerRound, long MaxBytesPerRound, long MaxEntryBytes, TimeSpan AskTimeout);
