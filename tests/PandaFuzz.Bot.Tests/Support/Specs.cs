using PandaFuzz.Protocol;

namespace PandaFuzz.Bot.Tests.Support;

/// <summary>Job specs for the engine tests.</summary>
internal static class Specs
{
    public static readonly BlobId Target = BlobId.Of("fuzz_target_binary"u8);

    public const string Dictionary = "kw1=\"IHDR\"\nkw2=\"IEND\"\n";

    public static JobSpec LibFuzzer(int memoryLimitMb = 2048, int timeoutMs = 1500, string? dictionary = null) =>
        new(Target, EngineNames.LibFuzzer, 3600, memoryLimitMb, timeoutMs, dictionary);

    public static JobSpec AflPlusPlus(int memoryLimitMb = 2048, int timeoutMs = 1500, string? dictionary = null) =>
        new(Target, EngineNames.AflPlusPlus, 3600, memoryLimitMb, timeoutMs, dictionary);
}
