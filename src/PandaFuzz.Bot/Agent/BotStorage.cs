using PandaFuzz.Bot.Engines;
using PandaFuzz.Bot.Processes;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Agent;

/// <summary>
/// A bot's own disk: its id, a cache of targets, the outbox of findings not yet stored by the master (their inputs as
/// blobs, the messages that report them as files), and job work dirs.
/// </summary>
public sealed class BotStorage
{
    private readonly string _jobsRoot;

    public BotStorage(string dataDir)
    {
        var root = Path.Combine(Path.GetFullPath(dataDir), "bot");
        _jobsRoot = Path.Combine(root, "jobs");
        Directory.CreateDirectory(_jobsRoot);
        Targets = new ContentAddressedStore(Path.Combine(root, "targets"));
        Outbox = new ContentAddressedStore(Path.Combine(root, "outbox"));
        OutboxMessages = Path.Combine(root, "outbox-messages");
        Identity = BotIdentity.LoadOrCreate(Path.Combine(root, "bot-id"));
    }

    public ContentAddressedStore Targets { get; }

    public ContentAddressedStore Outbox { get; }

    /// <summary>The folder of the messages for the master that wait for its acknowledgement (see <c>OutboxActor</c>).</summary>
    public string OutboxMessages { get; }

    public BotIdentity Identity { get; }

    /// <summary>The work dir of a job; the id is validated, so it never escapes the jobs folder.</summary>
    public JobWorkDir WorkDirOf(JobId job)
    {
        if (!JobId.TryParse(job.Value, out _))
        {
            throw new ArgumentException($"not a job id: {job.Value}", nameof(job));
        }

        return new JobWorkDir(Path.Combine(_jobsRoot, job.Value));
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
        return groups + ProcessGroups.KillProcessesMentioning(_jobsRoot + Path.DirectorySeparatorChar);
    }
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
