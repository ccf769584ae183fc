using System.Reflection;
using System.Runtime.Serialization;
using Akka.Actor;
using FluentAssertions;
using PandaFuzz.Infrastructure.Serialization;
using PandaFuzz.Protocol;
using Xunit;

namespace PandaFuzz.Infrastructure.Tests.Serialization;

/// <summary>One actor system for the serializer tests of this class.</summary>
public sealed class SerializerFixture : IDisposable
{
    public SerializerFixture()
    {
        System = ActorSystem.Create("test");
        Serializer = new ProtocolSerializer((ExtendedActorSystem)System);
    }

    public ActorSystem System { get; }

    public ProtocolSerializer Serializer { get; }

    public void Dispose() => System.Dispose();
}

public sealed class ProtocolSerializerTests(SerializerFixture fixture) : IClassFixture<SerializerFixture>
{
    private readonly ProtocolSerializer _serializer = fixture.Serializer;

    public static TheoryData<string> ManifestedTypes()
    {
        var data = new TheoryData<string>();
        foreach (var type in ProtocolSerializer.Manifests.Keys)
        {
            data.Add(type.FullName!);
        }

        return data;
    }

    [Fact]
    public void Every_manifested_type_has_a_sample()
    {
        ProtocolSamples.All.Keys.Should().BeEquivalentTo(ProtocolSerializer.Manifests.Keys);
    }

    [Theory]
    [MemberData(nameof(ManifestedTypes))]
    public void Every_type_round_trips(string typeName)
    {
        var sample = ProtocolSamples.All.Single(kv => kv.Key.FullName == typeName).Value;
        var manifest = _serializer.Manifest(sample);

        var bytes = _serializer.ToBinary(sample);
        var back = _serializer.FromBinary(bytes, manifest);

        back.Should().BeOfType(sample.GetType());
        _serializer.ToBinary(back).Should().Equal(bytes, "a round trip must keep every field");
        if (sample.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Length > 0)
        {
            back.Should().BeEquivalentTo(sample, o => o.ComparingRecordsByMembers().RespectingRuntimeTypes());
        }
        else
        {
            back.Should().Be(sample);
        }
    }

    [Fact]
    public void Records_without_collections_are_equal_after_a_round_trip()
    {
        var samples = new object[]
        {
            ProtocolSamples.JobSnapshot(),
            ProtocolSamples.All[typeof(JobEvents.JobAssigned)],
            ProtocolSamples.All[typeof(JobEvents.JobCompleted)],
            ProtocolSamples.All[typeof(CampaignCommands.CrashAccepted)],
            Ack.Instance,
        };

        foreach (var sample in samples)
        {
            _serializer.FromBinary(_serializer.ToBinary(sample), _serializer.Manifest(sample)).Should().Be(sample);
        }
    }

    [Fact]
    public void Campaign_snapshot_keeps_ended_jobs_and_unique_crashes()
    {
        var snapshot = ProtocolSamples.CampaignSnapshot();

        var back = (Domain.Campaigns.CampaignState)_serializer.FromBinary(_serializer.ToBinary(snapshot), "CampaignSnapshot.v2");

        back.EndedJobs.Should().BeEquivalentTo(snapshot.EndedJobs);
        back.UnfinishedJobs.Should().Equal(snapshot.UnfinishedJobs);
        back.Crashes.Should().ContainSingle().Which.Value.Should().BeEquivalentTo(snapshot.Crashes[Samples.Signature]);
        back.SeenInputs.Should().BeEquivalentTo(snapshot.SeenInputs);
        back.HasCounted(Samples.OtherCrashInput).Should().BeTrue();
        back.FindCrash(CrashId.ForSignature(Samples.Campaign, Samples.Signature))!.Minimization!.Size.Should().Be(2);
    }

    [Fact]
    public void A_campaign_snapshot_holds_each_crash_once_and_nothing_derived()
    {
        var snapshot = ProtocolSamples.CampaignSnapshot();
        var output = snapshot.Crashes[Samples.Signature].First.Finding.Output;

        var json = System.Text.Encoding.UTF8.GetString(_serializer.ToBinary(snapshot));

        // Derived, get-only properties (the crashes again, oldest first; a finding's fallback signature) are not written.
        json.Should().NotContainAny("\"UniqueCrashes\"", "\"UnfinishedJobs\"", "\"SignatureOrFallback\"", "\"IsReproducible\"", "\"ReproducibleRate\"");
        output.Should().NotBeNullOrEmpty();
        json.Split(System.Text.Json.JsonEncodedText.Encode(output).ToString()).Should().HaveCount(2, "the first report's output is stored once");
    }

