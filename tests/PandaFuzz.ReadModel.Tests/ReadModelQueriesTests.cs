using FluentAssertions;
using PandaFuzz.Protocol;
using Xunit;
using static PandaFuzz.Protocol.BotEvents;
using static PandaFuzz.Protocol.CampaignEvents;
using static PandaFuzz.Protocol.JobEvents;

namespace PandaFuzz.ReadModel.Tests;

/// <summary>The list queries on a real file built by the migrations and filled through the writer.</summary>
public abstract class ReadModelQueriesTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
    private static readonly BlobId Target = BlobId.Of("target"u8);
    private static readonly BlobId AflTarget = BlobId.Of("afl-target"u8);
    private static readonly CampaignId First = new("000000000001");
    private static readonly CampaignId Second = new("000000000002");
    private static readonly CampaignId Third = new("000000000003");
    private static readonly BotId BotA = new("bot-a");
    private static readonly BotId BotB = new("bot-b");

    private readonly ReadModelFile _file;
    private readonly ReadModelQueries _queries;
    private long _offset;

    protected ReadModelQueriesTests(ReadModelStore store)
    {
        _file = new ReadModelFile(store);
        _file.Schema.MigrateUp();
        _queries = new ReadModelQueries(_file.Database);
    }

    public void Dispose() => _file.Dispose();

    [Fact]
    public void Campaigns_come_oldest_first_with_their_planned_jobs_and_unique_crash_count()
    {
        FillThreeCampaigns();

        var all = _queries.Campaigns(new CampaignFilter(), new Page());

        all.Total.Should().Be(3);
        all.Items.Select(c => c.Id).Should().Equal(First, Second, Third);
        var first = all.Items[0];
        first.Should().BeEquivalentTo(new CampaignRow(First, "one", Target.Sha256, EngineNames.LibFuzzer, CampaignStatus.Completed, 2, 2, T0, T0.AddMinutes(5)));
        all.Items[1].CrashCount.Should().Be(0);
        all.Items[1].FinishedAt.Should().BeNull();
    }

    [Fact]
    public void Campaigns_filter_by_status_engine_of_the_ensemble_and_creation_time()
    {
        FillThreeCampaigns();

        Ids(new CampaignFilter(Status: CampaignStatus.Running)).Should().Equal(Second, Third);
        Ids(new CampaignFilter(Status: CampaignStatus.Stopped)).Should().BeEmpty();
        Ids(new CampaignFilter(Engine: EngineNames.AflPlusPlus)).Should().Equal([Third], "the third campaign's ensemble has AFL++");
        Ids(new CampaignFilter(Engine: EngineNames.LibFuzzer)).Should().Equal(First, Second, Third);
        Ids(new CampaignFilter(Since: T0.AddMinutes(1))).Should().Equal([Second, Third], "since is inclusive");
        Ids(new CampaignFilter(Status: CampaignStatus.Running, Since: T0.AddMinutes(1).AddTicks(1))).Should().Equal(Third);

        IReadOnlyList<CampaignId> Ids(CampaignFilter filter) => [.. _queries.Campaigns(filter, new Page()).Items.Select(c => c.Id)];
    }

    [Fact]
    public void Pages_follow_each_other_in_a_stable_order_and_count_every_match()
    {
        // Ten campaigns created at the same instant: the id breaks the tie.
        var ids = Enumerable.Range(0, 10).Select(i => new CampaignId($"a000000000{9 - i:00}")).ToList();
        Write(ids.Select(id => ("campaign", (object)new CampaignCreated(id, Spec(id.Value, 1), [JobId.For(id, 0)], T0))));

        var pages = Enumerable.Range(0, 4).Select(p => _queries.Campaigns(new CampaignFilter(), new Page(3, p * 3))).ToList();

        pages.Should().AllSatisfy(p => p.Total.Should().Be(10));
        pages.Select(p => p.Items.Count).Should().Equal(3, 3, 3, 1);
        pages.SelectMany(p => p.Items.Select(c => c.Id.Value)).Should().Equal(ids.Select(i => i.Value).Order(StringComparer.Ordinal));
        _queries.Campaigns(new CampaignFilter(), new Page(3, 30)).Items.Should().BeEmpty();
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(Page.MaxLimit + 1, 0)]
    [InlineData(10, -1)]
    public void A_page_out_of_range_is_refused(int limit, int offset)
    {
        var act = () => _queries.Jobs(new JobFilter(), new Page(limit, offset));

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void The_largest_page_is_allowed()
    {
        FillThreeCampaigns();

        _queries.Jobs(new JobFilter(), new Page(Page.MaxLimit)).Items.Should().HaveCount(5);
    }

    [Fact]
    public void Jobs_filter_by_campaign_status_engine_bot_and_creation_time()
    {
        FillThreeCampaigns();

        Ids(new JobFilter()).Should().Equal("000000000001-0", "000000000001-1", "000000000002-0", "000000000003-0", "000000000003-1");
        Ids(new JobFilter(Campaign: Third)).Should().Equal("000000000003-0", "000000000003-1");
        Ids(new JobFilter(Status: JobStatus.Running)).Should().Equal("000000000002-0");
        Ids(new JobFilter(Status: JobStatus.Pending)).Should().Equal("000000000003-0", "000000000003-1");
        Ids(new JobFilter(Engine: EngineNames.AflPlusPlus)).Should().Equal("000000000003-1");
        Ids(new JobFilter(Bot: BotA)).Should().Equal(["000000000001-0", "000000000001-1"], "a finished job keeps the bot it ran on");
        Ids(new JobFilter(Bot: BotB)).Should().Equal("000000000002-0");
        Ids(new JobFilter(Since: T0.AddMinutes(2))).Should().Equal("000000000003-0", "000000000003-1");
        Ids(new JobFilter(Campaign: First, Status: JobStatus.Failed)).Should().Equal("000000000001-1");

        var failed = _queries.Jobs(new JobFilter(Status: JobStatus.Failed), new Page()).Items.Single();
        failed.Should().BeEquivalentTo(new JobRow(JobId.For(First, 1), First, 1, JobTask.Fuzz, EngineNames.LibFuzzer, JobStatus.Failed, BotA, "fuzzer died",
            T0, T0.AddSeconds(1), T0.AddSeconds(2), T0.AddMinutes(4), 7, 3));

        IReadOnlyList<string> Ids(JobFilter filter) => [.. _queries.Jobs(filter, new Page()).Items.Select(j => j.Id.Value)];
    }

    [Fact]
    public void Bots_come_by_id_with_engines_and_the_jobs_they_hold_while_online()
    {
        FillThreeCampaigns();

        var bots = _queries.Bots(new BotFilter(), new Page());

        bots.Items.Select(b => b.Id).Should().Equal(BotA, BotB);
        var a = bots.Items[0];
        a.Status.Should().Be(BotStatus.Offline);
        a.OfflineReason.Should().Be("left the cluster");
        a.OfflineSince.Should().Be(T0.AddMinutes(6));
        a.CurrentJobs.Should().BeEmpty("an offline bot holds no jobs");
        a.Engines.Should().Equal(new EngineCapability(EngineNames.LibFuzzer, "14"));
        var b = bots.Items[1];
        b.Should().BeEquivalentTo(new BotRow(BotB, "akka.tcp://pandafuzz@10.0.0.3:4053", "box-b", BotStatus.Online,
            [new EngineCapability(EngineNames.AflPlusPlus, "4.04c"), new EngineCapability(EngineNames.LibFuzzer, "14")], 4, 8192,
            [JobId.For(Second, 0)], T0, T0.AddMinutes(1), null, null));
    }

    [Fact]
    public void The_summary_counts_by_status_and_lists_the_campaigns_at_work_with_their_crashes_and_running_jobs()
    {
        FillThreeCampaigns();

        var summary = _queries.Summary();

        summary.CampaignsByStatus.Should().BeEquivalentTo(new Dictionary<string, long> { ["completed"] = 1, ["running"] = 2 });
        summary.JobsByStatus.Should().BeEquivalentTo(new Dictionary<string, long> { ["completed"] = 1, ["failed"] = 1, ["running"] = 1, ["pending"] = 2 });
        summary.BotsByStatus.Should().BeEquivalentTo(new Dictionary<string, long> { ["online"] = 1, ["offline"] = 1 });
        summary.ActiveCampaigns.Should().BeEquivalentTo(new[]
        {
            new ActiveCampaign(Second, 0, 0, [JobId.For(Second, 0)]) { Name = "two", Target = Target.Sha256, Engine = EngineNames.LibFuzzer },
            new ActiveCampaign(Third, 1, 1, []) { Name = "three", Target = Target.Sha256, Engine = EngineNames.LibFuzzer },
        }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void Bots_filter_by_status_and_engine()
    {
        FillThreeCampaigns();

        Ids(new BotFilter(Status: BotStatus.Online)).Should().Equal(BotB);
        Ids(new BotFilter(Status: BotStatus.Offline)).Should().Equal(BotA);
        Ids(new BotFilter(Engine: EngineNames.AflPlusPlus)).Should().Equal(BotB);
        Ids(new BotFilter(Engine: EngineNames.LibFuzzer)).Should().Equal(BotA, BotB);
        Ids(new BotFilter(Status: BotStatus.Offline, Engine: EngineNames.AflPlusPlus)).Should().BeEmpty();
        _queries.Bots(new BotFilter(), new Page(1, 1)).Should().BeEquivalentTo(new { Total = 2L }, "the total counts past the page");

        IReadOnlyList<BotId> Ids(BotFilter filter) => [.. _queries.Bots(filter, new Page()).Items.Select(b => b.Id)];
    }

    [Fact]
    public void Crashes_come_by_first_seen_with_their_first_report_counts_and_minimization()
    {
        FillThreeCampaigns();

        var crashes = _queries.Crashes(new CrashFilter(), new Page());

        crashes.Total.Should().Be(3);
        crashes.Items.Select(c => c.Signature).Should().Equal("00000000000000aa", "00000000000000bb", "00000000000000cc");
        crashes.Items[0].Should().BeEquivalentTo(new CrashRow(
            CrashId.ForSignature(First, "00000000000000aa"), First, "00000000000000aa", "heap-buffer-overflow", "parse_header", true, 2, 0, 0,
            JobId.For(First, 0), BotA, BlobId.Of("a"u8).Sha256, 1, "summary of a", T0.AddSeconds(29), T0.AddSeconds(30), T0.AddSeconds(31),
            new CrashMinimization(JobId.For(First, 2), BlobId.Of("min"u8), 3, null, T0.AddMinutes(7)), BugId.ForLeader(First, "00000000000000aa")));
        crashes.Items[1].Minimization.Should().BeNull();
    }

    [Fact]
    public void Crashes_filter_by_campaign_kind_security_and_last_seen()
    {
        FillThreeCampaigns();

        Ids(new CrashFilter(Campaign: First)).Should().Equal("00000000000000aa", "00000000000000bb");
        Ids(new CrashFilter(Campaign: Second)).Should().BeEmpty();
        Ids(new CrashFilter(Kind: "STACK-overflow")).Should().Equal(["00000000000000cc"], "the kind matches in any case");
        Ids(new CrashFilter(Kind: "heap")).Should().BeEmpty("the kind matches whole");
        Ids(new CrashFilter(Security: false)).Should().Equal("00000000000000cc");
        Ids(new CrashFilter(Security: true)).Should().Equal("00000000000000aa", "00000000000000bb");
        Ids(new CrashFilter(Since: T0.AddSeconds(31))).Should().Equal(["00000000000000aa", "00000000000000bb", "00000000000000cc"], "since is the last report, inclusive");
        Ids(new CrashFilter(Since: T0.AddSeconds(32))).Should().Equal("00000000000000bb", "00000000000000cc");
        Ids(new CrashFilter(Campaign: First, Security: true, Since: T0.AddSeconds(32))).Should().Equal("00000000000000bb");

        IReadOnlyList<string> Ids(CrashFilter filter) => [.. _queries.Crashes(filter, new Page()).Items.Select(c => c.Signature)];
    }

    [Fact]
    public void An_empty_read_model_lists_nothing()
    {
        _queries.Campaigns(new CampaignFilter(), new Page()).Should().BeEquivalentTo(new Paged<CampaignRow>([], 0));
        _queries.Jobs(new JobFilter(), new Page()).Total.Should().Be(0);
        _queries.Bots(new BotFilter(), new Page()).Total.Should().Be(0);
    }

    [Fact]
    public void Filter_values_are_parameters_not_sql()
    {
        FillThreeCampaigns();

        _queries.Campaigns(new CampaignFilter(Engine: "x' OR '1'='1"), new Page()).Total.Should().Be(0);
        _queries.Bots(new BotFilter(Engine: "%"), new Page()).Total.Should().Be(0);
        _queries.Campaigns(new CampaignFilter(Engine: "%"), new Page()).Total.Should().Be(0);
    }

    /// <summary>
    /// First: libFuzzer, 2 jobs on bot A (completed, failed), 2 unique crashes, completed. Second: libFuzzer, 1 job
    /// running on bot B. Third: an ensemble of libFuzzer and AFL++, 2 jobs pending. Bot A went offline; bot B is online.
    /// </summary>
    private void FillThreeCampaigns()
    {
        var libfuzzer = new EngineCapability(EngineNames.LibFuzzer, "14");
        var afl = new EngineCapability(EngineNames.AflPlusPlus, "4.04c");
        var first = Spec("one", 2);
        var second = Spec("two", 1);
        var third = Spec("three", 2) with { Ensemble = [new EngineTarget(EngineNames.LibFuzzer, Target), new EngineTarget(EngineNames.AflPlusPlus, AflTarget)] };
        Write([
            ("campaign", new CampaignCreated(First, first, [JobId.For(First, 0), JobId.For(First, 1)], T0)),
            ("job", new JobCreated(JobId.For(First, 0), First, 0, first.ToJobSpec(0), T0)),
            ("job", new JobCreated(JobId.For(First, 1), First, 1, first.ToJobSpec(1), T0)),
            ("bot", new BotRegistered(BotA, "agent", "akka.tcp://pandafuzz@10.0.0.2:4053", "box-a", new BotCapabilities([libfuzzer], 2, 4096), T0)),
            ("job", new JobAssigned(JobId.For(First, 0), BotA, "agent", T0.AddSeconds(1))),
            ("job", new JobStarted(JobId.For(First, 0), BotA, T0.AddSeconds(2))),
            ("job", new JobAssigned(JobId.For(First, 1), BotA, "agent", T0.AddSeconds(1))),
            ("job", new JobStarted(JobId.For(First, 1), BotA, T0.AddSeconds(2))),
            ("campaign", new CrashReported(First, Crash(First, "a", "00000000000000aa"), true, T0.AddSeconds(30))),
            ("campaign", new CrashReported(First, Crash(First, "b", "00000000000000aa"), true, T0.AddSeconds(31))),
            ("campaign", new CrashReported(First, Crash(First, "c", "00000000000000bb"), true, T0.AddSeconds(32))),
            ("campaign", new CampaignCreated(Second, second, [JobId.For(Second, 0)], T0.AddMinutes(1))),
            ("job", new JobCreated(JobId.For(Second, 0), Second, 0, second.ToJobSpec(0), T0.AddMinutes(1))),
            ("bot", new BotRegistered(BotB, "agent", "akka.tcp://pandafuzz@10.0.0.3:4053", "box-b", new BotCapabilities([libfuzzer, afl], 4, 8192), T0)),
            ("bot", new BotRegistered(BotB, "agent", "akka.tcp://pandafuzz@10.0.0.3:4053", "box-b", new BotCapabilities([libfuzzer, afl], 4, 8192), T0.AddMinutes(1))),
            ("job", new JobAssigned(JobId.For(Second, 0), BotB, "agent", T0.AddMinutes(1).AddSeconds(1))),
            ("job", new JobStarted(JobId.For(Second, 0), BotB, T0.AddMinutes(1).AddSeconds(2))),
            ("campaign", new CampaignCreated(Third, third, [JobId.For(Third, 0), JobId.For(Third, 1)], T0.AddMinutes(2))),
            ("job", new JobCreated(JobId.For(Third, 0), Third, 0, third.ToJobSpec(0), T0.AddMinutes(2))),
            ("job", new JobCreated(JobId.For(Third, 1), Third, 1, third.ToJobSpec(1), T0.AddMinutes(2))),
            ("job", new JobCompleted(JobId.For(First, 0), new FuzzerStats(1000, 10, 42, 64, 3, 60, 30, T0.AddMinutes(3)), T0.AddMinutes(3))),
            ("job", new JobFailed(JobId.For(First, 1), "fuzzer died", new FuzzerStats(7, 1, 3, 4, 1, 1, 1, T0.AddMinutes(4)), T0.AddMinutes(4))),
            ("campaign", new CampaignFinished(First, CampaignStatus.Completed, T0.AddMinutes(5))),
            ("campaign", new CrashReported(Third, Crash(Third, "d", "00000000000000cc") with
            {
                Finding = Crash(Third, "d", "00000000000000cc").Finding with { Kind = "stack-overflow", Security = false },
            }, true, T0.AddMinutes(8))),
            ("campaign", new CrashMinimized(First, "00000000000000aa",
                new CrashMinimization(JobId.For(First, 2), BlobId.Of("min"u8), 3, null, T0.AddMinutes(7)), T0.AddMinutes(7))),
            ("bot", new BotWentOffline(BotA, "left the cluster", T0.AddMinutes(6))),
        ]);
    }

    private static CampaignSpec Spec(string name, int jobs) => new(name, Target, EngineNames.LibFuzzer, jobs, 3600, 2048, 1000, null);

    private static CrashRecord Crash(CampaignId campaign, string input, string signature) =>
        new(CrashId.ForSignature(campaign, signature), campaign, JobId.For(campaign, 0), BotA, new CrashFinding(
            BlobId.Of(System.Text.Encoding.ASCII.GetBytes(input)), input.Length, "crash-x", "heap-buffer-overflow", "summary of " + input, [], "output", T0.AddSeconds(29),
            signature, "parse_header", Security: true));

    private void Write(IEnumerable<(string Tag, object Event)> events)
    {
        using var connection = _file.Database.Open();
        ReadModelWriter.Write(connection, [.. events.Select(e => new ProjectedEvent(e.Tag, ++_offset, e.Event, T0))], T0.AddHours(1));
    }
}

public sealed class ReadModelQueriesTestsOnSqlite() : ReadModelQueriesTests(ReadModelStore.Sqlite);

public sealed class ReadModelQueriesTestsOnPostgreSql() : ReadModelQueriesTests(ReadModelStore.PostgreSql);
