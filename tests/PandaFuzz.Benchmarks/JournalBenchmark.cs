using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql;
using Microsoft.Data.Sqlite;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Master.Persistence;
using PandaFuzz.Protocol;

namespace PandaFuzz.Benchmarks;

/// <summary>One set of per-connection pragmas under test, and journal settings over the shipped ones (HOCON, or empty).</summary>
public sealed record JournalVariant(string Name, SqlitePragmas Pragmas, string Hocon = "", bool SynchronousWrites = false);

/// <summary>One burst on one variant: <paramref name="Events"/> persisted in <paramref name="Seconds"/>.</summary>
public sealed record JournalBurst(int Trial, string Variant, int Position, int Events, double Seconds, double EventsPerSecond, long JournalRows);

/// <summary>
/// Journal write throughput (events persisted per second) of the master's SQLite journal under each set of
/// per-connection pragmas, A/B interleaved: every trial runs every variant once, in a rotated order, each on a fresh
/// WAL file with its own actor system composed like the master's journal (shipped persistence.conf, the
/// protocol serializer and tagging adapter, <see cref="SqliteJournal.Setup"/>).
/// </summary>
public sealed class JournalBenchmark(BenchmarkOptions options, Workspace workspace)
{
    /// <summary>Persistent actors written to at once (the master's campaign, job and bot entities).</summary>
    public const int Entities = 100;

    /// <summary>The shipped choice first; the others are what it is compared with.</summary>
    /// <summary>
    /// The shipped choice first; then the same again (an A/A control: how far two identical variants differ is the
    /// run's noise, fsync times vary a lot on virtual disks); then what it is compared with.
    /// </summary>
    public static readonly IReadOnlyList<JournalVariant> Variants =
    [
        new("chosen: FULL, busy_timeout=5s, 1 batch of <= 500 at a time", SqlitePragmas.Journal),
        new("chosen again (A/A control)", SqlitePragmas.Journal),
        new("synchronous=NORMAL", SqlitePragmas.Journal with { Synchronous = SqliteSynchronous.Normal }),
        new("busy_timeout=0 (SQLite's default)", SqlitePragmas.Journal with { BusyTimeout = TimeSpan.Zero }),
        new("writes done synchronously (no yield on open)", SqlitePragmas.Journal, SynchronousWrites: true),
        new("library defaults: 3 batches of <= 100 at a time", SqlitePragmas.Journal, "akka.persistence.journal.sql { parallelism = 3, batch-size = 100 }"),
        new("library defaults, writes done synchronously (before 27 Nov)", SqlitePragmas.Journal,
            "akka.persistence.journal.sql { parallelism = 3, batch-size = 100 }", SynchronousWrites: true),
        new("a batch's events in one INSERT ... RETURNING (inline)", SqlitePragmas.Journal, "akka.persistence.journal.sql.tagtable-asqueryable-insert-mode = inline"),
        new("reads in deferred transactions", SqlitePragmas.Journal, "akka.persistence.journal.sql.read-isolation-level = read-uncommitted"),
    ];

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(60);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var machine = await MachineInfo.CollectAsync(options.NodeBuildDir, cancellationToken);
        var perEntity = Math.Max(1, options.Reports / Entities);
        var events = perEntity * Entities;
        Console.WriteLine($"journal: {options.Rounds} trials x {Variants.Count} variants, each a burst of {events:N0} events " +
                          $"({Entities} persistent actors x {perEntity}, one PersistAll of one event per command, as the entities persist); " +
                          "+ one unmeasured warm-up trial");
        Console.WriteLine($"machine: {machine}");
        Console.WriteLine($"work dir: {workspace.Root}");

        var bursts = new List<JournalBurst>();
        for (var trial = 0; trial <= options.Rounds; trial++)
        {
            for (var position = 0; position < Variants.Count; position++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Rotated, so no variant always runs first (fresh page cache) or last.
                var variant = Variants[(position + trial) % Variants.Count];
                var burst = await BurstAsync(trial, position, variant, perEntity, cancellationToken);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {(trial == 0 ? "warm-up" : $"trial {trial}/{options.Rounds}")}: {variant.Name,-44} {burst.EventsPerSecond,8:N0} events/s ({burst.Seconds:0.00} s)"));
                if (burst.JournalRows != burst.Events)
                {
                    workspace.Problem($"trial {trial}, {variant.Name}: the journal holds {burst.JournalRows} rows, {burst.Events} were persisted");
                }

                if (trial > 0)
                {
                    bursts.Add(burst);
                }
            }
        }

