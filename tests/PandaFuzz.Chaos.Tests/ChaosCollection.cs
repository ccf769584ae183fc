using PandaFuzz.EndToEnd.Tests;
using Xunit;

// Each chaos test runs a cluster of node processes with CPU-bound fuzzers: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace PandaFuzz.Chaos.Tests;

/// <summary>All chaos test classes share one build of the C targets.</summary>
[CollectionDefinition(Name)]
public sealed class ChaosCollection : ICollectionFixture<TargetBuilder>
{
    public const string Name = "Chaos";
}
