using PandaFuzz.Infrastructure.Sharding;
using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using FluentAssertions;
using PandaFuzz.Actors.Tests.Fixtures;
using PandaFuzz.Infrastructure.Blobs;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Master.Configuration;
using PandaFuzz.Master.Projection;
using PandaFuzz.Protocol;
using PandaFuzz.ReadModel;
using Xunit;
using Xunit.Abstractions;
using static PandaFuzz.Master.Projection.ProjectionProtocol;
using static PandaFuzz.Protocol.BotCommands;
using static PandaFuzz.Protocol.CampaignCommands;
using static PandaFuzz.Protocol.CampaignQueries;
using static PandaFuzz.Protocol.JobCommands;

namespace PandaFuzz.Actors.Tests;

/// <summary>
/// The read-model projection over a real master and its SQLite journal: the tables follow what the entities
/// persist, the projection resumes after its actor system is stopped without losing or doubling anything, and a
/// rebuild from the journal equals what it built incrementally.
/// </summary>
public abstract class ReadModelProjectionTests(ITestOutputHelper output, StorageProvider storage) : MasterTestKit(output, storage)
{
    private static readonly BotId Bot = new("bot-rm");
    // Generous for a loaded machine: one run there projected 74 of 103 job events in 30 s.
    private static readonly TimeSpan ProjectionTimeout = TimeSpan.FromSeconds(90);
    private static readonly ReadModelSettings Settings = ReadModelSettings.Default with { BatchSize = 50, BatchWindow = TimeSpan.FromMilliseconds(20) };

