using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Persistence;
using Akka.Serialization;
using Microsoft.Data.Sqlite;
using PandaFuzz.Domain.Bots;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Domain.Corpus;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Protocol;

namespace PandaFuzz.Benchmarks;

/// <summary>What one campaign of the generated journal must recover to.</summary>
public sealed record ExpectedCampaign(string Id, bool Busy, long Reports, int UniqueCrashes, string Status, IReadOnlyDictionary<string, string> Jobs);

/// <summary>The generated journal: where it is, what it holds, and what each campaign must recover to.</summary>
public sealed record GeneratedJournal(
    string DataDir,
    long Events,
    IReadOnlyDictionary<string, long> EventsByManifest,
    int Campaigns,
    int BusyCampaigns,
    int Jobs,
    int Bots,
    int Corpora,
    int Snapshots,
    long DatabaseBytes,
    double GenerateSeconds,
    IReadOnlyList<ExpectedCampaign> Expected);

/// <summary>
/// Writes a master's journal of about N events, as a long-running busy master would have written it: thousands of
/// campaigns with their jobs (JobCreated/Assigned/Started/Completed), crash reports (the bulk of a busy campaign's
/// events), crash minimization jobs, corpus entries and bot registrations. Every event comes from the domain's own
/// decisions (<see cref="CampaignState"/>, <see cref="CorpusState"/>, <see cref="BotState"/>) and is serialized by
/// the real <see cref="ProtocolSerializer"/>; the rows go straight into the tables Akka.Persistence.Sql created
/// (the journal table as an untagged write leaves it: ordering, created as UTC ticks, serializer id and string
/// manifest, one writer uuid per master incarnation), which is ~50 times faster than persisting them one actor write at a time.
/// Snapshots are saved through the real SQL snapshot store at the entities' cadence (master.conf snapshot-every and
/// campaign-snapshot-every; only the latest is kept, as the entities delete the older ones).
/// </summary>
public static class RecoveryJournal
{
    /// <summary>Share of campaigns that are still running (their fuzzing jobs running on a bot) when the master stops.</summary>
    private const int RunningEvery = 50;

    private const int CrashSamples = 5;

    private static readonly string[] Kinds =
        ["Heap-buffer-overflow READ 4", "Heap-buffer-overflow WRITE 1", "Use-after-free READ 8", "Null-dereference READ", "Stack-buffer-overflow READ 2"];

    private static readonly string Output = string.Join('\n', Enumerable.Range(0, 40).Select(i =>
        $"    #{i} 0x{0x4f1a2b + (i * 0x40):x} in frame_{i} /src/parser/parser.c:{40 + i}:7 shadow bytes around the buggy address fa fa fd fd"));

    public static async Task<GeneratedJournal> GenerateAsync(string dataDir, long targetEvents, int snapshotEvery, int campaignSnapshotEvery,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(dataDir);
        var database = Path.Combine(dataDir, SqliteJournal.FileName);
        SqliteJournal.EnableWriteAheadLog(database);
        var system = ActorSystem.Create("recovery-journal", ActorSystemSetup.Create(
            BootstrapSetup.Create().WithConfig(JournalBenchmark.Config(database)), SqliteJournal.Setup(database)));
        try
        {
            // The plugins create their tables (auto-initialize) as they start.
            var persistence = Akka.Persistence.Persistence.Instance.Apply(system);
            persistence.JournalFor(null);
            var snapshotStore = persistence.SnapshotStoreFor(null);
            await WaitForTablesAsync(database, cancellationToken);

            var serialization = system.Serialization;
            var writer = new Writer(database, serialization);
            var world = new World(targetEvents, snapshotEvery, campaignSnapshotEvery, writer);
            world.Run(cancellationToken);
            writer.Finish();

            foreach (var (persistenceId, (sequenceNr, at, state)) in world.Snapshots)
            {
                var reply = await snapshotStore.Ask<object>(new SaveSnapshot(new SnapshotMetadata(persistenceId, sequenceNr, at.UtcDateTime), state),
                    TimeSpan.FromSeconds(60), cancellationToken);
                if (reply is not SaveSnapshotSuccess)
                {
                    throw new InvalidOperationException($"The snapshot of {persistenceId} at {sequenceNr} was not saved: {reply}");
                }
            }

            return new GeneratedJournal(dataDir, writer.Events, writer.ByManifest, world.Expected.Count, world.Expected.Count(c => c.Busy), world.JobCount,
                world.BotCount, world.Expected.Count, world.Snapshots.Count, 0, clock.Elapsed.TotalSeconds, world.Expected);
        }
        finally
        {
            await system.Terminate();
            SqliteConnection.ClearAllPools();
        }
    }

