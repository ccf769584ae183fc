using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Agent;

/// <summary>A bot's own disk: its id, target cache, outbox, job work dirs and the job dirs of an earlier run being salvaged.</summary>
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
        // The target cache and the outbox are the node's: a target is fetched once per node, not once per simulated bot.
        Targets = node?.Targets ?? new ContentAddressedStore(Path.Combine(root, "targets"));
        Outbox = node?.Outbox ?? new ContentAddressedStore(Path.Combine(root, "outbox"));
        OutboxMessages = node?.OutboxMessages ?? Path.Combine(root, "outbox-messages");
        Identity = BotIdentity.LoadOrCreate(Path.Combine(root, "bot-id"));
    }

    /// <summary>Bot 0 is the node's own storage, so a single bot stays where it always was.</summary>
    public BotStorage ForSimulatedBot(int index) =>
        index == 0 ? this : new BotStorage(Path.Combine(_root, "simulated", index.ToString(System.Globalization.CultureInfo.InvariantCulture)), this);

    public ContentAddressedStore Targets { get; }

    public ContentAddressedStore Outbox { get; }

    public string OutboxMessages { get; }

    public BotIdentity Identity { get; }

    public string JobsRoot => _jobsRoot;

    public JobWorkDir WorkDirOf(JobId job)
    {
        if (!JobId.TryParse(job.Value, out _))
        {
            throw new ArgumentException($"not a job id: {job.Value}", nameof(job));
        }

        return new JobWorkDir(Path.Combine(_jobsRoot, job.Value));
    }

    public IReadOnlyList<JobWorkDir> JobDirs() => Dirs(_jobsRoot);

    public IReadOnlyList<JobWorkDir> SalvageDirs() => Dirs(_salvageRoot);

    /// <summary>One rename frees the work dir for a new run; the unique name never collides with an older copy still waiting.</summary>
    public JobWorkDir MoveToSalvage(JobWorkDir dir)
    {
        var target = Path.Combine(_salvageRoot, $"{Path.GetFileName(dir.Root)}.{DateTimeOffset.UtcNow:yyyyMMddHHmmssfff}.{Guid.NewGuid().ToString("N")[..6]}");
        Directory.Move(dir.Root, target);
        return new JobWorkDir(target);
    }

    /// <summary>Kills what a killed predecessor left running, also by path: AFL++'s forkserver child leaves the fuzzer's group.</summary>
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