    [Fact]
    public async Task The_read_model_follows_the_master_resumes_after_a_stop_without_loss_or_doubles_and_equals_a_rebuild()
    {
        // Arrange: a master with its projection, and a bot-side blob server for crash inputs.
        var master = await StartMasterAsync(TestData.Settings);
        var database = ReadModel;
        var projection = StartProjection(master.System, database);
        var botStore = new ContentAddressedStore(TestDir.PathOf("bot-blobs"));
        var botBlobs = master.System.ActorOf(Props.Create(() => new BlobServerActor(botStore)), BlobServerActor.BotName);
        var campaignId = CampaignId.New();
        var job0 = JobId.For(campaignId, 0);
        var agent = CreateTestProbe(master.System, "agent");

        // Act: a campaign of two jobs; a bot checks in, runs job 0, reports two inputs of one bug, finishes.
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 2) with { Dictionary = "tokens.dict" }));
        master.Bots.Tell(new CheckIn(Bot, master.PathOf(agent.Ref), "127.0.0.1:4053", "box-rm", TestData.LibFuzzerBot(slots: 2), [], DateTimeOffset.UtcNow), agent.Ref);
        agent.ExpectMsg<CheckInAccepted>();
        master.Jobs.Tell(new AssignJob(job0, Bot, master.PathOf(agent.Ref)), master.Scheduler.Ref);
        agent.ExpectMsg<AgentCommands.StartJob>();
        master.Jobs.Tell(new ConfirmJobStarted(job0, Bot, DateTimeOffset.UtcNow), agent.Ref);
        await ReportCrashAsync(master, botStore, botBlobs, campaignId, job0, "first input", agent);
        await ReportCrashAsync(master, botStore, botBlobs, campaignId, job0, "second input", agent);
        master.Jobs.Tell(new ReportJobFinished(job0, Bot, Succeeded: true, FailureReason: null, TestData.Stats(execs: 5000)), agent.Ref);
        agent.FishForMessage(m => m is Ack, TimeSpan.FromSeconds(10));

        // Assert: the tables show it. (Eventually: job 1's entity persists its creation on its own, and may do so after
        // the projection has caught up with everything else.)
        await AwaitProjectedAsync(projection, () =>
            Rows("SELECT status || ',' || COALESCE(bot_id, '-') || ',' || dictionary || ',' || COALESCE(final_execs, -1) FROM jobs WHERE task = 'fuzz' ORDER BY job_index")
                .Should().Equal("completed,bot-rm,tokens.dict,5000", "pending,-,tokens.dict,-1"));
        Rows("SELECT status FROM campaigns").Should().Equal("running");
        Rows("SELECT b.status || ',' || c.engine FROM bots b JOIN bot_capabilities c ON c.bot_id = b.id").Should().Equal("online,libfuzzer");
        Rows("SELECT occurrences FROM crashes").Should().Equal("2");
        var refused = async () => await ReadModelRebuild.RunAsync(master.System, database, batchSize: 10);
        await refused.Should().ThrowAsync<ReadModelSchemaException>("the running projection holds the read model");

        // Act: many events, and the actor system stopped while the projection works through them.
        var busy = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(busy, TestData.Spec(jobs: 100, name: "busy")));
        var restarted = await RestartAsync(master);
        var offsetsAtStop = Offsets(database);
        var clock = Stopwatch.StartNew();
        projection = StartProjection(restarted.System, database);
        var agentAfter = CreateTestProbe(restarted.System, "agent");
        var botBlobsAfter = restarted.System.ActorOf(Props.Create(() => new BlobServerActor(botStore)), BlobServerActor.BotName);
        await ReportCrashAsync(restarted, botStore, botBlobsAfter, campaignId, job0, "third input", agentAfter);
        await ReportCrashAsync(restarted, botStore, botBlobsAfter, campaignId, job0, "first input", agentAfter);

        // Assert: everything arrived once: every job the journal created (the woken campaign creates those the stop
        // cut off), three counted inputs (the repeated one is not counted again).
        var status = await AwaitProjectedAsync(projection, () =>
        {
            // Every job is created: the 102 planned and those the campaigns added (minimization), so no JobCreated comes
            // after this and before the rebuild below.
            var created = JournalCount("JobCreated.v1");
            created.Should().Be(102 + JournalCount("CampaignJobAdded.v1"));
            Rows("SELECT COUNT(*) FROM jobs").Should().Equal(created.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        Output.WriteLine($"offsets when stopped: {string.Join(", ", offsetsAtStop.Select(o => $"{o.Key}={o.Value}"))}");
        Output.WriteLine($"after the restart: {status.EventsProjected} events in {status.Batches} batches, all projected {clock.Elapsed.TotalMilliseconds:0} ms after the start, " +
            $"max lag {status.MaxLag?.TotalMilliseconds:0} ms; tags {string.Join(", ", status.Tags.Select(t => $"{t.Tag} {t.ProjectedOffset}/{t.JournalOffset} lag {t.LastLag?.TotalMilliseconds:0} ms"))}");
        Rows("SELECT COUNT(*) FROM crash_occurrences").Should().Equal("3");
        Rows("SELECT occurrences FROM crashes").Should().Equal("3");
        Rows("SELECT COUNT(*) FROM campaigns").Should().Equal("2");
        // (The journal's end can be further on: the sharding coordinators persist their own events, which no kind has.)
        status.Tags.Should().OnlyContain(t => t.ProjectedOffset == t.JournalOffset, "no kind has an event past the projection");
        status.EventsProjected.Should().Be(
            EntityKinds.All.Sum(tag => KindAfter(tag, offsetsAtStop.GetValueOrDefault(tag))),
            "the restarted projection applies exactly the events after its stored offsets");

        // Assert: measured in the databases (what /readyz and the metrics use), the projected read model trails by nothing,
        // and an empty one by every entity event, the oldest as old as the test.
        // (Eventually: an entity may persist one more event, a timer's, just after the projection reported itself caught up.)
        await AwaitAssertAsync(
            () => ReadModelBacklog.Measure(restarted.System.Settings.Config, database, DateTimeOffset.UtcNow).Should().Be(ReadModelBacklog.None),
            TimeSpan.FromSeconds(10),
            TimeSpan.FromMilliseconds(100));

        // Act: rebuild from the journal into a second file.
        var rebuilt = AnotherReadModel("rebuilt");
        new ReadModelSchema(rebuilt).MigrateUp();
        var empty = ReadModelBacklog.Measure(restarted.System.Settings.Config, rebuilt, DateTimeOffset.UtcNow);
        empty.PendingEvents.Should().Be(EntityKinds.All.Sum(tag => KindAfter(tag, 0)));
        empty.Lag.Should().BeGreaterThan(clock.Elapsed, "the first events were written before the restart");
        var result = await ReadModelRebuild.RunAsync(restarted.System, rebuilt, batchSize: 7);
        Output.WriteLine($"rebuild: {result.Events} events in {result.Took.TotalMilliseconds:0} ms ({result.Events / result.Took.TotalSeconds:0} events/s)");

        // Assert: the same rows and offsets as the incremental projection.
        foreach (var table in ReadModelWriter.ProjectedTables)
        {
            Dump(rebuilt, table).Should().Equal(Dump(database, table), "table {0} rebuilt equals the incremental one", table);
        }

        Dump(rebuilt, "projection_offsets", except: "updated_at").Should().Equal(Dump(database, "projection_offsets", except: "updated_at"));
    }

    [Fact]
    public async Task A_projection_whose_read_model_another_writer_holds_waits_and_takes_over_when_the_lock_is_free()
    {
        // Arrange: a campaign in the journal, and the read model's lock held by another writer (another master's projection).
        var master = await StartMasterAsync(TestData.Settings);
        var database = ReadModel;
        new ReadModelSchema(database).MigrateUp();
        var campaignId = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(campaignId, TestData.Spec(jobs: 1)));
        var other = ReadModelLock.TryAcquire(database);
        other.Should().NotBeNull();

        // Act: this master's projection starts; it waits, then the other writer goes.
        var projection = StartProjection(master.System, database);
        await Task.Delay(ReadModelProjection.LockRetryInterval + TimeSpan.FromSeconds(1));
        Rows("SELECT id FROM campaigns").Should().BeEmpty("a standby projection writes nothing while another holds the read model");
        (await projection.Ask<ProjectionStatus>(GetProjectionStatus.Instance, AskTimeout)).EventsProjected.Should().Be(0);
        var released = Stopwatch.StartNew();
        other!.Dispose();

        // Assert: it takes the lock within one retry and projects the journal.
        await AwaitProjectedAsync(projection, () => Rows("SELECT id FROM campaigns").Should().Equal(campaignId.Value));
        Output.WriteLine($"lock released -> campaign projected: {released.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task An_idle_projection_polls_rarely_but_takes_in_this_masters_next_event_at_once()
    {
        // Arrange: a projection that, idle, asks the journal only once a minute; it has caught up and gone idle.
        var master = await StartMasterAsync(TestData.Settings);
        var idlePoll = TimeSpan.FromMinutes(2);
        var projection = StartProjection(master.System, ReadModel, Settings with { IdlePollInterval = idlePoll });
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(CampaignId.New(), TestData.Spec(jobs: 1)));
        await AwaitProjectedAsync(projection);
        await Task.Delay(TimeSpan.FromSeconds(2));

        // Act
        var clock = Stopwatch.StartNew();
        var second = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(second, TestData.Spec(jobs: 1)));
        await AwaitAssertAsync(() => Rows("SELECT COUNT(*) FROM campaigns WHERE id = '" + second.Value + "'").Should().Equal("1"), idlePoll / 2, TimeSpan.FromMilliseconds(50));

        // Assert: the write woke it; waiting for the idle poll would take two minutes (the bound leaves a loaded machine room).
        Output.WriteLine($"idle projection took in the next campaign after {clock.Elapsed.TotalMilliseconds:0} ms");
        clock.Elapsed.Should().BeLessThan(idlePoll / 2);
    }

    [Fact]
    public async Task A_projection_in_a_process_that_has_written_nothing_yet_follows_the_journal()
    {
        // Arrange: a campaign in the journal, read back a page at a time; and the write activity of a process that has
        // written nothing (a master restarted on its old journal, before its first event).
        var master = await StartMasterAsync(TestData.Settings);
        var first = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(first, TestData.Spec(jobs: 1)));
        // (Its job's JobCreated is the last event it causes without a bot: wait for it, so the journal's end stands still.)
        await AwaitAssertAsync(() => JournalCount("JobCreated.v1").Should().Be(1), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        var pages = JournalEventReader.For(master.System);
        var page = await pages(0, 1000);
        page.Should().NotBeEmpty().And.Contain(e => e.PersistenceId == "campaign-" + first.Value);
        page.Select(e => ((Sequence)e.Offset).Value).Should().BeInAscendingOrder();
        (await pages(((Sequence)page[^1].Offset).Value, 1000)).Should().BeEmpty();
        var quiet = new JournalActivity();

        // Act: follow the journal from after the first campaign: the first page is empty, so the next poll asks how long ago
        // the process wrote; then a second campaign, a write the quiet activity does not see.
        var followed = ReadModelProjection.Follow(pages, ((Sequence)page[^1].Offset).Value, Settings, quiet)
            .Where(e => e.PersistenceId.StartsWith("campaign-", StringComparison.Ordinal))
            .Take(1)
            .RunWith(Sink.First<EventEnvelope>(), master.System.Materializer());
        await Task.Delay(Settings.PollInterval * 3);
        var second = CampaignId.New();
        await AskFor<CampaignView>(master.Campaigns, new CreateCampaign(second, TestData.Spec(jobs: 1)));

        // Assert: the idle poll found it.
        var next = await followed.WaitAsync(TimeSpan.FromSeconds(20));
        next.PersistenceId.Should().Be("campaign-" + second.Value);
        quiet.SinceLastWrite.Should().Be(TimeSpan.MaxValue);
    }

    private IActorRef StartProjection(ActorSystem system, ReadModelDatabase database, ReadModelSettings? settings = null) =>
        system.ActorOf(ReadModelProjection.SupervisedProps(database, settings ?? Settings), ReadModelProjectionHosting.Name);

    /// <summary>Waits until every tagged event in the journal is in the read model.</summary>
    private async Task<ProjectionStatus> AwaitProjectedAsync(IActorRef projection, Action? also = null)
    {
        ProjectionStatus? status = null;
        await AwaitAssertAsync(
            async () =>
            {
                status = await projection.Ask<ProjectionStatus>(GetProjectionStatus.Instance, AskTimeout);
                status.PendingEvents.Should().Be(0);
                status.Tags.Sum(t => t.JournalOffset).Should().BePositive();
                also?.Invoke();
            },
            ProjectionTimeout,
            TimeSpan.FromMilliseconds(100));
        return status!;
    }

    private async Task ReportCrashAsync(MasterNode master, ContentAddressedStore botStore, IActorRef botBlobs, CampaignId campaign, JobId job, string text, Akka.TestKit.TestProbe bot)
    {
        var (input, size) = await botStore.PutAsync(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(text)), long.MaxValue);
        var finding = new CrashFinding(input, size, "crash-" + input.Sha256[..40], "heap-buffer-overflow", "summary", ["#0 parse_header"], "output",
            DateTimeOffset.UtcNow, Signature: "00000000000000aa", State: "parse_header", Security: true, ReproduceAttempts: 3, Reproduced: 3);
        master.Campaigns.Tell(new ReportCrash(campaign, job, Bot, finding, master.PathOf(botBlobs)), bot.Ref);
        bot.FishForMessage(m => m is CrashAccepted a && a.Input == input, TimeSpan.FromSeconds(10));
    }

    private IReadOnlyList<string> Rows(string sql)
    {
        using var connection = ReadModel.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }

        return rows;
    }

    private long JournalCount(string manifest) => JournalScalar("SELECT COUNT(*) FROM journal WHERE manifest = @manifest", ("manifest", manifest));

    /// <summary>A kind's events in the journal after <paramref name="offset"/>, by their entities' persistence ids.</summary>
    private long KindAfter(string kind, long offset) =>
        JournalScalar("SELECT COUNT(*) FROM journal WHERE persistence_id LIKE @prefix AND ordering > @offset",
            ("prefix", EntityKinds.PersistenceIdLike(kind)), ("offset", offset));

    private static IReadOnlyDictionary<string, long> Offsets(ReadModelDatabase database)
    {
        using var connection = database.Open();
        return ReadModelWriter.Offsets(connection);
    }

    private static IReadOnlyList<string> Dump(ReadModelDatabase database, string table, string except = "")
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {table}";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount)
                .Where(i => reader.GetName(i) != except)
                .Select(i => $"{reader.GetName(i)}={(reader.IsDBNull(i) ? "NULL" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))}")));
        }

        rows.Sort(StringComparer.Ordinal);
        return rows;
    }
}

public sealed class ReadModelProjectionTestsOnSqlite(ITestOutputHelper output) : ReadModelProjectionTests(output, StorageProvider.Sqlite);

public sealed class ReadModelProjectionTestsOnPostgreSql(ITestOutputHelper output) : ReadModelProjectionTests(output, StorageProvider.PostgreSql);
