using Xunit;

// The end-to-end tests start several nodes and CPU-bound fuzzers each; run them one at a time
// so a slow CI machine still finds crashes within the tests' deadlines.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace PandaFuzz.EndToEnd.Tests;

/// <summary>All end-to-end test classes share one build of the C targets.</summary>
[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<TargetBuilder>
{
    public const string Name = "EndToEnd";
}
