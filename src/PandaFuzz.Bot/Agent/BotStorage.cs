using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Agent;

/// <summary>
/// A bot's own disk: its id, a cache of targets, the outbox of findings not yet stored by the master (their inputs as
/// blobs, the messages that report them as files), job work dirs, and the job dirs of an earlier run being salvaged.
/// </summary>
public sealed class BotStorage
{
    private readonly string _jobsRoot;
    private readonly string _salvageRoot;

    private readonly string _root;

    public BotStorage(string dataDir)
        : this(Path.Combine(Path.GetFullPath(dataDir), "bot"), null)
    {
    }

    private BotStorage(string root, BotStorage? node)
    {
        _root = root;
        _jobsRoot = Path.Combine(root, "jobs");
        _salvageRoot = Path.Combine(root, "salvage");
        Directory.CreateDirectory(_jobsRoot);
        Directory.CreateDirectory(_salvageRoot);
        // The target cache and the outbox are the node's: one per process, whichever of its bots fetched or reported (a
        // target is fetched once per node, not once per simulated bot).
        Targets = node?.Targets ?? new ContentAddressedStore(Path.Combine(root, "targets"));
        Outbox = node?.Outbox ?? new ContentAddressedStore(Path.Combine(root, "outbox"));
        OutboxMessages = node?.OutboxMessages ?? Path.Combine(root, "outbox-messages");
        Identity = BotIdentity.LoadOrCreate(Path.Combine(root, "bot-id"));
    }

    /// <summary>
    /// The storage of the <paramref name="index"/>-th of several simulated bots in this node: its own id and job dirs under
    /// <c>bot/simulated/N</c>, the node's target cache and outbox. Bot 0 is the node's own storage, so one bot stays where it always was.
    /// </summary>
    public BotStorage ForSimulatedBot(int index) =>
        index == 0 ? this : new BotStorage(Path.Combine(_root, "simulated", index.ToString(System.Globalization.CultureInfo.InvariantCulture)), this);

    public ContentAddressedStore Targets { get; }

    public ContentAddressedStore Outbox { get; }

    /// <summary>The folder of the messages for the master that wait for its acknowledgement (see <c>OutboxActor</c>).</summary>
    public string OutboxMessages { get; }

    public BotIdentity Identity { get; }

    /// <summary>The work dir of a job; the id is validated, so it never escapes the jobs folder.</summary>
    /// <summary>The folder the job work dirs are in.</summary>
    public string JobsRoot => _jobsRoot;

    public JobWorkDir WorkDirOf(JobId job)
    {
        if (!JobId.TryParse(job.Value, out _))
        {
            throw new ArgumentException($"not a job id: {job.Value}", nameof(job));
        }

        return new JobWorkDir(Path.Combine(_jobsRoot, job.Value));
    }

    /// <summary>The job work dirs on disk, in name order.</summary>
    public IReadOnlyList<JobWorkDir> JobDirs() => Dirs(_jobsRoot);

    /// <summary>The dirs handed over to salvage by <see cref="MoveToSalvage"/>, in name order.</summary>
    public IReadOnlyList<JobWorkDir> SalvageDirs() => Dirs(_salvageRoot);

    /// <summary>
    /// Moves a job dir left by an earlier run into the salvage folder: one rename on the same disk, after which the job id's
    /// work dir is free for a new run of the job while the old one's findings are salvaged. The new name is unique, so a
    /// job dir left again while an older copy still waits for salvage does not collide with it.
    /// </summary>
    public JobWorkDir MoveToSalvage(JobWorkDir dir)
    {
        var target = Path.Combine(_salvageRoot, $"{Path.GetFileName(dir.Root)}.{DateTimeOffset.UtcNow:yyyyMMddHHmmssfff}.{Guid.NewGuid().ToString("N")[..6]}");
        Directory.Move(dir.Root, target);
        return new JobWorkDir(target);
    }

    /// <summary>
    /// Kills what a killed predecessor of this bot left running: the recorded fuzzer groups, and any process
    /// still running a program from a job dir (AFL++'s forkserver child leaves the fuzzer's group).
    /// </summary>
    public int KillLeftovers()
    {
        var groups = Directory.EnumerateDirectories(_jobsRoot)
            .Select(dir => new JobWorkDir(dir))
            .Count(dir => ProcessGroups.KillLeftover(dir.PidFile, dir.Root));
        // Reproductions of a salvage in progress run from the salvage folder.
        return groups
            + ProcessGroups.KillProcessesMentioning(_jobsRoot + Path.DirectorySeparatorChar)
            + ProcessGroups.KillProcessesMentioning(_salvageRoot + Path.DirectorySeparatorChar);
    }

    private static IReadOnlyList<JobWorkDir> Dirs(string root) =>
        [.. Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal).Select(dir => new JobWorkDir(dir))];
}

/// <summary>A bot's id, chosen once and kept in its data dir so a restarted bot is the same bot.</summary>
public sealed record BotIdentity(BotId Id)
{
    public static BotIdentity LoadOrCreate(string file)
    {
        if (File.Exists(file))
        {
            var text = File.ReadAllText(file).Trim();
            return BotId.TryParse(text, out var id)
                ? new BotIdentity(id)
                : throw new InvalidDataException($"{file} does not hold a bot id ('{text}')");
        }

        var created = BotId.New();
        var temp = file + ".tmp";
        File.WriteAllText(temp, created.Value);
        File.Move(temp, file, overwrite: true);
        return new BotIdentity(created);
    }
}
