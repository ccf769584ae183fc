namespace PandaFuzz.EndToEnd.Tests;

/// <summary>
/// How much the end-to-end and chaos scenarios do. The CI profile (the default) keeps the whole suite within its time
/// budget; <c>PANDAFUZZ_TEST_PROFILE=long</c> (<c>ops/test.sh --long</c>) runs the long versions: more kills, more
/// hostile requests.
/// </summary>
public static class TestProfile
{
    public const string Variable = "PANDAFUZZ_TEST_PROFILE";

    public static bool IsLong { get; } =
        string.Equals(Environment.GetEnvironmentVariable(Variable), "long", StringComparison.OrdinalIgnoreCase);

    public static int Pick(int ci, int longRun) => IsLong ? longRun : ci;
}