    [Fact]
    public void An_event_written_with_its_derived_properties_by_an_older_build_still_reads()
    {
        var reported = (CampaignEvents.CrashReported)ProtocolSamples.All[typeof(CampaignEvents.CrashReported)];
        var json = System.Text.Json.Nodes.JsonNode.Parse(_serializer.ToBinary(reported))!.AsObject();
        json["Crash"]!["Finding"]!.AsObject().Add("SignatureOrFallback", reported.Crash.Finding.SignatureOrFallback);
        json["Crash"]!["Finding"]!.AsObject().Add("IsReproducible", reported.Crash.Finding.IsReproducible);

        var back = _serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), "CrashReported.v1");

        back.Should().BeEquivalentTo(reported, o => o.ComparingRecordsByMembers());
    }

    [Fact]
    public void A_snapshot_from_before_deduplication_still_reads_and_becomes_unique_crashes()
    {
        var old = ProtocolSamples.CampaignSnapshotV1();

        var state = (Domain.Campaigns.CampaignState)_serializer.FromBinary(ProtocolSerializer.ToLegacyBinary(old), "CampaignSnapshot.v1");

        state.Crashes.Keys.Should().BeEquivalentTo([Samples.Signature, Samples.OtherSignature]);
        state.CrashReports.Should().Be(2);
        state.Crashes[Samples.Signature].Samples.Should().Equal(Samples.CrashInput);
    }

    [Fact]
    public void A_bot_registered_before_the_sandbox_existed_reads_with_no_sandbox_report()
    {
        var registered = new BotEvents.BotRegistered(Samples.BotA, "akka://pandafuzz/user/bot-agent", "10.0.0.5:4053", "fuzz-box-1", Samples.Capabilities(8), DateTimeOffset.UnixEpoch);
        var json = System.Text.Json.Nodes.JsonNode.Parse(_serializer.ToBinary(registered))!;
        json["Capabilities"]!.AsObject().Remove("Sandbox").Should().BeTrue("today's shape writes the field");

        var back = _serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), "BotRegistered.v1");

        back.Should().BeOfType<BotEvents.BotRegistered>().Which.Capabilities.Sandbox.Should().BeNull();
    }

    [Fact]
    public void A_crash_recorded_before_deduplication_is_upcast_to_a_report_whose_input_was_kept()
    {
        var record = new CrashRecord(CrashId.For(Samples.Campaign, Samples.CrashInput), Samples.Campaign, Samples.Job(0), Samples.BotA,
            Samples.Finding(Samples.CrashInput, DateTimeOffset.UnixEpoch) with { Signature = null });
        var old = new Upcasters.CrashRecordedV1(Samples.Campaign, record, DateTimeOffset.UnixEpoch.AddHours(1));

        var back = _serializer.FromBinary(ProtocolSerializer.ToLegacyBinary(old), "CrashRecorded.v1");

        back.Should().BeOfType<CampaignEvents.CrashReported>()
            .Which.Should().BeEquivalentTo(new CampaignEvents.CrashReported(Samples.Campaign, record, Sampled: true, old.At));
    }

    [Fact]
    public void No_legacy_manifest_is_one_this_build_writes()
    {
        Upcasters.ByManifest.Keys.Should().NotIntersectWith(ProtocolSerializer.Manifests.Values);
        Upcasters.ByManifest.Keys.Should().OnlyContain(m => System.Text.RegularExpressions.Regex.IsMatch(m, @"\.v[0-9]+\z"));
    }

    [Fact]
    public void An_event_missing_a_field_fails_loudly_instead_of_reading_a_null()
    {
        var started = new JobEvents.JobStarted(new JobId("3f2a9c1b0d4e-0"), new BotId("bot-1"), DateTimeOffset.UnixEpoch);
        var json = System.Text.Json.Nodes.JsonNode.Parse(_serializer.ToBinary(started))!.AsObject();
        json.Remove("BotId");
        var withoutBot = System.Text.Encoding.UTF8.GetBytes(json.ToJsonString());

        var act = () => _serializer.FromBinary(withoutBot, "JobStarted.v1");

        act.Should().Throw<SerializationException>().WithMessage("*JobStarted.v1*BotId*");
    }

    [Fact]
    public void Timestamps_keep_their_offset()
    {
        var sample = (JobEvents.JobStarted)ProtocolSamples.All[typeof(JobEvents.JobStarted)];

        var back = (JobEvents.JobStarted)_serializer.FromBinary(_serializer.ToBinary(sample), "JobStarted.v1");

        back.At.Offset.Should().Be(TimeSpan.FromHours(2));
        back.At.Should().Be(sample.At);
    }

    [Fact]
    public void Every_protocol_message_type_has_a_manifest()
    {
        var messageTypes = typeof(IProtocolMessage).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IProtocolMessage).IsAssignableFrom(t))
            .ToList();

        messageTypes.Should().NotBeEmpty();
        messageTypes.Should().OnlyContain(t => ProtocolSerializer.Manifests.ContainsKey(t), "every protocol message needs a stable manifest");
    }

    [Fact]
    public void Every_manifest_is_unique()
    {
        ProtocolSerializer.Manifests.Values.Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void Every_manifested_type_is_bound_to_the_serializer()
    {
        ProtocolSerializer.Manifests.Keys.Should().OnlyContain(t => ProtocolSerializer.BoundTypes.Any(b => b.IsAssignableFrom(t)));
    }

    [Fact]
    public void Journal_manifests_are_pinned()
    {
        var journalManifests = ProtocolSerializer.Manifests
            .Where(kv => System.Text.RegularExpressions.Regex.IsMatch(kv.Value, @"\.v[0-9]+\z"))
            .ToDictionary(kv => kv.Key, kv => kv.Value);

        journalManifests.Should().BeEquivalentTo(new Dictionary<Type, string>
        {
            [typeof(CampaignEvents.CampaignCreated)] = "CampaignCreated.v1",
            [typeof(CampaignEvents.CampaignStopRequested)] = "CampaignStopRequested.v1",
            [typeof(CampaignEvents.CampaignPriorityChanged)] = "CampaignPriorityChanged.v1",
            [typeof(CampaignEvents.CampaignJobAdded)] = "CampaignJobAdded.v1",
            [typeof(CampaignEvents.CampaignJobEnded)] = "CampaignJobEnded.v1",
            [typeof(CampaignEvents.CampaignFinished)] = "CampaignFinished.v1",
            [typeof(CampaignEvents.CrashReported)] = "CrashReported.v1",
            [typeof(CampaignEvents.CrashMinimized)] = "CrashMinimized.v1",
            [typeof(JobEvents.JobCreated)] = "JobCreated.v1",
            [typeof(JobEvents.JobAssigned)] = "JobAssigned.v1",
            [typeof(JobEvents.JobStarted)] = "JobStarted.v1",
            [typeof(JobEvents.JobRequeued)] = "JobRequeued.v1",
            [typeof(JobEvents.JobCompleted)] = "JobCompleted.v1",
            [typeof(JobEvents.JobFailed)] = "JobFailed.v1",
            [typeof(JobEvents.JobCancelled)] = "JobCancelled.v1",
            [typeof(JobEvents.JobLaunched)] = "JobLaunched.v1",
            [typeof(BotEvents.BotRegistered)] = "BotRegistered.v1",
            [typeof(BotEvents.BotWentOffline)] = "BotWentOffline.v1",
            [typeof(BotEvents.BotDrainingChanged)] = "BotDrainingChanged.v1",
            [typeof(CorpusEvents.CorpusEntriesAdded)] = "CorpusEntriesAdded.v1",
            [typeof(CorpusEvents.CorpusReplaced)] = "CorpusReplaced.v1",
            [typeof(Domain.Corpus.CorpusState)] = "CorpusSnapshot.v1",
            [typeof(CampaignEvents.CampaignRebased)] = "CampaignRebased.v1",
            [typeof(CampaignEvents.BugTriaged)] = "BugTriaged.v1",
            [typeof(CampaignEvents.BugVerified)] = "BugVerified.v1",
            [typeof(CampaignEvents.CoverageMeasured)] = "CoverageMeasured.v1",
            [typeof(TargetEvents.TargetBuildAdded)] = "TargetBuildAdded.v1",
            [typeof(TargetEvents.TargetBuildBinaryAdded)] = "TargetBuildBinaryAdded.v1",
            [typeof(Domain.Targets.TargetState)] = "TargetSnapshot.v1",
            [typeof(Domain.Campaigns.CampaignState)] = "CampaignSnapshot.v2",
            [typeof(Domain.Jobs.JobState)] = "JobSnapshot.v1",
            [typeof(Domain.Bots.BotState)] = "BotSnapshot.v1",
        });
    }

    [Fact]
    public void Every_persisted_event_has_a_versioned_manifest()
    {
        var events = typeof(IPersistedEvent).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IPersistedEvent).IsAssignableFrom(t));

        events.Should().OnlyContain(t => ProtocolSerializer.Manifests[t].EndsWith(".v1"));
    }

    [Fact]
    public void An_unknown_manifest_throws()
    {
        var bytes = _serializer.ToBinary(new JobEvents.JobStarted(new JobId("3f2a9c1b0d4e-0"), new BotId("bot-1"), DateTimeOffset.UnixEpoch));

        var act = () => _serializer.FromBinary(bytes, "JobStarted.v999");

        act.Should().Throw<SerializationException>().WithMessage("*JobStarted.v999*");
    }

    [Fact]
    public void A_type_without_a_manifest_throws()
    {
        var act = () => _serializer.Manifest(new Uri("http://example.org"));

        act.Should().Throw<SerializationException>().WithMessage("*System.Uri*");
    }

    [Fact]
    public void The_serializer_identifier_is_stable()
    {
        _serializer.Identifier.Should().Be(5710);
    }
}