    private static async Task WaitForTablesAsync(string database, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('journal', 'tags', 'snapshot')";
                if ((long)command.ExecuteScalar()! == 3)
                {
                    return;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Akka.Persistence.Sql did not create its tables within 30 s.");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>Inserts journal rows exactly as Akka.Persistence.Sql's SQLite journal writes untagged events (TagTable mode, no tag rows).</summary>
    private sealed class Writer
    {
        private const int RowsPerTransaction = 20_000;

        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _journal;
        private readonly Serialization _serialization;
        private readonly Dictionary<string, long> _sequenceNrs = [];
        private SqliteTransaction _transaction;
        private int _inTransaction;

        public Writer(string database, Serialization serialization)
        {
            _serialization = serialization;
            _connection = new SqliteConnection($"Data Source={database};Pooling=False");
            _connection.Open();
            // Only while generating: the file's contents are the same, they are just not fsynced row by row.
            using (var pragma = _connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA synchronous=OFF;";
                pragma.ExecuteNonQuery();
            }

            _transaction = _connection.BeginTransaction();
            _journal = _connection.CreateCommand();
            _journal.CommandText =
                "INSERT INTO journal (ordering, created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) " +
                "VALUES ($ordering, $created, 0, $pid, $seq, $message, $manifest, $identifier, $writer)";
            foreach (var name in new[] { "$ordering", "$created", "$pid", "$seq", "$message", "$manifest", "$identifier", "$writer" })
            {
                _journal.Parameters.Add(new SqliteParameter { ParameterName = name });
            }
        }

        public long Events { get; private set; }

        public Dictionary<string, long> ByManifest { get; } = [];

        public string WriterUuid { get; set; } = Guid.NewGuid().ToString("N");

        /// <summary>Appends one event of <paramref name="persistenceId"/>; returns its sequence number.</summary>
        public long Append(string persistenceId, IPersistedEvent e, DateTimeOffset at)
        {
            var sequenceNr = _sequenceNrs.GetValueOrDefault(persistenceId) + 1;
            _sequenceNrs[persistenceId] = sequenceNr;
            var serializer = (SerializerWithStringManifest)_serialization.FindSerializerFor(e);
            var manifest = serializer.Manifest(e);
            var ordering = ++Events;
            ByManifest[manifest] = ByManifest.GetValueOrDefault(manifest) + 1;
            _journal.Transaction = _transaction;
            _journal.Parameters[0].Value = ordering;
            _journal.Parameters[1].Value = at.UtcTicks;
            _journal.Parameters[2].Value = persistenceId;
            _journal.Parameters[3].Value = sequenceNr;
            _journal.Parameters[4].Value = serializer.ToBinary(e);
            _journal.Parameters[5].Value = manifest;
            _journal.Parameters[6].Value = serializer.Identifier;
            _journal.Parameters[7].Value = WriterUuid;
            _journal.ExecuteNonQuery();
            if (++_inTransaction >= RowsPerTransaction)
            {
                _transaction.Commit();
                _transaction.Dispose();
                _transaction = _connection.BeginTransaction();
                _inTransaction = 0;
            }

            return sequenceNr;
        }

        public void Finish()
        {
            _transaction.Commit();
            _transaction.Dispose();
            using (var checkpoint = _connection.CreateCommand())
            {
                checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
                checkpoint.ExecuteNonQuery();
            }

            _journal.Dispose();
            _connection.Dispose();
        }
    }

    /// <summary>The simulated history: campaigns in waves, their entities' events interleaved, bots coming and going.</summary>
    private sealed class World(long targetEvents, int snapshotEvery, int campaignSnapshotEvery, Writer writer)
    {
        /// <summary>Campaigns whose events interleave in the journal (they run at the same time).</summary>
        private const int Wave = 50;

        private readonly Random _random = new(20261127);
        private readonly List<(BotId Id, string AgentPath, BotState State)> _bots = [];
        private DateTimeOffset _now = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

        public List<ExpectedCampaign> Expected { get; } = [];

        /// <summary>The latest snapshot of each entity that reached its cadence, by persistence id.</summary>
        public Dictionary<string, (long SequenceNr, DateTimeOffset At, object State)> Snapshots { get; } = [];

        public int JobCount { get; private set; }

        public int BotCount => _bots.Count;

        public void Run(CancellationToken cancellationToken)
        {
            var campaigns = (int)Math.Max(20, targetEvents / 500);
            var busy = Math.Max(2, campaigns / 50);
            var busyAverage = targetEvents * 0.62 / busy;
            var quietAverage = Math.Max(20, ((targetEvents * 0.38) - (campaigns * 45.0)) / (campaigns - busy));
            // Busy campaigns are spread over the waves rather than all at the start.
            var busyIndexes = Enumerable.Range(0, busy).Select(i => (int)((long)i * campaigns / busy) + (campaigns / busy / 2)).ToHashSet();
            var bots = Math.Max(10, campaigns / 50);
            for (var b = 0; b < bots; b++)
            {
                var id = new BotId($"bot-{Hex(5)}");
                // Loopback addresses on port 1, where nothing listens: a restarted master tells these long-gone bots to
                // stop their jobs, and those attempts must stay on this machine and fail at once.
                var agent = $"akka.tcp://pandafuzz@127.1.{b / 250}.{(b % 250) + 1}:1/user/bot-agent";
                var registered = Register(id, agent);
                _bots.Add((id, agent, BotState.Registered(registered)));
            }

            for (var first = 0; first < campaigns; first += Wave)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var streams = new List<Queue<Action>>();
                for (var c = first; c < Math.Min(campaigns, first + Wave); c++)
                {
                    var isBusy = busyIndexes.Contains(c);
                    var reports = isBusy
                        ? (int)(busyAverage * (0.5 + _random.NextDouble()))
                        : Math.Max(0, (int)(quietAverage * (0.25 + (1.5 * _random.NextDouble()))));
                    streams.Add(Campaign(c, isBusy, reports));
                }

                // A master restart between waves: a new journal writer.
                writer.WriterUuid = Guid.NewGuid().ToString("N");
                while (streams.Count > 0)
                {
                    var i = _random.Next(streams.Count);
                    var take = 1 + _random.Next(8);
                    for (var n = 0; n < take && streams[i].Count > 0; n++)
                    {
                        _now += TimeSpan.FromMilliseconds(_random.Next(1, 200));
                        streams[i].Dequeue()();
                    }

                    if (streams[i].Count == 0)
                    {
                        streams.RemoveAt(i);
                    }
                }

                // Some bots restart (a new agent incarnation) or go away for a while between waves.
                for (var n = 0; n < 2; n++)
                {
                    var b = _random.Next(_bots.Count);
                    var bot = _bots[b];
                    var offline = new BotEvents.BotWentOffline(bot.Id, "no check-in for 30 s", _now);
                    var state = Persist(BotPid(bot.Id), offline, bot.State.Apply(offline));
                    var again = new BotEvents.BotRegistered(bot.Id, bot.AgentPath, Address(bot.AgentPath), "fuzz-" + bot.Id.Value, Capabilities, _now);
                    _bots[b] = bot with { State = Persist(BotPid(bot.Id), again, state.Apply(again)) };
                }
            }
        }

        private static readonly PandaFuzz.Protocol.BotCapabilities Capabilities =
            new([new EngineCapability(EngineNames.LibFuzzer, "14.0.6"), new EngineCapability(EngineNames.AflPlusPlus, "4.04c")], 8, 32_768);

        private static string BotPid(BotId id) => "bot-" + id.Value;

        private static string Address(string agentPath) => agentPath[..agentPath.IndexOf("/user", StringComparison.Ordinal)];

        private BotEvents.BotRegistered Register(BotId id, string agent)
        {
            var registered = new BotEvents.BotRegistered(id, agent, Address(agent), "fuzz-" + id.Value, Capabilities, _now);
            writer.Append(BotPid(id), registered, _now);
            return registered;
        }

        /// <summary>Appends the event and records the entity's snapshot when its cadence is reached.</summary>
        private T Persist<T>(string persistenceId, IPersistedEvent e, T stateAfter)
            where T : class
        {
            var sequenceNr = writer.Append(persistenceId, e, _now);
            var every = persistenceId.StartsWith("campaign-", StringComparison.Ordinal) ? campaignSnapshotEvery : snapshotEvery;
            if (sequenceNr % every == 0)
            {
                Snapshots[persistenceId] = (sequenceNr, _now, stateAfter);
            }

            return stateAfter;
        }

        /// <summary>One campaign's whole life as a queue of steps, each appending one event (in the order the entities would).</summary>
        private Queue<Action> Campaign(int index, bool busy, int reports)
        {
            var steps = new Queue<Action>();
            var id = new CampaignId(Hex(6));
            var pid = "campaign-" + id.Value;
            var target = new BlobId(Hex(32));
            var fuzzJobs = busy ? 8 : 1 + _random.Next(4);
            var spec = new CampaignSpec($"parser-{index.ToString(CultureInfo.InvariantCulture)}", target, index % 3 == 0 ? EngineNames.AflPlusPlus : EngineNames.LibFuzzer,
                fuzzJobs, busy ? 86_400 : 3_600, 2048, 1000, null, TargetName: "parser");
            var running = index % RunningEvery == RunningEvery / 2;
            var uniques = busy ? 10 + _random.Next(30) : 1 + _random.Next(8);
            var seed = _random.Next();
            CampaignState state = null!;
            var jobs = new Dictionary<string, string>();
            var jobBots = new Dictionary<JobId, BotId>();
            CorpusState corpus = CorpusState.Empty(id);
            var corpusEvery = Math.Max(5, reports / (busy ? 100 : 10));
            var random = new Random(seed);

            void Campaign(IPersistedEvent e) => state = Persist(pid, e, e is CampaignEvents.CampaignCreated c ? CampaignState.Created(c) : state.Apply(e));

            void Job(JobId job, IPersistedEvent e, string status)
            {
                writer.Append("job-" + job.Value, e, _now);
                jobs[job.Value] = status;
            }

            void StartJob(JobId job, int jobIndex, JobSpec jobSpec)
            {
                JobCount++;
                var bot = _bots[random.Next(_bots.Count)];
                jobBots[job] = bot.Id;
                steps.Enqueue(() => { Job(job, new JobEvents.JobCreated(job, id, jobIndex, jobSpec, _now), "pending"); });
                steps.Enqueue(() => { Job(job, new JobEvents.JobAssigned(job, bot.Id, bot.AgentPath, _now), "assigned"); });
                steps.Enqueue(() => { Job(job, new JobEvents.JobStarted(job, bot.Id, _now), "running"); });
            }

            void EndJob(JobId job)
            {
                steps.Enqueue(() =>
                {
                    var stats = new FuzzerStats(random.Next(1_000_000, 900_000_000), random.Next(500, 20_000), random.Next(100, 5_000), random.Next(100, 9_000),
                        random.Next(10, 3_000), random.Next(10_000, 4_000_000), random.Next(100, 2_000), _now);
                    Job(job, new JobEvents.JobCompleted(job, stats, _now), "completed");
                });
                steps.Enqueue(() =>
                {
                    foreach (var e in state.JobEnded(job, JobStatus.Completed, _now))
                    {
                        Campaign(e);
                    }
                });
            }

            steps.Enqueue(() => { Campaign(CampaignState.Create(id, spec, _now)); });
            for (var j = 0; j < fuzzJobs; j++)
            {
                StartJob(JobId.For(id, j), j, spec.ToJobSpec(j));
            }

            for (var r = 0; r < reports; r++)
            {
                var report = r;
                steps.Enqueue(() =>
                {
                    var signatureIndex = report < uniques ? report : (int)(uniques * Math.Pow(random.NextDouble(), 2));
                    var job = JobId.For(id, random.Next(fuzzJobs));
                    var finding = Finding(id, signatureIndex, report, seed);
                    var signature = finding.Signature!;
                    var isNew = !state.Crashes.ContainsKey(signature);
                    var sampled = state.WantsSample(signature, CrashSamples, 0);
                    foreach (var e in state.ReportCrash(job, jobBots[job], finding, sampled, _now))
                    {
                        Campaign(e);
                    }

                    if (isNew)
                    {
                        // A new bug: the campaign adds a job that minimizes it; it runs on a bot and reports back.
                        foreach (var e in state.AddCrashMinimization(signature, 120, _now))
                        {
                            Campaign(e);
                            var added = (CampaignEvents.CampaignJobAdded)e;
                            var minimizer = added.JobId;
                            StartJob(minimizer, state.JobIds.IndexOf(minimizer), added.Spec);
                            steps.Enqueue(() =>
                            {
                                var input = new BlobId(Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes($"min {minimizer}"))));
                                Campaign(new CampaignEvents.CrashMinimized(id, signature, new CrashMinimization(minimizer, input, 12, null, _now), _now));
                            });
                            EndJob(minimizer);
                        }
                    }

                    if (report % corpusEvery == 0)
                    {
                        var entries = Enumerable.Range(0, 3 + random.Next(20))
                            .Select(n => new CorpusEntry(new BlobId(Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes($"{id} corpus {report} {n}")))),
                                random.Next(1, 4096), job.Value))
                            .ToList();
                        foreach (var e in corpus.Add(entries, _now))
                        {
                            corpus = Persist("corpus-" + id.Value, e, corpus.Apply(e));
                        }
                    }
                });
            }

            // Enqueued once the reports ran, so that it comes after the minimization jobs they added.
            steps.Enqueue(() =>
            {
                if (!running)
                {
                    for (var j = 0; j < fuzzJobs; j++)
                    {
                        EndJob(JobId.For(id, j));
                    }
                }

                steps.Enqueue(() => Expected.Add(new ExpectedCampaign(id.Value, busy, state.CrashReports, state.Crashes.Count,
                    state.Status.ToString().ToLowerInvariant(), new Dictionary<string, string>(jobs))));
            });
            return steps;
        }

        private CrashFinding Finding(CampaignId campaign, int signature, int report, int seed)
        {
            var kind = Kinds[signature % Kinds.Length];
            var input = new BlobId(Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes($"{campaign} {report}"))));
            return new CrashFinding(
                input,
                64 + (report % 200),
                "crash-" + input.Sha256[..40],
                kind,
                $"AddressSanitizer: {kind} in parse_field_{signature} parser.c:{42 + signature}:7",
                [$"#0 0x4f1a2b in parse_field_{signature} parser.c:{42 + signature}:7", "#1 0x4f1b00 in read_record parser.c:80:3",
                    "#2 0x4f1c00 in LLVMFuzzerTestOneInput parser.c:120:3", "#3 0x4f2000 in fuzzer::Fuzzer::ExecuteCallback FuzzerLoop.cpp:614:13"],
                $"==12==ERROR: AddressSanitizer: {kind} (report {report})\n{Output}",
                _now,
                Signature: Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes($"{seed} {signature}")))[..16],
                State: $"parse_field_{signature}\nread_record\nLLVMFuzzerTestOneInput",
                Security: kind.Contains("WRITE", StringComparison.Ordinal),
                ReproduceAttempts: 3,
                Reproduced: 3);
        }

        private string Hex(int bytes)
        {
            var buffer = new byte[bytes];
            _random.NextBytes(buffer);
            return Convert.ToHexStringLower(buffer);
        }
    }
}