        var chosen = Variants[0].Name;
        var rows = Variants.Select(v =>
        {
            var rates = bursts.Where(b => b.Variant == v.Name).OrderBy(b => b.Trial).Select(b => b.EventsPerSecond).ToList();
            var ratios = bursts.Where(b => b.Variant == v.Name)
                .Select(b => b.EventsPerSecond / bursts.Single(c => c.Trial == b.Trial && c.Variant == chosen).EventsPerSecond).ToList();
            return new
            {
                variant = v.Name,
                synchronous = v.Pragmas.Synchronous.ToString().ToUpperInvariant(),
                busyTimeoutMs = (long)v.Pragmas.BusyTimeout.TotalMilliseconds,
                median = Summary.Median(rates),
                min = rates.Min(),
                max = rates.Max(),
                medianRatioToChosen = Summary.Median(ratios),
                perTrial = rates,
            };
        }).ToList();

        Console.WriteLine();
        Console.WriteLine($"journal events/s, medians over {options.Rounds} trials ({events:N0} events per burst, WAL, one fresh file per burst):");
        var width = rows.Max(r => r.variant.Length);
        Console.WriteLine($"{"variant".PadRight(width)} | {"median",8} | {"min",8} | {"max",8} | vs chosen (median of per-trial ratios)");
        foreach (var row in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.variant.PadRight(width)} | {row.median,8:N0} | {row.min,8:N0} | {row.max,8:N0} | {row.medianRatioToChosen:0.000}"));
        }

        // What busy_timeout is for, which the burst above hardly shows (the journal's writes seldom collide):
        // how long a second writer waits after the lock it found taken is released.
        var handOver = Variants.Select(v => v.Pragmas.BusyTimeout).Distinct()
            .Select(timeout => (timeout, Median: Summary.Median([.. Enumerable.Range(0, HandOvers).Select(_ => LockHandOverMs(timeout))])))
            .ToList();
        Console.WriteLine();
        Console.WriteLine($"lock hand-over: a writer finds the file locked by another connection's 20 ms write transaction; " +
                          $"median over {HandOvers} of how long after that release its insert is done:");
        foreach (var (timeout, median) in handOver)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  busy_timeout={(long)timeout.TotalMilliseconds} ms: {median:0.0} ms"));
        }

        var path = Summary.WriteJson(new
        {
            benchmark = "journal",
            mode = options.Mode,
            startedAt,
            finishedAt = DateTimeOffset.UtcNow,
            settings = new { trials = options.Rounds, eventsPerBurst = events, entities = Entities },
            machine,
            summary = rows,
            lockHandOverMs = handOver.Select(h => new { busyTimeoutMs = (long)h.timeout.TotalMilliseconds, median = h.Median }),
            bursts,
            problems = workspace.Problems,
        }, options.OutputDir, "journal", startedAt);
        Console.WriteLine($"JSON: {path}");
        workspace.PrintProblems();
        return workspace.Problems.Count == 0 ? 0 : 2;
    }

    /// <summary>One burst of <see cref="Entities"/> × <paramref name="perEntity"/> events on a fresh file (also run by the recovery benchmark).</summary>
    public async Task<JournalBurst> BurstAsync(int trial, int position, JournalVariant variant, int perEntity, CancellationToken cancellationToken)
    {
        var dir = workspace.Dir($"trial-{trial}-{position}");
        var database = Path.Combine(dir, SqliteJournal.FileName);
        SqliteJournal.EnableWriteAheadLog(database);
        var system = ActorSystem.Create("journal-bench", ActorSystemSetup.Create(
            BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString(variant.Hocon).WithFallback(Config(database))),
            SqliteJournal.Setup(database, new SqlitePragmaInterceptor(variant.Pragmas, yieldOnAsyncOpen: !variant.SynchronousWrites))));
        try
        {
            var campaign = CampaignId.New();
            var entities = Enumerable.Range(0, Entities)
                .Select(i => system.ActorOf(Props.Create(() => new JournalEntity($"bench-{i.ToString(CultureInfo.InvariantCulture)}", campaign))))
                .ToList();
            // Recovery (and table creation) out of the clock: every entity has answered once.
            await Task.WhenAll(entities.Select(e => e.Ask<JournalEntity.Persisted>(new JournalEntity.Persist(), AskTimeout, cancellationToken)));
            var stopwatch = Stopwatch.StartNew();
            var replies = new List<Task<JournalEntity.Persisted>>(Entities * perEntity);
            for (var n = 0; n < perEntity; n++)
            {
                replies.AddRange(entities.Select(e => e.Ask<JournalEntity.Persisted>(new JournalEntity.Persist(), AskTimeout, cancellationToken)));
            }

            await Task.WhenAll(replies);
            stopwatch.Stop();
            var count = Entities * perEntity;
            return new JournalBurst(trial, variant.Name, position, count, stopwatch.Elapsed.TotalSeconds, count / stopwatch.Elapsed.TotalSeconds,
                JournalRows(database) - Entities);
        }
        finally
        {
            await system.Terminate();
            SqliteConnection.ClearAllPools();
        }
    }

    private const int HandOvers = 15;

    /// <summary>How long the first connection holds the write lock in each hand-over.</summary>
    private static readonly TimeSpan LockHeld = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Milliseconds from the release of a write lock until a second connection (with <paramref name="busyTimeout"/>),
    /// which found the lock taken, has committed its insert.
    /// </summary>
    private double LockHandOverMs(TimeSpan busyTimeout)
    {
        var database = Path.Combine(workspace.Dir("hand-over"), SqliteJournal.FileName);
        SqliteJournal.EnableWriteAheadLog(database);
        var connection = $"Data Source={database};Default Timeout=30;Pooling=False";
        using var holder = new SqliteConnection(connection);
        using var waiter = new SqliteConnection(connection);
        holder.Open();
        waiter.Open();
        Execute(holder, "CREATE TABLE IF NOT EXISTS t (x INTEGER)");
        Execute(waiter, (SqlitePragmas.Journal with { BusyTimeout = busyTimeout }).Statements);
        Execute(holder, "BEGIN IMMEDIATE; INSERT INTO t VALUES (1);");
        var clock = Stopwatch.StartNew();
        var inserted = Task.Run(() =>
        {
            Execute(waiter, "INSERT INTO t VALUES (2)");
            return clock.Elapsed.TotalMilliseconds;
        });
        // The scenario, not a wait for a condition: the holder keeps its lock this long, so the waiter meets it taken
        // (SQLite shows no sign of a connection waiting on a lock that could be awaited instead).
        Thread.Sleep(LockHeld);
        var released = clock.Elapsed.TotalMilliseconds;
        Execute(holder, "COMMIT");
        return inserted.GetAwaiter().GetResult() - released;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long JournalRows(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM journal";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>A local actor system's configuration with the master's journal on <paramref name="database"/> (also used by the recovery benchmark).</summary>
    public static Config Config(string database)
    {
        var bindings = string.Join(Environment.NewLine, ProtocolSerializer.BoundTypes.Select(t => $"\"{Qualified(t)}\" = pandafuzz"));
        return ConfigurationFactory.ParseString($$"""
                akka {
                  loglevel = WARNING
                  stdout-loglevel = WARNING
                  actor {
                    provider = local
                    serializers { pandafuzz = "{{Qualified(typeof(ProtocolSerializer))}}" }
                    serialization-bindings {
                      {{bindings}}
                    }
                  }
                }
                """)
            .WithFallback(SqliteJournal.Persistence(database))
            .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(RepoLayout.Root, "hocon", "persistence.conf"))))
            .WithFallback(SqlPersistence.DefaultConfiguration);
    }

    private static string Qualified(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}

/// <summary>A persistent actor that persists one small campaign event per command (PersistAll, as the entities do) and replies once it is durable.</summary>
public sealed class JournalEntity : ReceivePersistentActor
{
    public JournalEntity(string persistenceId, CampaignId campaign)
    {
        PersistenceId = persistenceId;
        Command<Persist>(_ =>
        {
            var sender = Sender;
            PersistAll([new CampaignEvents.CampaignStopRequested(campaign, DateTimeOffset.UtcNow)], _ => sender.Tell(new Persisted()));
        });
        Recover<CampaignEvents.CampaignStopRequested>(_ => { });
    }

    public override string PersistenceId { get; }

    public sealed record Persist;

    public sealed record Persisted;
}
