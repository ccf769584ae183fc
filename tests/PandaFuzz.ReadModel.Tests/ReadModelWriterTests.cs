using FluentAssertions;
using System.Data.Common;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Protocol.BotEvents;
using static PandaFuzz.Protocol.CampaignEvents;
using static PandaFuzz.Protocol.CorpusEvents;
using static PandaFuzz.Protocol.JobEvents;

namespace PandaFuzz.ReadModel.Tests;

/// <summary>Events into rows: one transaction per batch with its offsets; replays change nothing.</summary>
public abstract class ReadModelWriterTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
    private static readonly CampaignId Campaign = new("0123456789ab");
    private static readonly JobId Job0 = JobId.For(Campaign, 0);
    private static readonly JobId Job1 = JobId.For(Campaign, 1);
    private static readonly BotId Bot = new("bot-a");
    private static readonly BlobId Target = BlobId.Of("target"u8);

    private readonly ReadModelFile _file;

    protected ReadModelWriterTests(ReadModelStore store)
    {
        _file = new ReadModelFile(store);
        _file.Schema.MigrateUp();
    }

    public void Dispose() => _file.Dispose();

    /// <summary>A campaign's life in the journal's order, with the tags and orderings the journal gives.</summary>
    private static IReadOnlyList<ProjectedEvent> History()
    {
        var spec = new CampaignSpec("parser", Target, EngineNames.LibFuzzer, 2, 3600, 2048, 1000, "dict.txt", TargetName: "parser");
        var capabilities = new BotCapabilities([new EngineCapability(EngineNames.LibFuzzer, "14"), new EngineCapability(EngineNames.AflPlusPlus, "4.04c")], 4, 8192);
        var events = new List<(string Tag, object Event)>
        {
            ("campaign", new CampaignCreated(Campaign, spec, [Job0, Job1], T0)),
            ("job", new JobCreated(Job0, Campaign, 0, spec.ToJobSpec(0), T0)),
            ("job", new JobCreated(Job1, Campaign, 1, spec.ToJobSpec(1), T0)),
            ("bot", new BotRegistered(Bot, "akka.tcp://pandafuzz@10.0.0.2:4053/user/agent", "akka.tcp://pandafuzz@10.0.0.2:4053", "box-a", capabilities, T0)),
            ("job", new JobAssigned(Job0, Bot, "agent", T0.AddSeconds(1))),
            ("job", new JobStarted(Job0, Bot, T0.AddSeconds(2))),
            ("campaign", new CrashReported(Campaign, Crash("one", "00000000000000aa", 3, 2), true, T0.AddSeconds(3))),
            ("campaign", new CrashReported(Campaign, Crash("two", "00000000000000aa", 3, 1), false, T0.AddSeconds(4))),
            ("campaign", new CrashReported(Campaign, Crash("three", "00000000000000bb", 0, 0), true, T0.AddSeconds(5))),
            ("corpus", new CorpusEntriesAdded(Campaign, [Entry("a", 10), Entry("b", 20)], T0.AddSeconds(6))),
            ("corpus", new CorpusEntriesAdded(Campaign, [Entry("b", 20), Entry("c", 30)], T0.AddSeconds(7))),
            ("job", new JobCompleted(Job0, new FuzzerStats(1000, 10, 42, 64, 3, 60, 30, T0.AddSeconds(8)), T0.AddSeconds(8))),
            ("corpus", new CorpusReplaced(Campaign, 2, [Entry("c", 30)], "minimized", T0.AddSeconds(9))),
            ("job", new JobCancelled(Job1, "campaign stopped", T0.AddSeconds(10))),
            ("campaign", new CampaignStopRequested(Campaign, T0.AddSeconds(10))),
            ("campaign", new CampaignFinished(Campaign, CampaignStatus.Stopped, T0.AddSeconds(11))),
            ("bot", new BotWentOffline(Bot, "left the cluster", T0.AddSeconds(12))),
        };
        return [.. events.Select((e, i) => new ProjectedEvent(e.Tag, i + 1, e.Event, T0))];
    }

    private static CrashRecord Crash(string input, string signature, int attempts, int reproduced) =>
        new(CrashId.ForSignature(Campaign, signature), Campaign, Job0, Bot, new CrashFinding(
            BlobId.Of(System.Text.Encoding.ASCII.GetBytes(input)), input.Length, "crash-x", "heap-buffer-overflow", "summary", [], "output", T0,
            signature, "parse_header", Security: true, ReproduceAttempts: attempts, Reproduced: reproduced));

    private static CorpusEntry Entry(string input, long size) => new(BlobId.Of(System.Text.Encoding.ASCII.GetBytes(input)), size, "job");

    private IReadOnlyDictionary<string, IReadOnlyList<string>> Snapshot() =>
        ReadModelWriter.ProjectedTables.ToDictionary(t => t, t => _file.Rows(t));

    private void Write(IEnumerable<ProjectedEvent> events)
    {
        using var connection = _file.Database.Open();
        ReadModelWriter.Write(connection, [.. events], T0.AddMinutes(1));
    }

    [Fact]
    public void A_history_becomes_rows_with_the_invariants_kept()
    {
        foreach (var batch in History().Chunk(4))
        {
            Write(batch);
        }

        _file.Strings("SELECT status || ',' || finished_at FROM campaigns").Should().Equal("stopped,2026-11-26T10:00:11.0000000Z");
        _file.Strings("SELECT id || ',' || status || ',' || COALESCE(bot_id, '-') || ',' || duration_seconds || ',' || memory_limit_mb || ',' || timeout_ms || ',' || dictionary || ',' || COALESCE(final_execs, -1) FROM jobs ORDER BY id")
            .Should().Equal("0123456789ab-0,completed,bot-a,3600,2048,1000,dict.txt,1000", "0123456789ab-1,cancelled,-,3600,2048,1000,dict.txt,-1");
        _file.Strings("SELECT engine || ' ' || version FROM bot_capabilities ORDER BY engine").Should().Equal("aflplusplus 4.04c", "libfuzzer 14");
        _file.Strings("SELECT status || ',' || offline_reason FROM bots").Should().Equal("offline,left the cluster");
        _file.Strings("SELECT signature || ',' || occurrences || ',' || reproduce_attempts || ',' || reproduced || ',' || last_seen FROM crashes ORDER BY signature")
            .Should().Equal("00000000000000aa,2,6,3,2026-11-26T10:00:04.0000000Z", "00000000000000bb,1,0,0,2026-11-26T10:00:05.0000000Z");
        _file.Strings("SELECT COUNT(*) FROM crash_occurrences").Should().Equal("3");
        _file.Strings("SELECT version || ',' || entries || ',' || bytes || ',' || reason FROM corpus_versions ORDER BY version")
            .Should().Equal("1,3,60,created", "2,1,30,minimized");
        _file.Strings("SELECT tag || '=' || journal_offset FROM projection_offsets ORDER BY tag").Should().Equal("bot=17", "campaign=16", "corpus=13", "job=14");
    }

    [Fact]
    public void A_report_delivered_twice_in_one_batch_is_counted_once_and_its_crash_keeps_its_first_sighting()
    {
        var spec = new CampaignSpec("parser", Target, EngineNames.LibFuzzer, 2, 3600, 2048, 1000, "dict.txt", TargetName: "parser");
        Write([new ProjectedEvent("campaign", 1, new CampaignCreated(Campaign, spec, [Job0, Job1], T0), T0)]);

        Write([
            new ProjectedEvent("campaign", 2, new CrashReported(Campaign, Crash("one", "00000000000000aa", 3, 2), true, T0.AddSeconds(3)), T0),
            new ProjectedEvent("campaign", 3, new CrashReported(Campaign, Crash("one", "00000000000000aa", 3, 2), true, T0.AddSeconds(4)), T0),
            new ProjectedEvent("campaign", 4, new CrashReported(Campaign, Crash("two", "00000000000000aa", 3, 1), false, T0.AddSeconds(5)), T0),
        ]);
        Write([new ProjectedEvent("campaign", 5, new CrashReported(Campaign, Crash("two", "00000000000000aa", 3, 1), false, T0.AddSeconds(6)), T0)]);

        _file.Strings("SELECT occurrences || ',' || reproduce_attempts || ',' || reproduced || ',' || first_seen || ',' || last_seen || ',' || first_input FROM crashes")
            .Should().Equal($"2,6,3,2026-11-26T10:00:03.0000000Z,2026-11-26T10:00:05.0000000Z,{BlobId.Of("one"u8).Sha256}");
        _file.Strings("SELECT COUNT(*) FROM crash_occurrences").Should().Equal("2");
    }

    [Fact]
    public void A_batch_written_again_changes_nothing()
    {
        Write(History());
        var once = Snapshot();

        Write(History());

        Snapshot().Should().BeEquivalentTo(once);
    }

    [Fact]
    public void Replaying_every_event_after_the_offsets_are_lost_gives_the_same_rows()
    {
        Write(History());
        var once = Snapshot();

        _file.Execute("DELETE FROM projection_offsets");
        foreach (var batch in History().Chunk(5))
        {
            Write(batch);
        }

        Snapshot().Should().BeEquivalentTo(once);
    }

    [Fact]
    public void The_tags_interleaved_differently_give_the_same_rows()
    {
        Write(History());
        var interleaved = Snapshot();
        _file.Execute("DELETE FROM projection_offsets");
        foreach (var table in ReadModelWriter.ProjectedTables)
        {
            _file.Execute($"DELETE FROM {table}");
        }

        // One tag after the other, as a rebuild reads them.
        foreach (var tag in new[] { "campaign", "job", "bot", "corpus" })
        {
            Write(History().Where(e => e.Tag == tag));
        }

        Snapshot().Should().BeEquivalentTo(interleaved);
    }

    [Fact]
    public void A_projection_in_journal_order_resumes_from_per_tag_offsets_without_loss_or_doubles_and_moves_every_tag_along()
    {
        // Arrange: what a projection that followed each tag on its own left (before events went untagged): the campaign
        // tag projected through 9, the job tag only through 5, the others through their last event before 5.
        var all = History();
        Write(all.Where(e => e.Tag == "campaign" && e.Offset <= 9));
        Write(all.Where(e => e.Tag != "campaign" && e.Offset <= 5));
        _file.Strings("SELECT tag || '=' || journal_offset FROM projection_offsets ORDER BY tag").Should().Equal("bot=4", "campaign=9", "job=5");

        // Act: the journal read in order from the lowest offset (0: the corpus tag has none), in batches, each read
        // through its last ordering.
        var applied = 0;
        foreach (var batch in all.Chunk(3))
        {
            using var connection = _file.Database.Open();
            applied += ReadModelWriter.Write(connection, batch, T0.AddMinutes(1), (batch[^1].Offset, ["campaign", "job", "bot", "corpus"]));
        }

        // Assert: each event applied once: 17 less the 8 already in (campaign 1, 7, 8, 9; job 2, 3, 5; bot 4); every
        // tag's offset at the journal's end; and the same rows as one pass over the history.
        applied.Should().Be(9);
        _file.Strings("SELECT tag || '=' || journal_offset FROM projection_offsets ORDER BY tag").Should().Equal("bot=17", "campaign=17", "corpus=17", "job=17");
        var resumed = Snapshot();
        _file.Execute("DELETE FROM projection_offsets");
        foreach (var table in ReadModelWriter.ProjectedTables)
        {
            _file.Execute($"DELETE FROM {table}");
        }

        Write(all);
        resumed.Should().BeEquivalentTo(Snapshot());
    }

    [Fact]
    public void A_batch_read_through_an_ordering_moves_no_tag_back()
    {
        Write(History());
        using (var connection = _file.Database.Open())
        {
            ReadModelWriter.Write(connection, [], T0.AddMinutes(2), (15, ["campaign", "job", "bot", "corpus"]));
        }

        _file.Strings("SELECT tag || '=' || journal_offset FROM projection_offsets ORDER BY tag").Should().Equal("bot=17", "campaign=16", "corpus=15", "job=15");
    }

    [Fact]
    public void Crash_rows_name_their_bug_and_a_crash_that_reproduces_later_joins_its_bug()
    {
        var spec = new CampaignSpec("parser", Target, EngineNames.LibFuzzer, 1, 3600, 2048, 1000, null);
        CrashReported Report(string input, string signature, string state, string? location, int reproduced, int second, IReadOnlyList<string>? stack = null) =>
            new(Campaign, new CrashRecord(CrashId.ForSignature(Campaign, signature), Campaign, Job0, Bot, new CrashFinding(
                BlobId.Of(System.Text.Encoding.ASCII.GetBytes(input)), input.Length, "crash-x", "Heap-buffer-overflow WRITE 4", "summary", stack ?? [], "output",
                T0, signature, state, Security: true, ReproduceAttempts: 1, Reproduced: reproduced, Location: location)), true, T0.AddSeconds(second));
        Write([
            new ProjectedEvent("campaign", 1, new CampaignCreated(Campaign, spec, [Job0], T0), T0),
            new ProjectedEvent("campaign", 2, Report("a", "00000000000000aa", "handle_record\nparse_packet", "target.c:57", 1, 1), T0),
            // The same frame through another caller; its location read from its stack (a report recorded before locations were).
            new ProjectedEvent("campaign", 3, Report("b", "00000000000000bb", "handle_record\nparse_other", null, 1, 2,
                ["#0 __asan_memcpy (libasan.so)", "#1 handle_record /src/target.c:57", "#2 parse_other /src/target.c:90"]), T0),
            // The same function, another line: another bug.
            new ProjectedEvent("campaign", 4, Report("c", "00000000000000cc", "handle_record\nmain", "target.c:80", 1, 3), T0),
            // Not reproduced: apart, for now.
            new ProjectedEvent("campaign", 5, Report("d", "00000000000000dd", "handle_record\nrun", "target.c:57", 0, 4), T0),
        ]);
        string Bug(string signature) => BugId.ForLeader(Campaign, signature).Value;

        _file.Strings("SELECT signature || ',' || bug_id || ',' || COALESCE(location, '-') FROM crashes ORDER BY signature").Should().Equal(
            $"00000000000000aa,{Bug("00000000000000aa")},target.c:57", $"00000000000000bb,{Bug("00000000000000aa")},target.c:57",
            $"00000000000000cc,{Bug("00000000000000cc")},target.c:80", $"00000000000000dd,{Bug("00000000000000dd")},target.c:57");

        // Act: a later report of the flaky crash reproduces.
        Write([new ProjectedEvent("campaign", 6, Report("d2", "00000000000000dd", "handle_record\nrun", "target.c:57", 1, 5), T0)]);

        _file.Strings("SELECT bug_id FROM crashes WHERE signature = '00000000000000dd'").Should().Equal(Bug("00000000000000aa"));
        var queries = new ReadModelQueries(_file.Database);
        queries.Crashes(new CrashFilter(Bug: new BugId(Bug("00000000000000bb"))), new Page()).Items.Select(c => c.Signature)
            .Should().Equal(["00000000000000aa", "00000000000000bb", "00000000000000dd"], "any member's signature names the bug");
        queries.Crashes(new CrashFilter(), new Page()).Items.Select(c => c.BugId?.Value).Should().Equal(
            Bug("00000000000000aa"), Bug("00000000000000aa"), Bug("00000000000000cc"), Bug("00000000000000aa"));
    }

    [Fact]
    public void A_batch_that_fails_leaves_neither_its_rows_nor_its_offsets()
    {
        var history = History();
        Write(history.Take(3));
        var before = Snapshot();
        var orphan = new ProjectedEvent("campaign", 99, new CrashReported(new CampaignId("ffffffffffff"), Crash("x", "00000000000000cc", 0, 0), true, T0), T0);

        var act = () => Write([.. history.Skip(3).Take(3), orphan]);

        act.Should().Throw<DbException>().Where(e => ReadModelFile.IsForeignKeyViolation(e));
        Snapshot().Should().BeEquivalentTo(before);
        _file.Strings("SELECT tag || '=' || journal_offset FROM projection_offsets ORDER BY tag").Should().Equal("campaign=1", "job=3");
    }
}

public sealed class ReadModelWriterTestsOnSqlite() : ReadModelWriterTests(ReadModelStore.Sqlite);

public sealed class ReadModelWriterTestsOnPostgreSql() : ReadModelWriterTests(ReadModelStore.PostgreSql);
