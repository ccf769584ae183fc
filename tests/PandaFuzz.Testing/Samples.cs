using PandaFuzz.Protocol;

namespace PandaFuzz.Testing;

/// <summary>Realistic ids, specs and findings shared by the domain and serializer tests.</summary>
public static class Samples
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 14, 9, 26, 53, TimeSpan.Zero);

    public static readonly CampaignId Campaign = new("3f2a9c1b0d4e");

    public static readonly BlobId Target = BlobId.Of("fuzz_target_binary"u8);

    public static readonly BlobId CrashInput = BlobId.Of("crash-input-1"u8);

    public static readonly BlobId OtherCrashInput = BlobId.Of("crash-input-2"u8);

    public static readonly BotId BotA = new("bot-a1b2c3d4e5");

    public static readonly BotId BotB = new("bot-f6e7d8c9b0");

    public const string AgentPathA = "akka.tcp://pandafuzz@10.0.0.5:4053/user/bot-agent";

    public const string AgentPathB = "akka.tcp://pandafuzz@10.0.0.6:4053/user/bot-agent";

    public static JobId Job(int index) => JobId.For(Campaign, index);

    public static CampaignSpec CampaignSpec(int jobs = 3) =>
        new("png decoder", Target, EngineNames.LibFuzzer, jobs, 3600, 2048, 1000, "kw1=\"IHDR\"\nkw2=\"IEND\"\n");

    public static JobSpec JobSpec() => CampaignSpec().ToJobSpec(0);

    public static BotCapabilities Capabilities(int slots = 4, params string[] engines) =>
        new([.. (engines.Length == 0 ? new[] { EngineNames.LibFuzzer } : engines).Select(e => new EngineCapability(e, "18.1.3"))], slots, 16_384);

    /// <summary>What a bot without bwrap reports of its sandbox.</summary>
    public static SandboxReport Sandboxed() =>
        new(true, [
            new SandboxMeasure("user", "best-effort", true, "setpriv: uid 65534 (nobody), gid 65534, no supplementary groups"),
            new SandboxMeasure("filesystem", "required", false, "bwrap not usable: bwrap is not installed"),
        ]);

    public static FuzzerStats Stats(DateTimeOffset at) => new(2_379_984, 264_442, 7, 100, 44, 16_384, 476, at);

    public const string Signature = "9c1f0e2d3b4a5968";

    public const string OtherSignature = "0a1b2c3d4e5f6071";

    /// <summary>A triaged finding of the bug <paramref name="signature"/> (reproduced 2 times of 3).</summary>
    public static CrashFinding Finding(BlobId input, DateTimeOffset at, string signature = Signature) =>
        new(input, 6, $"crash-{input.Sha256[..40]}", "Heap-buffer-overflow READ 1",
            "SUMMARY: AddressSanitizer: heap-buffer-overflow planted_bug.c:12:15 in parse_header",
            ["#0 parse_header planted_bug.c:12", "#1 LLVMFuzzerTestOneInput planted_bug.c:20"],
            "==4211==ERROR: AddressSanitizer: heap-buffer-overflow\nREAD of size 1", at,
            signature, "parse_header", true, 3, 2);
}
