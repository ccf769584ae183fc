using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Akka.Actor;
using Akka.Serialization;
using PandaFuzz.Domain.Bots;
using PandaFuzz.Domain.Campaigns;
using PandaFuzz.Domain.Corpus;
using PandaFuzz.Domain.Jobs;
using PandaFuzz.Domain.Targets;
using PandaFuzz.Protocol;

namespace PandaFuzz.Infrastructure.Serialization;

/// <summary>System.Text.Json serializer for every protocol message, event and snapshot, with stable string manifests
/// ("JobAssigned.v1") so that no CLR type name reaches the journal or the wire.</summary>
public sealed class ProtocolSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = 5710;

    /// <summary>A renamed type keeps its manifest here; a changed shape gets a new version, and the old one is still read
    /// through <see cref="Upcasters"/>.</summary>
    public static readonly IReadOnlyDictionary<Type, string> Manifests = new Dictionary<Type, string>
    {
        // Events and snapshots: stored in the journal, never renamed.
        [typeof(CampaignEvents.CampaignCreated)] = "CampaignCreated.v1",
        [typeof(CampaignEvents.CampaignStopRequested)] = "CampaignStopRequested.v1",
        [typeof(CampaignEvents.CampaignPriorityChanged)] = "CampaignPriorityChanged.v1",
        [typeof(CampaignEvents.CampaignJobAdded)] = "CampaignJobAdded.v1",
        [typeof(CampaignEvents.CampaignJobEnded)] = "CampaignJobEnded.v1",
        [typeof(CampaignEvents.CampaignFinished)] = "CampaignFinished.v1",
        [typeof(CampaignEvents.CrashReported)] = "CrashReported.v1",
        [typeof(CampaignEvents.CrashMinimized)] = "CrashMinimized.v1",
        [typeof(CampaignEvents.CampaignRebased)] = "CampaignRebased.v1",
        [typeof(CampaignEvents.BugTriaged)] = "BugTriaged.v1",
        [typeof(CampaignEvents.BugVerified)] = "BugVerified.v1",
        [typeof(CampaignEvents.CoverageMeasured)] = "CoverageMeasured.v1",
        [typeof(JobEvents.JobCreated)] = "JobCreated.v1",
        [typeof(JobEvents.JobAssigned)] = "JobAssigned.v1",
        [typeof(JobEvents.JobStarted)] = "JobStarted.v1",
        [typeof(JobEvents.JobRequeued)] = "JobRequeued.v1",
        [typeof(JobEvents.JobLaunched)] = "JobLaunched.v1",
        [typeof(JobEvents.JobCompleted)] = "JobCompleted.v1",
        [typeof(JobEvents.JobFailed)] = "JobFailed.v1",
        [typeof(JobEvents.JobCancelled)] = "JobCancelled.v1",
        [typeof(BotEvents.BotRegistered)] = "BotRegistered.v1",
        [typeof(BotEvents.BotWentOffline)] = "BotWentOffline.v1",
        [typeof(BotEvents.BotDrainingChanged)] = "BotDrainingChanged.v1",
        [typeof(CorpusEvents.CorpusEntriesAdded)] = "CorpusEntriesAdded.v1",
        [typeof(CorpusEvents.CorpusReplaced)] = "CorpusReplaced.v1",
        [typeof(CorpusState)] = "CorpusSnapshot.v1",
        [typeof(TargetEvents.TargetBuildAdded)] = "TargetBuildAdded.v1",
        [typeof(TargetEvents.TargetBuildBinaryAdded)] = "TargetBuildBinaryAdded.v1",
        [typeof(TargetState)] = "TargetSnapshot.v1",
        [typeof(CampaignState)] = "CampaignSnapshot.v2",
        [typeof(JobState)] = "JobSnapshot.v1",
        [typeof(BotState)] = "BotSnapshot.v1",

        // Messages: on the wire only.
        [typeof(Ack)] = "Ack",
        [typeof(CommandRejected)] = "CommandRejected",
        [typeof(CampaignCommands.CreateCampaign)] = "CreateCampaign",
        [typeof(CampaignCommands.StopCampaign)] = "StopCampaign",
        [typeof(CampaignCommands.SetCampaignPriority)] = "SetCampaignPriority",
        [typeof(CampaignCommands.ReportJobEnded)] = "ReportJobEnded",
        [typeof(CampaignCommands.ReportCrash)] = "ReportCrash",
        [typeof(CampaignCommands.CrashAccepted)] = "CrashAccepted",
        [typeof(CampaignCommands.ReportCrashMinimized)] = "ReportCrashMinimized",
        [typeof(CampaignCommands.WakeCampaign)] = "WakeCampaign",
        [typeof(CampaignCommands.MinimizeCorpus)] = "MinimizeCorpus",
        [typeof(CampaignCommands.RebaseCampaign)] = "RebaseCampaign",
        [typeof(CampaignCommands.TriageBug)] = "TriageBug",
        [typeof(CampaignCommands.VerifyBugs)] = "VerifyBugs",
        [typeof(CampaignCommands.VerificationsAdded)] = "VerificationsAdded",
        [typeof(CampaignCommands.ReportBugVerified)] = "ReportBugVerified",
        [typeof(CampaignCommands.JobAdded)] = "JobAdded",
        [typeof(CampaignCommands.MeasureCoverage)] = "MeasureCoverage",
        [typeof(CampaignCommands.ReportCoverage)] = "ReportCoverage",
        [typeof(CampaignCommands.CheckCoverage)] = "CheckCoverage",
        [typeof(CampaignCommands.CoverageChecked)] = "CoverageChecked",
        [typeof(CampaignQueries.GetCoverage)] = "GetCoverage",
        [typeof(CampaignQueries.CoverageView)] = "CoverageView",
        [typeof(CampaignQueries.GetCoverageFiles)] = "GetCoverageFiles",
        [typeof(CampaignQueries.CoverageFiles)] = "CoverageFiles",
        [typeof(CampaignQueries.GetCampaign)] = "GetCampaign",
        [typeof(CampaignQueries.GetCampaignCrashes)] = "GetCampaignCrashes",
        [typeof(CampaignQueries.GetCrash)] = "GetCrash",
        [typeof(CampaignQueries.GetCrashInput)] = "GetCrashInput",
        [typeof(CampaignQueries.CrashInputStatus)] = "CrashInputStatus",
        [typeof(CampaignQueries.CampaignView)] = "CampaignView",
        [typeof(CampaignQueries.CampaignCrashes)] = "CampaignCrashes",
        [typeof(CampaignQueries.CrashView)] = "CrashView",
        [typeof(CampaignQueries.GetCampaignBugs)] = "GetCampaignBugs",
        [typeof(CampaignQueries.GetBug)] = "GetBug",
        [typeof(CampaignQueries.CampaignBugs)] = "CampaignBugs",
        [typeof(CampaignQueries.BugView)] = "BugView",
        [typeof(JobCommands.CreateJob)] = "CreateJob",
        [typeof(JobCommands.AssignJob)] = "AssignJob",
        [typeof(JobCommands.ConfirmJobStarted)] = "ConfirmJobStarted",
        [typeof(JobCommands.RefuseJob)] = "RefuseJob",
        [typeof(JobCommands.ReportJobStats)] = "ReportJobStats",
        [typeof(JobCommands.ReportJobFinished)] = "ReportJobFinished",
        [typeof(JobCommands.CancelJob)] = "CancelJob",
        [typeof(JobCommands.WakeJob)] = "WakeJob",
        [typeof(JobCommands.BotLost)] = "BotLost",
        [typeof(JobCommands.JobEndAcknowledged)] = "JobEndAcknowledged",
        [typeof(JobCommands.JobCommandAccepted)] = "JobCommandAccepted",
        [typeof(JobQueries.GetJob)] = "GetJob",
        [typeof(JobQueries.JobView)] = "JobView",
        [typeof(JobQueries.GetJobStatsSeries)] = "GetJobStatsSeries",
        [typeof(JobQueries.JobStatsSeries)] = "JobStatsSeries",
        [typeof(BotCommands.CheckIn)] = "CheckIn",
        [typeof(BotCommands.CheckInAccepted)] = "CheckInAccepted",
        [typeof(BotCommands.NodeLost)] = "NodeLost",
        [typeof(BotCommands.SetDraining)] = "SetDraining",
        [typeof(BotQueries.GetBot)] = "GetBot",
        [typeof(BotQueries.BotView)] = "BotView",
        [typeof(SchedulerMessages.JobPending)] = "JobPending",
        [typeof(SchedulerMessages.JobReleased)] = "JobReleased",
        [typeof(SchedulerMessages.JobQueued)] = "JobQueued",
        [typeof(SchedulerMessages.BotAvailable)] = "BotAvailable",
        [typeof(SchedulerMessages.BotUnavailable)] = "BotUnavailable",
        [typeof(SchedulerMessages.AssignmentAccepted)] = "AssignmentAccepted",
        [typeof(SchedulerMessages.AssignmentRejected)] = "AssignmentRejected",
        [typeof(SchedulerMessages.GetQueue)] = "GetQueue",
        [typeof(SchedulerMessages.SetCampaignWeights)] = "SetCampaignWeights",
        [typeof(SchedulerMessages.CampaignPriority)] = "CampaignPriority",
        [typeof(SchedulerMessages.QueueView)] = "QueueView",
        [typeof(AgentCommands.StartJob)] = "StartJob",
        [typeof(AgentCommands.StopJob)] = "StopJob",
        [typeof(CorpusCommands.OfferCorpus)] = "OfferCorpus",
        [typeof(CorpusCommands.CorpusOfferAccepted)] = "CorpusOfferAccepted",
        [typeof(CorpusCommands.AddCorpusEntries)] = "AddCorpusEntries",
        [typeof(CorpusCommands.ReplaceCorpus)] = "ReplaceCorpus",
        [typeof(CorpusCommands.CorpusChanged)] = "CorpusChanged",
        [typeof(CorpusQueries.GetCorpusPage)] = "GetCorpusPage",
        [typeof(CorpusQueries.CorpusPage)] = "CorpusPage",
        [typeof(CorpusQueries.GetCorpusSummary)] = "GetCorpusSummary",
        [typeof(CorpusQueries.CorpusSummary)] = "CorpusSummary",
        [typeof(TargetCommands.AddTargetBinary)] = "AddTargetBinary",
        [typeof(TargetCommands.TargetBinaryAdded)] = "TargetBinaryAdded",
        [typeof(TargetQueries.GetTargetBuilds)] = "GetTargetBuilds",
        [typeof(TargetQueries.TargetBuilds)] = "TargetBuilds",
        [typeof(BlobTransfer.GetChunk)] = "GetChunk",
        [typeof(BlobTransfer.Chunk)] = "Chunk",
        [typeof(BlobTransfer.NotFound)] = "BlobNotFound",
        [typeof(BlobTransfer.GetBlobs)] = "GetBlobs",
        [typeof(BlobTransfer.BlobsChunk)] = "BlobsChunk",
    }.ToFrozenDictionary();

    public static readonly IReadOnlyList<Type> BoundTypes = [typeof(IProtocolMessage), typeof(CampaignState), typeof(JobState), typeof(BotState), typeof(CorpusState), typeof(TargetState)];

    private static readonly FrozenDictionary<string, Type> TypesByManifest = Manifests.ToFrozenDictionary(kv => kv.Value, kv => kv.Key);

    // Strict on read: a field that an older shape lacks (with no default) or holds as null where today's type does
    // not allow it fails loudly, so a changed event cannot slip past its version bump and upcaster.
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { WriteStateOnly } },
    };

    public override int Identifier => SerializerId;

    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new SerializationException($"No manifest for {o.GetType().FullName}; add it to {nameof(ProtocolSerializer)}.{nameof(Manifests)}");

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (Upcasters.ByManifest.TryGetValue(manifest, out var upcaster))
        {
            return upcaster.ToCurrent(Deserialize(bytes, upcaster.LegacyType, manifest));
        }

        if (!TypesByManifest.TryGetValue(manifest, out var type))
        {
            throw new SerializationException($"Unknown manifest '{manifest}'");
        }

        return Deserialize(bytes, type, manifest);
    }

    /// <summary>Writes <paramref name="legacy"/> as an older build did, for the tests of <see cref="Upcasters"/>.</summary>
    public static byte[] ToLegacyBinary(object legacy) => JsonSerializer.SerializeToUtf8Bytes(legacy, legacy.GetType(), Options);

    /// <summary>Leaves out derived get-only properties (<c>UniqueCrashes</c>, <c>SignatureOrFallback</c>): never read back,
    /// they cost bytes in every event and snapshot. Older bytes that have them still read: unknown members are skipped.</summary>
    private static void WriteStateOnly(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }

        for (var i = info.Properties.Count - 1; i >= 0; i--)
        {
            if (info.Properties[i] is { Set: null, AssociatedParameter: null })
            {
                info.Properties.RemoveAt(i);
            }
        }
    }

    private static object Deserialize(byte[] bytes, Type type, string manifest)
    {
        try
        {
            return JsonSerializer.Deserialize(bytes, type, Options)
                   ?? throw new SerializationException($"'{manifest}' deserialized to null");
        }
        catch (JsonException e)
        {
            throw new SerializationException($"'{manifest}' does not read as {type.Name}: {e.Message}", e);
        }
    }
}
